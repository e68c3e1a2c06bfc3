"""Stripe's documented events through the webhook URL: verified, stored once, processed into purchases."""

import pytest
from django.utils import timezone

from payments.models import DeliveryOutcome, EventStatus, PaymentEvent, WebhookDelivery
from profiles.models import Purchase, PurchaseState
from profiles.services import shoppers
from profiles.services.cards import ProviderCardId
from tests.factories import MerchantFactory, StoreFactory
from tests.payments.fixtures import raw_payload
from tests.payments.helpers import make_source, signed_post
from tests.profiles.factories import ShopperFactory

FINGERPRINT = "Xt5EWLLDS7FJjR1c"  # the card_present fingerprint in the payloads
ACCOUNT = "acct_northwind"


@pytest.fixture
def us_merchant(db):
    return MerchantFactory(name="Northwind US", slug="northwind-us", currency="USD", timezone="America/New_York")


@pytest.fixture
def us_store(us_merchant):
    return StoreFactory(merchant=us_merchant, name="Fifth Avenue", timezone="America/New_York")


@pytest.fixture
def source(us_merchant, us_store):
    return make_source(us_merchant, "stripe", store=us_store, account=ACCOUNT)


@pytest.fixture
def shopper_with_card(us_merchant):
    shopper = ShopperFactory(merchant=us_merchant)
    shoppers.card_enroll(
        merchant=us_merchant,
        shopper=shopper,
        card=shoppers.CardInput(
            token="pm_checkout_1",
            last_four="4242",
            scheme="visa",
            identities=(ProviderCardId("stripe", ACCOUNT, "fingerprint", FINGERPRINT),),
        ),
        linked_via="checkout",
    )
    return shopper


