import logging
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.models import IdempotencyRecord
from profiles.models import Card, ConsentEvent, ContactPoint, LineItem, Purchase, Shopper, ShopperRollup, Visit
from tests.profiles.factories import CardFactory, ContactFactory, PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0) - timedelta(hours=1)


def purchase_body(store=None, **overrides):
    body = {
        "external_id": "order-1",
        "amount_minor": 4599,
        "currency": "EUR",
        "occurred_at": NOW.isoformat(),
        "channel": "in_store" if store else "online",
        "store": store.pk if store else None,
    }
    if "store_id" in overrides:
        body["store"] = overrides.pop("store_id")
    return {**body, **overrides}


def post(client, name, body, key=None, **kwargs):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(reverse(name, kwargs=kwargs or None), body, format="json", **headers)


# Shoppers


def test_create_then_match_by_verified_email(api_client, merchant):
    body = {
        "first_name": "Ana",
        "email": "Ana@Example.com ",
        "email_verified": True,
        "consents": [{"channel": "email", "purpose": "marketing", "granted": True, "wording_version": "v3"}],
    }

    created = post(api_client, "api_shopper_create", body)
    matched = post(
        api_client, "api_shopper_create", {"email": "ana@example.com", "email_verified": True, "last_name": "Lima"}
    )

    assert created.status_code == 201 and created.json()["created"] is True
    assert matched.status_code == 200 and matched.json()["matched_by"] == "email"
    assert matched.json()["shopper"]["id"] == created.json()["shopper"]["id"]
    shopper = Shopper.objects.get(merchant=merchant)
    assert (shopper.first_name, shopper.last_name) == ("Ana", "Lima")
    consent = ConsentEvent.objects.get(shopper=shopper)
    assert (consent.source, consent.wording_version, consent.is_granted) == ("api_key", "v3", True)
    assert consent.source_ref == api_client._credentials["HTTP_AUTHORIZATION"].split()[1].split(".")[0]


def test_unverified_email_does_not_identify_a_shopper(api_client, merchant):
    post(api_client, "api_shopper_create", {"email": "x@example.com"})
    second = post(api_client, "api_shopper_create", {"email": "x@example.com"})

    assert second.status_code == 201
    assert Shopper.objects.filter(merchant=merchant).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"home_store": 999999, "first_name": "A"}, "home_store"),
        (
            {"consents": [{"channel": "pigeon", "purpose": "marketing", "granted": True}], "first_name": "A"},
            "consents.0.channel",
        ),
        ({}, None),
    ],
)
def test_bad_shopper_input_is_400_with_the_field(api_client, merchant, body, field):
    response = post(api_client, "api_shopper_create", body)

    assert response.status_code == 400
    if field:
        assert field in response.json()["error"]["fields"]
    assert not Shopper.objects.filter(merchant=merchant).exists()


def test_lookup_by_card_email_and_phone(api_client, merchant):
    card = CardFactory(shopper__merchant=merchant)
    ContactFactory(shopper=card.shopper, value="found@example.com")
    ContactFactory(shopper=card.shopper, kind="phone", value="+31612345678")

    by_card = api_client.get(reverse("api_shopper_lookup"), {"card_id": card.token})
    by_email = api_client.get(reverse("api_shopper_lookup"), {"email": "FOUND@example.com"})
    by_phone = api_client.get(reverse("api_shopper_lookup"), {"phone": "+31 6 12345678"})
    missing = api_client.get(reverse("api_shopper_lookup"), {"email": "nobody@example.com"})

    assert by_card.json()["id"] == by_email.json()["id"] == by_phone.json()["id"] == str(card.shopper.public_id)
    assert by_card.json()["cards"][0]["last_four"] == card.last_four
    assert "token" not in str(by_card.json())
    assert missing.status_code == 404


# Cards


CARD = {
    "id": "tok_abc123",
    "scheme": "visa",
    "first_six": "411111",
    "last_four": "1111",
    "expiry_month": 12,
    "expiry_year": 2030,
}


