"""Square, Fidel, Adyen and Shopify: their documented payloads through the webhook URL, into purchases.

Each provider's life of a payment (authorisation → capture → partial refund → refund), its
out-of-order arrival, a replay, a wrong signature and an unknown location that is mapped and
replayed. Stripe's own file says the same for Stripe.
"""

import json

import pytest
from django.utils import timezone

from payments.models import EventStatus, LocationMapping, PaymentEvent
from payments.services import sources
from profiles.models import CardIdentity, CardIdentityVia, LineItem, Purchase, PurchaseState
from profiles.services import shoppers
from profiles.services.cards import ProviderCardId
from tests.factories import MerchantFactory, StoreFactory
from tests.payments.fixtures import raw_payload
from tests.payments.helpers import make_source, signed_post
from tests.profiles.factories import ContactFactory, ShopperFactory

SHOPIFY_TOPICS = {
    "orders_create_authorized_pos": "orders/create",
    "orders_create_paid_online": "orders/create",
    "orders_paid": "orders/paid",
    "products_update": "products/update",
}


def headers_for(provider: str, name: str) -> dict[str, str]:
    if provider == "fidel":
        return {"fidel-message-id": f"msg-{name}", "fidel-attempt-number": "1"}
    if provider == "shopify":
        return {"X-Shopify-Topic": SHOPIFY_TOPICS.get(name, "refunds/create"), "X-Shopify-Webhook-Id": f"wh-{name}"}
    return {}


def deliver(source, name, capture, **kwargs):
    with capture(execute=True):
        return signed_post(
            source, raw_payload(source.provider, name), headers=headers_for(source.provider, name), **kwargs
        )


def merchant_in(currency: str, zone: str):
    merchant = MerchantFactory(currency=currency, timezone=zone)
    store = StoreFactory(merchant=merchant, name="High Street", timezone=zone)
    return merchant, store


def enrolled_shopper(merchant, *identities: ProviderCardId):
    shopper = ShopperFactory(merchant=merchant)
    shoppers.card_enroll(
        merchant=merchant,
        shopper=shopper,
        card=shoppers.CardInput(token=f"tok-{shopper.pk}", last_four="4242", identities=identities),
        linked_via="checkout",
    )
    return shopper


# provider, currency, zone, account, location to map (None: the source's default store), card identity,
# and the payment's life as (payload, state, amount, refunded) after each step.
LIVES = {
    "square": (
        "USD",
        "America/New_York",
        "6SSW7HV8K2ST5",
        "S8GWD5R9QB376",
        ProviderCardId(
            "square",
            "6SSW7HV8K2ST5",
            "fingerprint",
            "sq-1-Hxim77tbdcbGejOejnoAklBVJed2YFLTmirfl8Q5XZzObTc8qY_U8RkwzoNL8dCEcQ",
        ),
        [
            ("payment_created_approved", PurchaseState.AUTHORISED, 2500, 0),
            ("payment_updated_completed", PurchaseState.CLEARED, 2500, 0),
            ("refund_updated_completed_partial", PurchaseState.CLEARED, 2500, 500),
            ("refund_updated_completed_rest", PurchaseState.REFUNDED, 2500, 2500),
        ],
    ),
    "fidel": (
        "GBP",
        "Europe/London",
        "06471dbe-a3c7-429e-8a18-16dc97e5cf35",
        "0ff99cfd-9e8b-48fe-af55-2519ffe1c0a4",
        ProviderCardId(
            "fidel", "06471dbe-a3c7-429e-8a18-16dc97e5cf35", "card_id", "62744670-f935-4ba3-8e89-be23e31292cf"
        ),
        [
            ("transaction_auth", PurchaseState.AUTHORISED, 2550, 0),
            ("transaction_clearing", PurchaseState.CLEARED, 2300, 0),
            ("transaction_refund_partial", PurchaseState.CLEARED, 2300, 500),
            ("transaction_refund_unmatched", PurchaseState.REFUNDED, 2300, 2300),
        ],
    ),
    "adyen": (
        "EUR",
        "Europe/Amsterdam",
        "NorthwindPOS",
        None,
        ProviderCardId("adyen", "network", "par", "V0010013822254720181000000001"),
        [
            ("authorisation", PurchaseState.AUTHORISED, 2500, 0),
            ("capture", PurchaseState.CLEARED, 2300, 0),
            ("refunds_batch", PurchaseState.REFUNDED, 2300, 2300),
        ],
    ),
}


