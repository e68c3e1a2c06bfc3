import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import PaymentEvent
from payments.providers.generic import GenericAdapter
from payments.services import processing
from profiles.models import LineItem, Purchase, ShopperRollup, StoreHourRollup
from profiles.services import rollups
from tests.payments.helpers import SECRETS, make_source
from tests.profiles.factories import CardFactory

pytestmark = pytest.mark.django_db

WHEN = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)


@pytest.fixture
def connection(merchant):
    return make_source(merchant, "generic")


@pytest.fixture
def card(merchant):
    return CardFactory(shopper__merchant=merchant)


def event(event_id, kind, transaction_id, amount="45.99", store_location="LOC-1", card=None, **extra):
    transaction = {
        "id": transaction_id,
        "amount": amount,
        "currency": "EUR",
        "datetime": WHEN.isoformat(),
        "cardPresent": store_location is not None,
        "card": {
            "id": card.token if card else "tok_unknown",
            "firstNumbers": "411111",
            "lastNumbers": "1111",
            "scheme": "visa",
        },
        "location": {"id": store_location, "timezone": "Europe/Amsterdam"} if store_location else None,
        "identifiers": {"MID": "MID-1"},
        **extra,
    }
    return {"id": event_id, "type": f"transaction.{kind}", "transaction": transaction}


def send(connection, payload, *, timestamp=None, secret=None, body=None, captured=None):
    raw = body if body is not None else json.dumps(payload).encode()
    at = datetime.fromtimestamp(timestamp or time.time(), tz=UTC)
    _body, headers = GenericAdapter().sign(
        json.dumps(payload).encode(), url="", secret=secret or SECRETS["generic"], now=at
    )
    header = headers["Storeloop-Signature"]
    return APIClient().post(
        reverse("api_network_events", args=[connection.public_id]),
        data=raw,
        content_type="application/json",
        HTTP_STORELOOP_SIGNATURE=header,
    )


