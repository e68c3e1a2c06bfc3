"""Recording visits to a store (Wi-Fi, geofence, the till)."""

from datetime import datetime

from django.db import transaction

from core.errors import ApplicationError
from merchants.models import Merchant, Store
from profiles.models import Shopper, Visit


@transaction.atomic
def visit_record(
    *, merchant: Merchant, store: Store, occurred_at: datetime, source: str, shopper: Shopper | None = None
) -> Visit:
    if store.merchant_id != merchant.pk:
        raise ApplicationError("No such store.", code="not_found", field="store")
    if shopper is not None and shopper.merchant_id != merchant.pk:
        raise ApplicationError("No such shopper.", code="not_found", field="shopper")
    return Visit.objects.create(merchant=merchant, store=store, occurred_at=occurred_at, source=source, shopper=shopper)