def connected(provider: str):
    """A merchant in the provider's currency with its source (locations mapped) and a shopper whose card the
    provider names; and the payment's life for that provider."""
    currency, zone, account, location, identity, steps = LIVES[provider]
    merchant, store = merchant_in(currency, zone)
    source = make_source(merchant, provider, store=None if location else store, account=account)
    if location:
        sources.location_map(source=source, location_id=location, store=store)
    return merchant, store, source, enrolled_shopper(merchant, identity), steps


@pytest.mark.parametrize("provider", sorted(LIVES))
def test_a_payment_s_life_lands_on_one_purchase_of_the_card_s_shopper(db, provider, django_capture_on_commit_callbacks):
    merchant, store, source, shopper, steps = connected(provider)

    for name, state, amount, refunded in steps:
        answer = deliver(source, name, django_capture_on_commit_callbacks)
        assert answer.status_code == 200, (name, answer.content)
        purchase = Purchase.objects.get(merchant=merchant)
        assert (purchase.state, purchase.amount_minor, purchase.refunded_minor) == (state, amount, refunded), name
        assert purchase.shopper == shopper and purchase.store == store

    log = PaymentEvent.objects.filter(source=source)
    assert set(log.values_list("status", flat=True)) == {EventStatus.PROCESSED}, list(log.values("event_id", "detail"))


@pytest.mark.parametrize("provider", sorted(LIVES))
def test_the_same_life_delivered_backwards_ends_the_same(db, provider, django_capture_on_commit_callbacks):
    merchant, store, source, shopper, steps = connected(provider)

    for name, *_ in reversed(steps):
        assert deliver(source, name, django_capture_on_commit_callbacks).status_code == 200

    _, state, amount, refunded = steps[-1]
    purchase = Purchase.objects.get(merchant=merchant)
    if provider == "fidel":
        # Fidel's unlinked refund names no payment: before its purchase exists it cannot be matched, and says so.
        unmatched = PaymentEvent.objects.get(source=source, event_id="msg-transaction_refund_unmatched")
        assert unmatched.status == EventStatus.FAILED
        refunded = 500
    assert (purchase.amount_minor, purchase.refunded_minor, purchase.shopper) == (amount, refunded, shopper)


@pytest.mark.parametrize("provider", sorted(LIVES))
def test_a_wrong_signature_is_refused_and_leaves_nothing(db, provider, django_capture_on_commit_callbacks):
    currency, zone, account, _location, _identity, steps = LIVES[provider]
    merchant, store = merchant_in(currency, zone)
    source = make_source(merchant, provider, store=store, account=account)
    secret = "00" * 32 if provider == "adyen" else "not-the-secret"

    answer = deliver(source, steps[0][0], django_capture_on_commit_callbacks, secret=secret)

    assert answer.status_code == (403 if provider == "square" else 401)
    assert answer.json()["error"]["code"] == "invalid_signature"
    assert not PaymentEvent.objects.filter(source=source).exists()
    assert not Purchase.objects.filter(merchant=merchant).exists()