def test_auth_clearing_refund_make_one_purchase_and_reverse_it(
    connection, store, card, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        auth = send(connection, event("evt-1", "auth", "txn-1", card=card))
    purchase = Purchase.all_merchants.get(network_transaction_id="txn-1")
    assert auth.status_code == 200 and auth.json()["status"] == "accepted"
    assert (purchase.state, purchase.amount_minor, purchase.store, purchase.shopper) == (
        "authorised",
        4599,
        store,
        card.shopper,
    )

    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-2", "clearing", "txn-1", amount="44.99", card=card))
    purchase.refresh_from_db()
    assert (purchase.state, purchase.amount_minor) == ("cleared", 4499)
    assert ShopperRollup.objects.get(shopper=card.shopper).total_minor == 4499

    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-3", "refund", "txn-9", amount="-44.99", card=card, refundTransactionId="txn-1"))
    purchase.refresh_from_db()
    assert purchase.state == "refunded"
    assert not ShopperRollup.objects.filter(shopper=card.shopper).exists()
    assert rollups.rollups_rebuild(merchant=purchase.merchant).total == 0
    assert set(PaymentEvent.all_merchants.values_list("status", flat=True)) == {"processed"}


def test_replayed_event_is_stored_and_processed_once(connection, store, card, django_capture_on_commit_callbacks):
    payload = event("evt-1", "auth", "txn-1", card=card)
    with django_capture_on_commit_callbacks(execute=True):
        first = send(connection, payload)
        second = send(connection, payload)

    assert first.json()["status"] == "accepted"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert PaymentEvent.all_merchants.count() == 1
    assert Purchase.all_merchants.count() == 1


def test_stale_signature_is_refused(connection, store):
    response = send(connection, event("evt-1", "auth", "txn-1"), timestamp=int(time.time()) - 301)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_signature"
    assert not PaymentEvent.all_merchants.exists()


def test_tampered_body_is_refused(connection, store):
    payload = event("evt-1", "auth", "txn-1")
    tampered = json.dumps({**payload, "transaction": {**payload["transaction"], "amount": "0.01"}}).encode()

    response = send(connection, payload, body=tampered)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not PaymentEvent.all_merchants.exists()


def test_wrong_secret_and_missing_header_are_refused(connection, store):
    wrong = send(connection, event("evt-1", "auth", "txn-1"), secret="not-the-secret")
    missing = APIClient().post(
        reverse("api_network_events", args=[connection.public_id]), data=b"{}", content_type="application/json"
    )

    assert wrong.status_code == 401
    assert missing.status_code == 401
    assert not PaymentEvent.all_merchants.exists()


def test_unknown_connection_is_404(db, merchant):
    import uuid

    response = APIClient().post(
        reverse("api_network_events", args=[uuid.uuid4()]), data=b"{}", content_type="application/json"
    )

    assert response.status_code == 404


def test_unknown_location_keeps_the_event_with_a_reason(connection, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", store_location="NOWHERE", identifiers={}))

    stored = PaymentEvent.all_merchants.get()
    assert stored.status == "unmapped"
    assert "NOWHERE" in stored.detail
    assert not Purchase.all_merchants.exists()


def test_network_event_then_checkout_basket_is_one_purchase_with_items(
    connection, store, card, api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", card=card))

    response = api_client.post(
        reverse("api_purchase_create"),
        {
            "external_id": "web-77",
            "amount_minor": 4599,
            "currency": "EUR",
            "occurred_at": (WHEN + timedelta(minutes=3)).isoformat(),
            "channel": "in_store",
            "store": store.pk,
            "line_items": [{"name": "Scarf", "category": "accessories", "unit_price_minor": 4599}],
        },
        format="json",
    )

    assert response.status_code == 200
    purchase = Purchase.all_merchants.get()
    assert purchase.basket_external_id == "web-77"
    assert LineItem.objects.get(purchase=purchase).category == "accessories"
    assert StoreHourRollup.objects.get(merchant=purchase.merchant).purchase_count == 1


def test_checkout_basket_then_network_event_is_one_purchase_that_learns_the_card(
    connection, store, card, api_client, django_capture_on_commit_callbacks
):
    api_client.post(
        reverse("api_purchase_create"),
        {
            "external_id": "till-5",
            "amount_minor": 4599,
            "currency": "EUR",
            "occurred_at": WHEN.isoformat(),
            "channel": "in_store",
            "store": store.pk,
            "line_items": [{"name": "Boots", "category": "shoes", "unit_price_minor": 4599}],
        },
        format="json",
    )

    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", card=card))

    purchase = Purchase.all_merchants.get()
    assert (purchase.network_transaction_id, purchase.shopper, purchase.card) == ("txn-1", card.shopper, card)
    assert ShopperRollup.objects.get(shopper=card.shopper).purchase_count == 1
    assert rollups.rollups_rebuild(merchant=purchase.merchant).total == 0


def test_online_transaction_without_a_location_is_an_online_purchase(
    connection, card, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", store_location=None, card=card, identifiers={}))

    purchase = Purchase.all_merchants.get()
    assert (purchase.channel, purchase.store) == ("online", None)


def test_processing_twice_changes_nothing(connection, store, card, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", card=card))
    stored = PaymentEvent.all_merchants.get()

    again = processing.event_process(event_id=stored.pk)

    assert again is None
    assert Purchase.all_merchants.count() == 1


def test_a_basket_is_not_matched_onto_another_cards_transaction(
    connection, store, merchant, api_client, django_capture_on_commit_callbacks
):
    someone = CardFactory(shopper__merchant=merchant)
    someone_else = CardFactory(shopper__merchant=merchant)
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", card=someone))

    response = api_client.post(
        reverse("api_purchase_create"),
        {
            "external_id": "till-9",
            "amount_minor": 4599,
            "currency": "EUR",
            "occurred_at": WHEN.isoformat(),
            "channel": "in_store",
            "store": store.pk,
            "card_id": someone_else.token,
            "line_items": [{"name": "Coffee", "unit_price_minor": 4599}],
        },
        format="json",
    )

    assert response.status_code == 201
    assert Purchase.all_merchants.count() == 2


def test_retrying_a_matched_basket_is_not_a_conflict(
    connection, store, card, api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", card=card))
    body = {
        "external_id": "web-78",
        "amount_minor": 4599,
        "currency": "EUR",
        "occurred_at": (WHEN + timedelta(minutes=4)).isoformat(),
        "channel": "in_store",
        "store": store.pk,
        "line_items": [{"name": "Scarf", "unit_price_minor": 4599}],
    }

    first = api_client.post(reverse("api_purchase_create"), body, format="json")
    retry = api_client.post(reverse("api_purchase_create"), body, format="json")

    assert first.status_code == retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert Purchase.all_merchants.count() == 1


def test_refund_of_a_fully_refunded_purchase_is_processed_not_failed(
    connection, store, card, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", card=card))
        send(connection, event("evt-2", "refund", "txn-2", card=card, refundTransactionId="txn-1"))
        send(connection, event("evt-3", "refund", "txn-3", card=card, refundTransactionId="txn-1"))

    assert list(PaymentEvent.all_merchants.order_by("event_id").values_list("status", flat=True)) == ["processed"] * 3


def test_an_event_of_the_wrong_shape_is_400_at_its_path_and_not_stored(connection, store):
    payload = event("evt-1", "auth", "txn-1")
    wrong_amount = {**payload, "transaction": {**payload["transaction"], "amount": {"value": "45.99"}}}

    responses = [
        send(connection, wrong_amount),
        send(connection, {**payload, "type": "transaction.void"}),
        send(connection, {"type": "transaction.auth", "transaction": payload["transaction"]}),
    ]

    assert [r.status_code for r in responses] == [400, 400, 400]
    assert [list(r.json()["error"]["fields"]) for r in responses] == [["transaction.amount"], ["type"], ["id"]]
    assert not PaymentEvent.all_merchants.exists()


def test_fields_the_feed_does_not_name_are_kept_not_refused(
    connection, store, card, django_capture_on_commit_callbacks
):
    payload = event("evt-1", "auth", "txn-1", card=card, acquirer={"name": "Acme"})
    payload["schemaVersion"] = 2

    with django_capture_on_commit_callbacks(execute=True):
        response = send(connection, payload)

    stored = PaymentEvent.all_merchants.get()
    assert response.status_code == 200 and stored.status == "processed"
    kept = json.loads(stored.delivery.body)
    assert kept["schemaVersion"] == 2 and kept["transaction"]["acquirer"] == {"name": "Acme"}
    assert Purchase.all_merchants.get().shopper == card.shopper