def test_enroll_a_card_with_new_shopper_details(api_client, merchant):
    response = post(
        api_client,
        "api_card_enroll",
        {
            "card": CARD,
            "shopper": {
                "email": "new@example.com",
                "email_verified": True,
                "consents": [{"channel": "email", "purpose": "marketing", "granted": True}],
            },
        },
    )

    assert response.status_code == 201
    card = Card.objects.get(merchant=merchant)
    assert card.token == "tok_abc123" and len(card.fingerprint) == 64
    assert response.json()["card"]["last_four"] == "1111"
    assert ContactPoint.objects.get(shopper=card.shopper).value == "new@example.com"


def test_a_card_linked_to_one_shopper_cannot_be_linked_to_another(api_client, merchant):
    first = ShopperFactory(merchant=merchant)
    second = ShopperFactory(merchant=merchant)
    post(api_client, "api_card_enroll", {"card": CARD, "shopper_id": str(first.public_id)})

    again_same = post(api_client, "api_card_enroll", {"card": CARD, "shopper_id": str(first.public_id)})
    other = post(api_client, "api_card_enroll", {"card": CARD, "shopper_id": str(second.public_id)})

    assert again_same.status_code == 201
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "card_linked_elsewhere"
    assert Card.objects.filter(merchant=merchant).count() == 1


def test_unlink_stops_purchases_reaching_the_shopper(api_client, merchant):
    card = CardFactory(shopper__merchant=merchant)

    unlinked = post(api_client, "api_card_unlink", {}, card_id=card.public_id)
    purchase = post(api_client, "api_purchase_create", purchase_body(card_id=card.token))

    assert unlinked.json()["status"] == "unlinked"
    assert purchase.json()["shopper_id"] is None


# Purchases


def test_purchase_on_a_linked_card_lands_on_the_shopper_and_its_rollup(api_client, merchant, store):
    card = CardFactory(shopper__merchant=merchant)

    response = post(
        api_client,
        "api_purchase_create",
        purchase_body(
            store,
            card_id=card.token,
            line_items=[
                {"sku": "TS-1", "name": "T-shirt", "category": "tops", "quantity": 2, "unit_price_minor": 1500}
            ],
        ),
        key="k-1",
    )

    assert response.status_code == 201
    assert response.json()["shopper_id"] == str(card.shopper.public_id)
    purchase = Purchase.objects.get(merchant=merchant)
    assert LineItem.objects.get(purchase=purchase).category == "tops"
    rollup = ShopperRollup.objects.get(shopper=card.shopper)
    assert (rollup.purchase_count, rollup.total_minor, rollup.in_store_count, rollup.last_store_id) == (
        1,
        4599,
        1,
        store.pk,
    )


def test_idempotency_same_key_same_body_replays_the_first_response(api_client, merchant):
    first = post(api_client, "api_purchase_create", purchase_body(), key="same")
    second = post(api_client, "api_purchase_create", purchase_body(), key="same")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Purchase.objects.filter(merchant=merchant).count() == 1


def test_idempotency_same_key_other_body_is_422(api_client, merchant):
    post(api_client, "api_purchase_create", purchase_body(), key="same")

    response = post(api_client, "api_purchase_create", purchase_body(amount_minor=1), key="same")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Purchase.objects.get(merchant=merchant).amount_minor == 4599


def test_idempotency_key_is_free_again_after_the_replay_window(api_client, merchant):
    post(api_client, "api_purchase_create", purchase_body(), key="old")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    fresh = post(api_client, "api_purchase_create", purchase_body(external_id="order-2"), key="old")
    replay = post(api_client, "api_purchase_create", purchase_body(external_id="order-2"), key="old")

    assert fresh.status_code == 201 and fresh.json()["external_id"] == "order-2"
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == fresh.json()
    assert IdempotencyRecord.objects.filter(merchant=merchant, key="old").count() == 1