def deliver(source, name, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return signed_post(source, raw_payload("stripe", name), **kwargs)


def test_auth_capture_partial_refund_refund_land_on_the_card_s_shopper(
    source, shopper_with_card, us_store, django_capture_on_commit_callbacks
):
    answer = deliver(source, "charge_succeeded_uncaptured", django_capture_on_commit_callbacks)
    assert answer.status_code == 200
    assert answer.json() == {"received": True}
    purchase = Purchase.objects.get(merchant=source.merchant)
    assert (purchase.state, purchase.amount_minor, purchase.shopper, purchase.store) == (
        PurchaseState.AUTHORISED,
        2500,
        shopper_with_card,
        us_store,
    )

    deliver(source, "charge_captured", django_capture_on_commit_callbacks)
    purchase.refresh_from_db()
    assert (purchase.state, purchase.amount_minor) == (PurchaseState.CLEARED, 2300)

    deliver(source, "charge_refunded_partial", django_capture_on_commit_callbacks)
    purchase.refresh_from_db()
    assert (purchase.refunded_minor, purchase.state) == (500, PurchaseState.CLEARED)

    deliver(source, "charge_refunded_full", django_capture_on_commit_callbacks)
    purchase.refresh_from_db()
    assert (purchase.refunded_minor, purchase.state) == (2300, PurchaseState.REFUNDED)
    assert Purchase.objects.filter(merchant=source.merchant).count() == 1
    log = PaymentEvent.objects.filter(source=source).order_by("pk")
    assert [event.status for event in log] == [EventStatus.PROCESSED] * 4


def test_a_retried_delivery_is_accepted_and_counted_once(source, shopper_with_card, django_capture_on_commit_callbacks):
    deliver(source, "charge_captured", django_capture_on_commit_callbacks)
    deliver(source, "charge_refunded_partial", django_capture_on_commit_callbacks)
    again = deliver(source, "charge_refunded_partial", django_capture_on_commit_callbacks)

    assert again.status_code == 200
    purchase = Purchase.objects.get(merchant=source.merchant)
    assert purchase.refunded_minor == 500
    assert PaymentEvent.objects.filter(source=source).count() == 2
    assert WebhookDelivery.objects.filter(source=source).count() == 3


def test_out_of_order_refund_waits_for_its_purchase_then_applies(
    source, shopper_with_card, django_capture_on_commit_callbacks
):
    deliver(source, "charge_refunded_partial", django_capture_on_commit_callbacks)
    refund = PaymentEvent.objects.get(source=source)
    assert refund.status == EventStatus.WAITING
    assert not Purchase.objects.filter(merchant=source.merchant).exists()

    deliver(source, "charge_captured", django_capture_on_commit_callbacks)  # capture before its own auth
    deliver(source, "charge_succeeded_uncaptured", django_capture_on_commit_callbacks)

    purchase = Purchase.objects.get(merchant=source.merchant)
    assert (purchase.amount_minor, purchase.refunded_minor, purchase.state) == (2300, 500, PurchaseState.CLEARED)
    refund.refresh_from_db()
    assert refund.status == EventStatus.PROCESSED


def test_a_wrong_signature_is_refused_with_400_and_nothing_is_stored_but_the_refusal(
    source, django_capture_on_commit_callbacks
):
    answer = deliver(source, "charge_captured", django_capture_on_commit_callbacks, secret="whsec_someone_else")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_signature"
    assert not PaymentEvent.objects.filter(source=source).exists()
    delivery = WebhookDelivery.objects.get(source=source)
    assert delivery.outcome == DeliveryOutcome.REJECTED and delivery.body == ""


def test_a_stale_signature_is_refused(source, django_capture_on_commit_callbacks):
    stale = timezone.now() - timezone.timedelta(seconds=301)
    answer = deliver(source, "charge_captured", django_capture_on_commit_callbacks, now=stale)

    assert answer.status_code == 400
    assert "tolerance" in answer.json()["error"]["message"]


def test_a_rotated_secret_verifies_during_its_overlap_only(source, django_capture_on_commit_callbacks):
    from payments.services import sources

    sources.secret_rotate(source=source, secret="whsec_new", overlap=timezone.timedelta(hours=1))

    old = deliver(source, "charge_succeeded_uncaptured", django_capture_on_commit_callbacks)
    new = deliver(source, "charge_captured", django_capture_on_commit_callbacks, secret="whsec_new")
    assert (old.status_code, new.status_code) == (200, 200)

    sources.secret_rotate(source=source, secret="whsec_newer", overlap=timezone.timedelta(0))
    retired = deliver(source, "charge_refunded_partial", django_capture_on_commit_callbacks, secret="whsec_new")
    assert retired.status_code == 400


def test_an_unknown_event_type_is_accepted_and_logged_as_ignored(source, django_capture_on_commit_callbacks):
    answer = deliver(source, "customer_created", django_capture_on_commit_callbacks)

    assert answer.status_code == 200
    event = PaymentEvent.objects.get(source=source)
    assert event.status == EventStatus.IGNORED and event.detail


def test_a_card_number_anywhere_is_refused_and_never_stored(source, django_capture_on_commit_callbacks):
    body = raw_payload("stripe", "charge_captured").replace(
        b'"description": null', b'"description": "4111 1111 1111 1111"'
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer = signed_post(source, body)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "card_number_rejected"
    assert answer.json()["error"]["fields"] == {"data.object.description": [answer.json()["error"]["message"]]}
    assert not PaymentEvent.objects.filter(source=source).exists()
    assert not WebhookDelivery.objects.filter(source=source, body__contains="4111").exists()


def test_a_paused_source_holds_events_until_it_resumes(source, shopper_with_card, django_capture_on_commit_callbacks):
    from payments.services import sources

    sources.source_pause(source=source)
    deliver(source, "charge_captured", django_capture_on_commit_callbacks)
    assert PaymentEvent.objects.get(source=source).status == EventStatus.PAUSED
    assert not Purchase.objects.filter(merchant=source.merchant).exists()

    with django_capture_on_commit_callbacks(execute=True):
        sources.source_resume(source=source)

    assert Purchase.objects.get(merchant=source.merchant).amount_minor == 2300


def test_an_unknown_source_is_a_json_404(db, client):
    answer = client.post(
        "/api/v1/webhooks/00000000-0000-0000-0000-000000000000", data=b"{}", content_type="application/json"
    )
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")


def test_an_authorisation_never_captured_expires_and_its_purchase_is_voided(
    source, shopper_with_card, django_capture_on_commit_callbacks
):
    from payments.services.processing import authorisations_expire

    deliver(source, "charge_succeeded_uncaptured", django_capture_on_commit_callbacks)
    purchase = Purchase.objects.get(merchant=source.merchant)

    assert authorisations_expire(now=purchase.occurred_at + timezone.timedelta(days=6)) == 0
    assert authorisations_expire(now=purchase.occurred_at + timezone.timedelta(days=8)) == 1

    purchase.refresh_from_db()
    assert (purchase.state, purchase.refunded_minor) == (PurchaseState.REFUNDED, 2500)
    expiry = PaymentEvent.objects.get(source=source, event_type="authorisation.expired")
    assert expiry.detail == "void of 25.00 USD: authorisation not captured within 7 days"
    assert authorisations_expire(now=purchase.occurred_at + timezone.timedelta(days=9)) == 0


def test_a_body_that_is_not_utf8_json_is_a_400_not_a_crash(source, django_capture_on_commit_callbacks):
    from django.test import Client

    body = raw_payload("stripe", "charge_captured").decode().encode("utf-16")
    answer = Client().post(f"/api/v1/webhooks/{source.public_id}", data=body, content_type="application/json")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_payload"
    assert not PaymentEvent.objects.filter(source=source).exists()
