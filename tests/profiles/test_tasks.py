from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.models import NetworkEvent, Purchase, ShopperRollup
from profiles.services import network
from profiles.services.purchases import PurchaseInput, purchase_record
from profiles.tasks import process_pending_network_events, reconcile_rollups
from tests.profiles.factories import CardFactory

pytestmark = pytest.mark.django_db


def test_nightly_reconciliation_repairs_and_reports_drift(merchant, other_merchant, store):
    card = CardFactory(shopper__merchant=merchant)
    purchase_record(
        merchant=merchant,
        data=PurchaseInput(
            external_id="n-1",
            amount_minor=700,
            currency="EUR",
            occurred_at=timezone.now() - timedelta(days=1),
            channel="in_store",
            store=store,
            card_token=card.token,
        ),
    )
    ShopperRollup.objects.filter(shopper=card.shopper).update(purchase_count=5)

    report = reconcile_rollups()

    assert report[merchant.slug] > 0
    assert report[other_merchant.slug] == 0
    assert ShopperRollup.objects.get(shopper=card.shopper).purchase_count == 1
    assert reconcile_rollups()[merchant.slug] == 0


def test_pending_events_whose_task_was_lost_are_processed(merchant, store):
    connection = network.network_connection_create(merchant=merchant, name="feed")
    event = NetworkEvent.objects.create(
        merchant=merchant,
        connection=connection,
        event_id="evt-lost",
        event_type="transaction.auth",
        payload={
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
        },
    )
    NetworkEvent.all_merchants.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(minutes=10))

    assert process_pending_network_events() == 1
    assert Purchase.all_merchants.get(network_transaction_id="txn-lost").amount_minor == 1200
    assert process_pending_network_events() == 0