def test_idempotency_keys_belong_to_one_merchant(api_client, other_api_client, other_merchant):
    post(api_client, "api_purchase_create", purchase_body(), key="shared-key")

    response = post(other_api_client, "api_purchase_create", purchase_body(), key="shared-key")

    assert response.status_code == 201
    assert Purchase.objects.filter(merchant=other_merchant).count() == 1


@pytest.mark.django_db(transaction=True)
def test_idempotency_request_still_running_is_409(api_client, merchant):
    # given: another process holds the key's lock, as a first request still being processed would
    settings = connection.settings_dict
    holder = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or settings.get("OPTIONS", {}).get("host"),
        port=settings["PORT"] or None,
    )
    holder.execute("BEGIN")
    holder.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"idempotency:{merchant.pk}:busy"])
    try:
        response = post(api_client, "api_purchase_create", purchase_body(), key="busy")
    finally:
        holder.rollback()
        holder.close()

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert not Purchase.objects.filter(merchant=merchant).exists()
    # and once the first finished, the retry goes through
    assert post(api_client, "api_purchase_create", purchase_body(), key="busy").status_code == 201


def test_natural_key_dedupes_across_two_idempotency_keys(api_client, merchant):
    first = post(api_client, "api_purchase_create", purchase_body(), key="a")
    second = post(api_client, "api_purchase_create", purchase_body(), key="b")
    clash = post(api_client, "api_purchase_create", purchase_body(amount_minor=10), key="c")

    assert first.status_code == 201
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert clash.status_code == 409 and clash.json()["error"]["fields"] == {
        "external_id": ["A different purchase with external id “order-1” is already recorded."]
    }
    assert Purchase.objects.filter(merchant=merchant).count() == 1


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"currency": "USD"}, "currency"),
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": 12.5}, "amount_minor"),
        ({"channel": "in_store"}, "store"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": (timezone.now() + timedelta(days=2)).isoformat()}, "occurred_at"),
        ({"channel": "in_store", "store_id": 10**9}, "store"),
        ({"shopper_id": str(uuid.uuid4())}, "shopper_id"),
    ],
)
def test_bad_purchase_is_400_with_the_field_and_stores_nothing(api_client, merchant, override, field):
    response = post(api_client, "api_purchase_create", purchase_body(**override))

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert not Purchase.objects.filter(merchant=merchant).exists()


def test_refund_in_parts_then_too_much(api_client, merchant):
    card = CardFactory(shopper__merchant=merchant)
    created = post(api_client, "api_purchase_create", purchase_body(card_id=card.token)).json()

    part = post(api_client, "api_purchase_refund", {"amount_minor": 599}, purchase_id=created["id"])
    too_much = post(api_client, "api_purchase_refund", {"amount_minor": 5000}, purchase_id=created["id"])
    rest = post(api_client, "api_purchase_refund", {}, purchase_id=created["id"])

    assert part.json()["refunded_minor"] == 599 and part.json()["state"] == "cleared"
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "refund_exceeds_purchase"
    assert rest.json()["state"] == "refunded"
    assert not ShopperRollup.objects.filter(shopper=card.shopper).exists()


def test_batch_reports_each_row_and_keeps_the_good_ones(api_client, merchant, store):
    PurchaseFactory(merchant=merchant, external_id="already", amount_minor=100, occurred_at=NOW)
    rows = [
        purchase_body(store, external_id="b-1"),
        purchase_body(store, external_id="b-2", currency="USD"),
        purchase_body(store, external_id="already", amount_minor=100),
        {"external_id": "b-3"},
        purchase_body(store, external_id="b-1"),
        purchase_body(external_id="b-4"),
    ]

    response = post(api_client, "api_purchase_batch", {"purchases": rows})

    body = response.json()
    assert response.status_code == 200
    assert [r["status"] for r in body["results"]] == ["created", "error", "duplicate", "error", "error", "created"]
    assert body["results"][1]["error"]["fields"] == {"currency": [body["results"][1]["error"]["message"]]}
    assert "amount_minor" in body["results"][3]["error"]["fields"]
    assert body["results"][4]["error"]["code"] == "duplicate_in_batch"
    assert (body["created"], body["duplicates"], body["errors"]) == (2, 1, 3)
    assert set(Purchase.objects.filter(merchant=merchant).values_list("external_id", flat=True)) == {
        "already",
        "b-1",
        "b-4",
    }


