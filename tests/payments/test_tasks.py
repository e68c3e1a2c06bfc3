"""The worker's safety nets for payment events: lost tasks, the retention of bodies, erasure."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import PaymentEvent, WebhookDelivery
from payments.tasks import process_stranded_events, retention_sweep
from profiles.models import Purchase
from profiles.services import identity
from profiles.services.cards import ProviderCardId
from tests.payments.fixtures import raw_payload
from tests.payments.helpers import make_source, signed_post
from tests.payments.test_provider_webhooks import enrolled_shopper, merchant_in

pytestmark = pytest.mark.django_db

FINGERPRINT = ProviderCardId("stripe", "acct_1", "fingerprint", "Xt5EWLLDS7FJjR1c")


def test_events_whose_task_was_lost_are_processed_once(merchant, store):
    source = make_source(merchant, "generic")
    body = {
        "id": "evt-lost",
        "type": "transaction.auth",
        "transaction": {
            "id": "txn-lost",
            "amount": "12.00",
            "currency": "EUR",
            "datetime": (timezone.now() - timedelta(hours=1)).isoformat(),
            "cardPresent": True,
            "location": {"id": "LOC-1"},
        },
    }
    signed_post(source, json.dumps(body).encode())  # its on-commit task never runs here: lost
    PaymentEvent.all_merchants.filter(source=source).update(received_at=timezone.now() - timedelta(minutes=10))

    assert process_stranded_events() == 1
    assert Purchase.all_merchants.get(network_transaction_id="txn-lost").amount_minor == 1200
    assert process_stranded_events() == 0


def test_bodies_go_after_the_retention_and_events_keep_only_the_figures(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "stripe", store=store, account="acct_1")
    enrolled_shopper(merchant, FINGERPRINT)
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(source, raw_payload("stripe", "charge_captured"))
    assert retention_sweep() == 0  # fresh: kept

    WebhookDelivery.all_merchants.update(received_at=timezone.now() - timedelta(days=31))
    PaymentEvent.all_merchants.update(received_at=timezone.now() - timedelta(days=31))
    assert retention_sweep() == 1

    event = PaymentEvent.objects.get(source=source)
    assert event.data["cards"] == [] and event.data["amount_minor"] == 2300
    assert WebhookDelivery.objects.get(source=source).body == ""
    assert Purchase.objects.get(merchant=merchant).amount_minor == 2300
    assert retention_sweep() == 0


def test_an_erased_shopper_s_payment_events_forget_the_card(db, django_capture_on_commit_callbacks):
    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "stripe", store=store, account="acct_1")
    shopper = enrolled_shopper(merchant, FINGERPRINT)
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(source, raw_payload("stripe", "charge_captured"))

    identity.shopper_erase(merchant=merchant, shopper=shopper, actor=None, reason="Asked by the shopper")
    assert retention_sweep() == 1

    assert PaymentEvent.objects.get(source=source).data["cards"] == []
    assert "Xt5EWLLDS7FJjR1c" not in WebhookDelivery.objects.get(source=source).body
