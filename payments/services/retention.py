"""What payment events keep, and for how long.

A delivery's body is kept as sent so a failed event can be replayed after a fix; it holds what
the provider sent about the shopper (a card fingerprint and last digits, a Shopify customer's
name and email). So:

- after `PAYMENT_BODY_RETENTION_DAYS` (30 by default) the body and headers go, and each event
  keeps only what the merchant's figures are made of (ids, kind, amount, currency, time, location),
  not the card or customer it named;
- a shopper's erasure reaches their purchases' events within the hour, whatever their age.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from payments.models import PaymentEvent, WebhookDelivery
from profiles.models import ShopperStatus

_PERSONAL = ~Q(data__cards=[]) | ~Q(data__customer=None)


def _scrub(events: QuerySet[PaymentEvent]) -> int:
    scrubbed = 0
    for event in events.select_for_update(of=("self",), skip_locked=True).only("pk", "data", "delivery_id")[:2000]:
        event.data = {**event.data, "cards": [], "customer": None}
        event.save(update_fields=["data"])
        if event.delivery_id is not None:
            WebhookDelivery.all_merchants.filter(pk=event.delivery_id).update(body="", headers={})
        scrubbed += 1
    return scrubbed


@transaction.atomic
def erased_shoppers_scrub() -> int:
    """Events of erased shoppers' purchases keep no card or customer, and their bodies go. Of every merchant."""
    return _scrub(PaymentEvent.all_merchants.filter(purchase__shopper__status=ShopperStatus.ERASED).filter(_PERSONAL))


@transaction.atomic
def bodies_expire(*, now: datetime | None = None) -> int:
    """Past the retention, bodies and headers go and events keep no card or customer. Of every merchant."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PAYMENT_BODY_RETENTION_DAYS)
    WebhookDelivery.all_merchants.filter(received_at__lt=cutoff).exclude(body="", headers={}).update(
        body="", headers={}
    )
    return _scrub(PaymentEvent.all_merchants.filter(received_at__lt=cutoff).filter(_PERSONAL))