def test_a_replayed_fidel_message_is_processed_once(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("GBP", "Europe/London")
    source = make_source(merchant, "fidel", account="06471dbe-a3c7-429e-8a18-16dc97e5cf35")
    sources.location_map(source=source, location_id="0ff99cfd-9e8b-48fe-af55-2519ffe1c0a4", store=store)

    for _ in range(3):  # Fidel retries, and replays on request, with the same message id
        assert deliver(source, "transaction_auth", django_capture_on_commit_callbacks).status_code == 200

    assert Purchase.objects.filter(merchant=merchant).count() == 1
    assert PaymentEvent.objects.filter(source=source).count() == 1


def test_an_unknown_location_is_listed_then_mapped_and_its_event_replayed(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "square", account="6SSW7HV8K2ST5")

    assert deliver(source, "payment_updated_completed", django_capture_on_commit_callbacks).status_code == 200

    event = PaymentEvent.objects.get(source=source)
    assert event.status == EventStatus.UNMAPPED
    assert "S8GWD5R9QB376" in event.detail
    listed = LocationMapping.objects.get(source=source)
    assert (listed.location_id, listed.store) == ("S8GWD5R9QB376", None)
    assert not Purchase.objects.filter(merchant=merchant).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert sources.location_map(source=source, location_id="S8GWD5R9QB376", store=store) == 1

    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    assert Purchase.objects.get(merchant=merchant).store == store


def test_fidel_local_time_is_read_in_the_location_s_zone(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("GBP", "Europe/London")
    source = make_source(merchant, "fidel", account="06471dbe-a3c7-429e-8a18-16dc97e5cf35")
    sources.location_map(source=source, location_id="0ff99cfd-9e8b-48fe-af55-2519ffe1c0a4", store=store)
    document = json.loads(raw_payload("fidel", "transaction_auth"))

    deliver(source, "transaction_auth", django_capture_on_commit_callbacks)

    local = timezone.datetime.fromisoformat(document["datetime"])
    zone = __import__("zoneinfo").ZoneInfo(document["location"]["timezone"])
    assert Purchase.objects.get(merchant=merchant).occurred_at == local.replace(tzinfo=zone)


def test_a_square_cancel_voids_the_authorisation(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "square", account="6SSW7HV8K2ST5")
    sources.location_map(source=source, location_id="S8GWD5R9QB376", store=store)
    body = raw_payload("square", "payment_created_approved").replace(
        b"hYy9pRFVxpDsO1FB05SunFWUe9JZY", b"Qm7fGzJr5BO0Bq5Ay6HpUcWc6bXZY"
    )
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(source, body.replace(b"13b867cf", b"23b867cf"))

    deliver(source, "payment_updated_canceled", django_capture_on_commit_callbacks)

    purchase = Purchase.objects.get(merchant=merchant)
    assert (purchase.state, purchase.refunded_minor) == (PurchaseState.REFUNDED, purchase.amount_minor)
    assert PaymentEvent.objects.get(source=source, event_type="payment.updated").detail.startswith("void")


def test_an_adyen_chargeback_takes_back_what_is_left(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("EUR", "Europe/Amsterdam")
    source = make_source(merchant, "adyen", store=store, account="NorthwindPOS")

    for name in ("authorisation", "capture", "chargeback"):
        deliver(source, name, django_capture_on_commit_callbacks)

    purchase = Purchase.objects.get(merchant=merchant)
    assert (purchase.amount_minor, purchase.refunded_minor) == (2300, 2300)
    assert PaymentEvent.objects.get(source=source, kind="chargeback").detail == "chargeback of 23.00 EUR"


def test_adyen_answers_accepted_as_text(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("EUR", "Europe/Amsterdam")
    source = make_source(merchant, "adyen", store=store, account="NorthwindPOS")

    answer = deliver(source, "authorisation", django_capture_on_commit_callbacks)

    assert answer.content == b"[accepted]"


def test_a_card_known_by_its_par_gains_the_alias_named_with_it(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("EUR", "Europe/Amsterdam")
    source = make_source(merchant, "adyen", store=store, account="NorthwindPOS")
    shopper = enrolled_shopper(merchant, ProviderCardId("adyen", "network", "par", "V0010013822254720181000000001"))

    deliver(source, "authorisation", django_capture_on_commit_callbacks)

    identities = CardIdentity.objects.filter(merchant=merchant, card__shopper=shopper)
    assert sorted(identities.values_list("kind", "linked_via")) == [
        ("alias", CardIdentityVia.SAME_PAYMENT),
        ("par", CardIdentityVia.ENROLMENT),
    ]


def test_shopify_orders_land_on_the_verified_customer_with_their_basket(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "shopify", account="northwind.myshopify.com")
    sources.location_map(source=source, location_id="655441491", store=store)
    shopper = ShopperFactory(merchant=merchant)
    ContactFactory(shopper=shopper, kind="email", value="john@example.com", is_verified=True)

    for name in ("orders_create_authorized_pos", "orders_paid", "refunds_create_partial", "refunds_create_rest"):
        assert deliver(source, name, django_capture_on_commit_callbacks).status_code == 200

    purchase = Purchase.objects.get(merchant=merchant)
    assert (purchase.shopper, purchase.store, purchase.state) == (shopper, store, PurchaseState.REFUNDED)
    assert (purchase.amount_minor, purchase.refunded_minor) == (2750, 2750)
    assert LineItem.objects.filter(purchase=purchase).count() == 2


def test_a_shopify_order_of_an_unverified_email_has_no_shopper(db, django_capture_on_commit_callbacks):
    merchant, _store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "shopify")
    shopper = ShopperFactory(merchant=merchant)
    ContactFactory(shopper=shopper, kind="email", value="bob.norman@example.com", is_verified=True)

    deliver(source, "orders_create_paid_online", django_capture_on_commit_callbacks)

    purchase = Purchase.objects.get(merchant=merchant)
    assert purchase.shopper is None  # Shopify says the address is not verified: no match on it
    assert "no shopper" in PaymentEvent.objects.get(source=source).detail


def api_client_for(merchant):
    from rest_framework.test import APIClient

    from merchants import services
    from merchants.permissions import ALL_API_SCOPES

    _key, secret = services.api_key_create(merchant=merchant, actor=None, name="Checkout", scopes=ALL_API_SCOPES)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def test_a_card_enrolled_at_checkout_is_recognised_in_a_square_store_purchase(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "square", account="6SSW7HV8K2ST5")
    sources.location_map(source=source, location_id="S8GWD5R9QB376", store=store)
    fingerprint = "sq-1-Hxim77tbdcbGejOejnoAklBVJed2YFLTmirfl8Q5XZzObTc8qY_U8RkwzoNL8dCEcQ"

    enrolment = api_client_for(merchant).post(
        "/api/v1/cards",
        {
            "card": {
                "id": "ccof:customer-card-id-ok",
                "last_four": "1111",
                "identities": [
                    {"provider": "square", "kind": "fingerprint", "value": fingerprint, "account": "6SSW7HV8K2ST5"}
                ],
            },
            "shopper": {"email": "ana@example.com", "email_verified": True},
        },
        format="json",
    )
    assert enrolment.status_code == 201, enrolment.content

    deliver(source, "payment_updated_completed", django_capture_on_commit_callbacks)

    purchase = Purchase.objects.get(merchant=merchant)
    assert str(purchase.shopper.public_id) == enrolment.json()["shopper"]["id"]


def test_the_same_fingerprint_in_another_stripe_account_is_another_card(db):
    from profiles.services.cards import card_by_identities

    merchant, _store = merchant_in("USD", "America/New_York")
    enrolled_shopper(merchant, ProviderCardId("stripe", "acct_A", "fingerprint", "Xt5EWLLDS7FJjR1c"))

    same = card_by_identities(
        merchant=merchant, identities=[ProviderCardId("stripe", "acct_A", "fingerprint", "Xt5EWLLDS7FJjR1c")]
    )
    other = card_by_identities(
        merchant=merchant, identities=[ProviderCardId("stripe", "acct_B", "fingerprint", "Xt5EWLLDS7FJjR1c")]
    )
    assert same is not None and other is None


def test_an_identity_of_another_shopper_s_card_is_a_conflict_at_enrolment(db):
    from core.errors import ConflictError

    merchant, _store = merchant_in("USD", "America/New_York")
    identity = ProviderCardId("stripe", "acct_A", "fingerprint", "Xt5EWLLDS7FJjR1c")
    enrolled_shopper(merchant, identity)

    with pytest.raises(ConflictError):
        enrolled_shopper(merchant, identity)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def test_a_fidel_timestamp_that_happens_to_pass_luhn_is_not_taken_for_a_card(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("GBP", "Europe/London")
    source = make_source(merchant, "fidel", account="06471dbe-a3c7-429e-8a18-16dc97e5cf35")
    sources.location_map(source=source, location_id="0ff99cfd-9e8b-48fe-af55-2519ffe1c0a4", store=store)
    now = timezone.now().replace(microsecond=0)
    while not _luhn_valid(str(int(now.timestamp() * 1000))):
        now += timezone.timedelta(milliseconds=1)

    answer = deliver(source, "transaction_auth", django_capture_on_commit_callbacks, now=now)

    assert answer.status_code == 200
    assert Purchase.objects.filter(merchant=merchant).count() == 1


def test_a_card_number_in_a_webhook_header_is_refused(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("GBP", "Europe/London")
    source = make_source(merchant, "fidel", account="06471dbe-a3c7-429e-8a18-16dc97e5cf35")

    with django_capture_on_commit_callbacks(execute=True):
        answer = signed_post(
            source,
            raw_payload("fidel", "transaction_auth"),
            headers={"fidel-message-id": "4111 1111 1111 1111"},
        )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "card_number_rejected"
    assert not PaymentEvent.objects.filter(source=source).exists()


@pytest.mark.parametrize("order", ["auth_first", "capture_first"])
def test_points_are_the_same_whichever_of_auth_and_capture_arrives_first(db, order, django_capture_on_commit_callbacks):
    from loyalty.models import Account
    from tests.loyalty.factories import ProgramFactory

    merchant, store = merchant_in("EUR", "Europe/Amsterdam")
    ProgramFactory(merchant=merchant)
    source = make_source(merchant, "adyen", store=store, account="NorthwindPOS")
    shopper = enrolled_shopper(merchant, ProviderCardId("adyen", "network", "par", "V0010013822254720181000000001"))
    steps = ["authorisation", "capture"] if order == "auth_first" else ["capture", "authorisation"]

    for name in steps:  # Adyen's capture names no card: only the authorisation tells whose purchase it is
        deliver(source, name, django_capture_on_commit_callbacks)

    purchase = Purchase.objects.get(merchant=merchant)
    assert (purchase.shopper, purchase.amount_minor, purchase.state) == (shopper, 2300, PurchaseState.CLEARED)
    from loyalty.tasks import settle_earnings

    settle_earnings()
    account = Account.objects.get(shopper=shopper)
    assert (account.points_balance, account.points_pending) == (23, 0)


def test_staff_confirm_that_an_unrecognised_card_is_a_shopper_s_linked_card(db, django_capture_on_commit_callbacks):
    from merchants.models import AuditEvent
    from payments.services import matching

    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "stripe", store=store, account="acct_northwind")
    shopper = ShopperFactory(merchant=merchant)
    shoppers.card_enroll(  # linked at the till before its Stripe fingerprint was known
        merchant=merchant,
        shopper=shopper,
        card=shoppers.CardInput(token="till-card-1", last_four="4242", scheme="visa", expiry_month=8, expiry_year=2029),
        linked_via="till",
    )
    other = enrolled_shopper(merchant)  # another card ending 4242 with no expiry
    deliver(source, "charge_captured", django_capture_on_commit_callbacks)
    event = PaymentEvent.objects.get(source=source)
    assert Purchase.objects.get(merchant=merchant).shopper is None

    suggestions = matching.card_suggestions(event=event)
    assert {card.shopper for card in suggestions} == {shopper, other}

    matching.card_confirm(event=event, card=shopper.cards.get(), actor=None)

    assert Purchase.objects.get(merchant=merchant).shopper == shopper
    assert matching.card_suggestions(event=event) == []
    assert AuditEvent.objects.filter(merchant=merchant, action="card_identity.confirmed").count() == 1
    # the next payment with that fingerprint lands on the shopper by itself
    body = raw_payload("stripe", "charge_succeeded_uncaptured")
    body = body.replace(b"ch_3MmlLrLkdIwHu7ix0snN0B15", b"ch_second").replace(b"evt_1NG8Du2eZvKYlo2CUI79vXWy", b"evt_2")
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(source, body)
    assert Purchase.objects.get(merchant=merchant, network_transaction_id="stripe:ch_second").shopper == shopper


def test_a_card_the_provider_already_names_otherwise_is_not_suggested(db, django_capture_on_commit_callbacks):
    from payments.services import matching

    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "stripe", store=store, account="acct_northwind")
    enrolled_shopper(merchant, ProviderCardId("stripe", "acct_northwind", "fingerprint", "another-fingerprint"))
    deliver(source, "charge_captured", django_capture_on_commit_callbacks)

    assert matching.card_suggestions(event=PaymentEvent.objects.get(source=source)) == []


def test_a_square_signature_over_another_url_says_the_url_may_be_wrong(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "square", account="6SSW7HV8K2ST5")
    from payments.providers import adapter_for

    body, headers = adapter_for("square").sign(
        raw_payload("square", "payment_created_approved"),
        url="https://elsewhere.example/hook",
        secret="square-signature-key",
        now=timezone.now(),
    )
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE")
    from django.test import Client

    answer = Client().post(f"/api/v1/webhooks/{source.public_id}", data=body, content_type="application/json", **extra)

    assert answer.status_code == 403
    assert "it must post to exactly http" in answer.json()["error"]["message"]


def test_a_fidel_timestamp_in_seconds_is_named_as_such(db):
    from django.test import Client

    from payments.api import webhook_url
    from payments.providers.fidel import fidel_signature

    merchant, _store = merchant_in("GBP", "Europe/London")
    source = make_source(merchant, "fidel", account="06471dbe-a3c7-429e-8a18-16dc97e5cf35")
    body = raw_payload("fidel", "transaction_auth")
    seconds = str(int(timezone.now().timestamp()))
    signature = fidel_signature("wh_test_fidel_secret", body, webhook_url(source), seconds)

    answer = Client().post(
        f"/api/v1/webhooks/{source.public_id}",
        data=body,
        content_type="application/json",
        HTTP_X_FIDEL_SIGNATURE=signature,
        HTTP_X_FIDEL_TIMESTAMP=seconds,
        HTTP_FIDEL_MESSAGE_ID="m1",
    )

    assert answer.status_code == 401
    assert "in seconds; Fidel sends Unix milliseconds" in answer.json()["error"]["message"]


def test_a_card_not_present_fidel_payment_is_online_even_at_a_mapped_location(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("GBP", "Europe/London")
    source = make_source(merchant, "fidel", account="06471dbe-a3c7-429e-8a18-16dc97e5cf35")
    sources.location_map(source=source, location_id="0ff99cfd-9e8b-48fe-af55-2519ffe1c0a4", store=store)
    body = raw_payload("fidel", "transaction_auth").replace(b'"cardPresent": true', b'"cardPresent": false')
    assert b'"cardPresent": false' in body

    with django_capture_on_commit_callbacks(execute=True):
        signed_post(source, body, headers={"fidel-message-id": "m-online"})

    purchase = Purchase.objects.get(merchant=merchant)
    assert (purchase.channel, purchase.store) == ("online", store)


def test_an_online_payment_at_an_unmapped_location_is_recorded_and_the_location_listed(
    db, django_capture_on_commit_callbacks
):
    merchant, _store = merchant_in("GBP", "Europe/London")
    source = make_source(merchant, "fidel", account="06471dbe-a3c7-429e-8a18-16dc97e5cf35")
    body = raw_payload("fidel", "transaction_auth").replace(b'"cardPresent": true', b'"cardPresent": false')

    with django_capture_on_commit_callbacks(execute=True):
        signed_post(source, body, headers={"fidel-message-id": "m-online"})

    purchase = Purchase.objects.get(merchant=merchant)
    assert (purchase.channel, purchase.store) == ("online", None)
    assert LocationMapping.objects.filter(source=source, location_id="0ff99cfd-9e8b-48fe-af55-2519ffe1c0a4").exists()