def test_batch_row_reusing_a_recorded_external_id_for_another_amount_is_an_error_row(api_client, merchant, store):
    PurchaseFactory(merchant=merchant, external_id="kept", amount_minor=100, occurred_at=NOW)

    response = post(
        api_client,
        "api_purchase_batch",
        {"purchases": [purchase_body(external_id="kept", amount_minor=999), purchase_body(external_id="new")]},
    )

    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "created"]
    assert results[0]["error"]["code"] == "external_id_conflict"
    assert Purchase.objects.get(merchant=merchant, external_id="kept").amount_minor == 100


def test_batch_of_more_than_1000_is_refused(api_client):
    response = post(
        api_client, "api_purchase_batch", {"purchases": [purchase_body(external_id=str(i)) for i in range(1001)]}
    )

    assert response.status_code == 400
    assert "purchases" in response.json()["error"]["fields"]


def test_visit_by_card(api_client, merchant, store):
    card = CardFactory(shopper__merchant=merchant)

    response = post(
        api_client,
        "api_visit_create",
        {"store": store.pk, "occurred_at": NOW.isoformat(), "source": "wifi", "card_id": card.token},
    )

    assert response.status_code == 201
    assert Visit.objects.get(merchant=merchant).shopper == card.shopper


def test_consents_are_appended(api_client, merchant):
    shopper = ShopperFactory(merchant=merchant)
    body = {"consents": [{"channel": "sms", "purpose": "marketing", "granted": False}]}

    response = post(api_client, "api_shopper_consents", body, shopper_id=shopper.public_id)

    assert response.status_code == 201
    assert ConsentEvent.objects.filter(shopper=shopper, channel="sms", is_granted=False).count() == 1


# Card numbers are never accepted


