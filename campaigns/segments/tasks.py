"""Celery entry points for segments: take ids, call one service."""

from celery import shared_task

from campaigns.segments import services
from merchants.models import Merchant


@shared_task(name="campaigns.refresh_shopper_scores")
def refresh_shopper_scores(merchant_id: int) -> int | None:
    """Recompute one merchant's lifecycle stages and RFM scores; the number of shoppers scored."""
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return None
    return services.scores_refresh(merchant=merchant).scored_shoppers


@shared_task(name="campaigns.refresh_all_shopper_scores")
def refresh_all_shopper_scores() -> int:
    """Periodic: one task per merchant, so a large merchant does not hold up the others."""
    merchant_ids = list(Merchant.objects.order_by("pk").values_list("pk", flat=True))
    for merchant_id in merchant_ids:
        refresh_shopper_scores.delay(merchant_id)
    return len(merchant_ids)
