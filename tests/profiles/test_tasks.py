from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.models import ShopperRollup
from profiles.services.purchases import PurchaseInput, purchase_record
from profiles.tasks import reconcile_rollups
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