@pytest.mark.parametrize(
    ("name", "body", "path"),
    [
        ("api_purchase_create", purchase_body(card_id="4111111111111111"), "card_id"),
        (
            "api_purchase_create",
            purchase_body(line_items=[{"name": "gift 4111 1111 1111 1111", "unit_price_minor": 1}]),
            "line_items[0].name",
        ),
        ("api_shopper_create", {"first_name": "5555-5555-5555-4444"}, "first_name"),
        ("api_card_enroll", {"card": {**CARD, "id": "378282246310005"}, "shopper": {"first_name": "A"}}, "card.id"),
    ],
)
def test_a_card_number_anywhere_is_400_and_never_stored_or_logged(api_client, merchant, caplog, name, body, path):
    caplog.set_level(logging.DEBUG)

    response = post(api_client, name, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "card_number_rejected"
    assert path in response.json()["error"]["fields"]
    assert not Purchase.objects.filter(merchant=merchant).exists()
    assert not Shopper.objects.filter(merchant=merchant).exists()
    for digits in ("4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"):
        assert digits not in caplog.text
        assert digits not in response.content.decode()


def test_card_number_in_query_is_refused(api_client):
    response = api_client.get(reverse("api_shopper_lookup"), {"card_id": "4111111111111111"})

    assert response.status_code == 400
    assert "card_id" in response.json()["error"]["fields"]


# Tenant isolation: every route answers 404 with another merchant's ids


@pytest.fixture
def their_objects(other_merchant):
    card = CardFactory(shopper__merchant=other_merchant)
    purchase = PurchaseFactory(merchant=other_merchant, shopper=card.shopper)
    return {"shopper": card.shopper, "card": card, "purchase": purchase}


def test_other_merchants_ids_are_404_everywhere(api_client, their_objects, merchant):
    shopper, card, purchase = their_objects["shopper"], their_objects["card"], their_objects["purchase"]

    responses = [
        api_client.get(reverse("api_shopper_detail", args=[shopper.public_id])),
        post(
            api_client,
            "api_shopper_consents",
            {"consents": [{"channel": "sms", "purpose": "marketing", "granted": True}]},
            shopper_id=shopper.public_id,
        ),
        post(api_client, "api_card_unlink", {}, card_id=card.public_id),
        post(api_client, "api_purchase_refund", {}, purchase_id=purchase.public_id),
        api_client.get(reverse("api_shopper_lookup"), {"card_id": card.token}),
    ]
    by_reference = [
        post(api_client, "api_purchase_create", purchase_body(shopper_id=str(shopper.public_id))),
        post(api_client, "api_card_enroll", {"card": CARD, "shopper_id": str(shopper.public_id)}),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404, 404]
    assert [r.status_code for r in by_reference] == [400, 400]
    card.refresh_from_db()
    purchase.refresh_from_db()
    assert card.status == "active" and purchase.refunded_minor == 0
    assert not ConsentEvent.objects.filter(shopper=shopper).exists()
    assert not Purchase.objects.filter(merchant=merchant).exists()


def test_scope_is_required(merchant):
    from rest_framework.test import APIClient

    from merchants import services

    _key, secret = services.api_key_create(merchant=merchant, actor=None, name="read only", scopes=["shoppers:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    response = post(client, "api_purchase_create", purchase_body())

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"


def test_preferences_accumulate(api_client, merchant):
    from profiles.models import ShopperPreferences

    body = {"email": "p@example.com", "email_verified": True, "preferences": {"sizes": ["M"], "brands": ["Acme"]}}
    post(api_client, "api_shopper_create", body)
    post(api_client, "api_shopper_create", {**body, "preferences": {"sizes": ["L", "M"], "colours": ["navy"]}})

    stored = ShopperPreferences.objects.get(shopper__merchant=merchant)
    assert (stored.sizes, stored.brands, stored.colours) == (["M", "L"], ["Acme"], ["navy"])


def test_unknown_fields_are_refused_not_ignored(api_client, merchant):
    shopper = ShopperFactory(merchant=merchant)

    response = post(api_client, "api_card_enroll", {"card": CARD, "shopper": {"id": str(shopper.public_id)}})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"shopper.id": ["Unknown field."]}
    assert not Card.all_merchants.exists()


def test_a_time_without_offset_is_refused(api_client, merchant):
    response = post(api_client, "api_purchase_create", purchase_body(occurred_at="2026-11-23T10:15:00"))

    assert response.status_code == 400
    assert "offset" in response.json()["error"]["fields"]["occurred_at"][0]


def test_unmatched_api_path_is_json_even_for_a_malformed_id(api_client):
    response = api_client.get("/api/v1/shoppers/123")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_consents_read_current_state_and_history(api_client, merchant):
    shopper = ShopperFactory(merchant=merchant)
    for granted in (True, False, True):
        post(
            api_client,
            "api_shopper_consents",
            {"consents": [{"channel": "email", "purpose": "marketing", "granted": granted}]},
            shopper_id=shopper.public_id,
        )
    post(
        api_client,
        "api_shopper_consents",
        {"consents": [{"channel": "sms", "purpose": "feedback", "granted": False}]},
        shopper_id=shopper.public_id,
    )

    body = api_client.get(reverse("api_shopper_consents", args=[shopper.public_id])).json()

    assert {(c["channel"], c["purpose"], c["granted"]) for c in body["current"]} == {
        ("email", "marketing", True),
        ("sms", "feedback", False),
    }
    assert len(body["history"]) == 4


def test_purchase_for_a_twice_merged_profile_lands_on_the_survivor(api_client, merchant):
    survivor = ShopperFactory(merchant=merchant)
    middle = ShopperFactory(merchant=merchant, status="merged", merged_into=survivor)
    first = ShopperFactory(merchant=merchant, status="merged", merged_into=middle)

    response = post(api_client, "api_purchase_create", purchase_body(shopper_id=str(first.public_id)))

    assert response.json()["shopper_id"] == str(survivor.public_id)
    assert ShopperRollup.objects.get(shopper=survivor).purchase_count == 1
