"""A purchase on a card no shopper linked is stored, and the answer says it reached no shopper."""

import pytest

from profiles.models import Purchase
from tests.profiles.factories import CardFactory, ShopperFactory
from tests.profiles.test_api import post, purchase_body

pytestmark = pytest.mark.django_db


def test_an_unknown_card_id_is_stored_as_an_anonymous_purchase_and_the_answer_says_so(api_client, merchant):
    response = post(api_client, "api_purchase_create", purchase_body(card_id="tok_never_linked"))

    assert response.status_code == 201
    body = response.json()
    assert body["shopper_id"] is None
    assert body["card_linked"] is False
    assert body["note"].startswith("Stored as an anonymous purchase")
    purchase = Purchase.objects.for_merchant(merchant).get()
    assert (purchase.shopper_id, purchase.card_id) == (None, None)


def test_a_linked_card_says_which_shopper_and_no_note(api_client, merchant):
    card = CardFactory(shopper=ShopperFactory(merchant=merchant))

    body = post(api_client, "api_purchase_create", purchase_body(card_id=card.token)).json()

    assert body["shopper_id"] == str(card.shopper.public_id)
    assert body["card_linked"] is True
    assert body["note"] is None


def test_a_named_shopper_with_an_unknown_card_lands_on_that_shopper_but_not_through_the_card(api_client, merchant):
    shopper = ShopperFactory(merchant=merchant)

    body = post(
        api_client, "api_purchase_create", purchase_body(shopper_id=str(shopper.public_id), card_id="tok_unknown")
    ).json()

    assert body["shopper_id"] == str(shopper.public_id)
    assert body["card_linked"] is False
    assert body["note"] is None


def test_the_api_document_explains_an_unknown_card(client):
    schema = client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/purchases"]["post"]
    assert "anonymous" in operation["description"]
    output = schema["components"]["schemas"]["PurchaseOutput"]["properties"]
    assert output["card_linked"]["type"] == "boolean"
    assert output["note"]["nullable"] is True
