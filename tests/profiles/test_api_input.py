"""What a client sees of the input layer: paths of bad values, unknown fields refused, strict numbers."""

import json
import uuid

import pytest
from django.urls import reverse

from profiles.models import Card, Purchase, Shopper
from tests.profiles.factories import ShopperFactory
from tests.profiles.test_api import CARD, post, purchase_body

pytestmark = pytest.mark.django_db

ITEM = {"name": "Socks", "unit_price_minor": 1200}


def test_a_bad_value_in_a_line_item_is_400_at_its_path_and_stores_nothing(api_client, merchant):
    body = purchase_body(line_items=[ITEM, ITEM, {**ITEM, "unit_price_minor": "1200"}])

    response = post(api_client, "api_purchase_create", body)

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "line_items.2.unit_price_minor: Expected a whole number, got a string.",
            "fields": {"line_items.2.unit_price_minor": ["Expected a whole number, got a string."]},
        }
    }
    assert not Purchase.objects.filter(merchant=merchant).exists()


def test_a_bad_value_deep_in_a_card_enrolment_is_reported_at_its_path(api_client, merchant):
    consents = [
        {"channel": "email", "purpose": "marketing", "granted": True},
        {"channel": "pigeon", "purpose": "marketing", "granted": True},
    ]

    response = post(api_client, "api_card_enroll", {"card": CARD, "shopper": {"first_name": "A", "consents": consents}})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["shopper.consents.1.channel"]
    assert not Card.all_merchants.exists()


def test_checks_after_decoding_name_nested_fields_too(api_client, merchant):
    shopper = {"first_name": "  ", "email": "not-an-email", "preferences": {"sizes": ["M", " "]}}

    response = post(api_client, "api_card_enroll", {"card": {**CARD, "id": "  "}, "shopper": shopper})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"card.id", "shopper.email", "shopper.preferences.sizes.1"}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"card": CARD, "shopper": {"first_name": "A"}, "colour": "red"}, "colour"),
        ({"card": {**CARD, "colour": "red"}, "shopper": {"first_name": "A"}}, "card.colour"),
        ({"card": CARD, "shopper": {"first_name": "A", "colour": "red"}}, "shopper.colour"),
        (
            {
                "card": CARD,
                "shopper": {
                    "first_name": "A",
                    "consents": [{"channel": "sms", "purpose": "marketing", "granted": True, "colour": "red"}],
                },
            },
            "shopper.consents.0.colour",
        ),
        (
            {"card": CARD, "shopper": {"first_name": "A", "preferences": {"colour": ["red"]}}},
            "shopper.preferences.colour",
        ),
    ],
)
def test_unknown_fields_are_refused_at_every_level(api_client, merchant, body, path):
    response = post(api_client, "api_card_enroll", body)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {path: ["Unknown field."]}
    assert not Shopper.objects.filter(merchant=merchant).exists()


def test_an_unknown_field_in_a_line_item_is_refused(api_client, merchant):
    response = post(api_client, "api_purchase_create", purchase_body(line_items=[{**ITEM, "colour": "red"}]))

    assert response.json()["error"]["fields"] == {"line_items.0.colour": ["Unknown field."]}


@pytest.mark.parametrize("amount", ["4599", 4599.0, True])
def test_numbers_are_strict(api_client, merchant, amount):
    """An integer field takes a JSON integer; "4599" was converted before, and is now refused (see the schema)."""
    response = post(api_client, "api_purchase_create", purchase_body(amount_minor=amount))

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["amount_minor"]


def test_an_id_this_merchant_does_not_have_is_not_found_on_its_field(api_client, merchant, other_store):
    missing = uuid.uuid4()

    response = post(api_client, "api_purchase_create", purchase_body(shopper_id=str(missing)))
    theirs = post(
        api_client,
        "api_visit_create",
        {"store": other_store.pk, "occurred_at": purchase_body()["occurred_at"], "source": "wifi"},
    )

    assert (response.status_code, theirs.status_code) == (400, 400)
    assert response.json()["error"]["code"] == theirs.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["fields"] == {"shopper_id": [f"No shopper with id {missing}."]}
    assert theirs.json()["error"]["fields"] == {"store": [f"No store with id {other_store.pk}."]}


def test_a_currency_must_be_iso_4217(api_client, merchant):
    response = post(api_client, "api_purchase_create", purchase_body(currency="XYZ"))

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"currency": ["XYZ is not an ISO 4217 currency code."]}


def test_a_batch_row_reports_its_nested_error_relative_to_the_row(api_client, merchant):
    shopper = ShopperFactory(merchant=merchant)
    rows = [
        purchase_body(external_id="ok-1", shopper_id=str(shopper.public_id)),
        purchase_body(external_id="bad", line_items=[{"name": "Socks"}]),
        "not a purchase",
        purchase_body(external_id="ok-2", colour="red"),
    ]

    response = post(api_client, "api_purchase_batch", {"purchases": rows})

    results = response.json()["results"]
    assert response.status_code == 200
    assert [r["status"] for r in results] == ["created", "error", "error", "error"]
    assert results[1]["error"]["fields"] == {"line_items.0.unit_price_minor": ["This field is required."]}
    assert results[2]["error"]["fields"] == {} and "object" in results[2]["error"]["message"]
    assert results[3]["error"]["fields"] == {"colour": ["Unknown field."]}
    assert Purchase.objects.get(merchant=merchant).shopper == shopper


def test_a_card_number_is_refused_before_the_body_is_parsed(api_client, merchant, caplog):
    """Even a body that is not valid JSON, or would fail validation, meets the card-number rule first."""
    for raw in ('{"external_id": "4111 1111 1111 1111", ', '{"colour": {"deep": ["x", 4111111111111111]}}'):
        response = api_client.post(reverse("api_purchase_create"), data=raw, content_type="application/json")

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "card_number_rejected"
        assert "4111" not in response.content.decode() and "4111 1111" not in caplog.text
    assert not Purchase.all_merchants.exists()


def test_malformed_json_is_a_parse_error(api_client):
    response = api_client.post(reverse("api_purchase_create"), data='{"external_id": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_body_of_another_media_type_is_415(api_client):
    response = api_client.post(
        reverse("api_purchase_create"), data="external_id=1", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_the_same_body_in_another_key_order_replays_under_its_idempotency_key(api_client, merchant):
    body = purchase_body()
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)

    first = post(api_client, "api_purchase_create", body, key="k-1")
    second = api_client.post(
        reverse("api_purchase_create"), data=reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert second.status_code == first.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert Purchase.objects.filter(merchant=merchant).count() == 1


def test_a_store_id_beyond_the_key_range_is_refused_not_looked_up(api_client, merchant):
    response = post(api_client, "api_purchase_create", purchase_body(channel="in_store", store_id=2**63))

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["store"]
