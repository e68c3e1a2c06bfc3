"""Celery entry points for segments: take ids, call one service."""

from celery import shared_task

from campaigns.segments import scores
from merchants.models import Merchant


@shared_task(name="campaigns.refresh_shopper_scores")
def refresh_shopper_scores(merchant_id: int, resume: bool = True) -> int | None:
    """Sweep one merchant: new cut points, every shopper rescored in chunks (a sweep cut short resumes)."""
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return None
    return scores.scores_refresh(merchant=merchant, resume=resume).scored_shoppers


@shared_task(name="campaigns.refresh_all_shopper_scores")
def refresh_all_shopper_scores() -> int:
    """Daily: one sweep task per merchant, so a large merchant does not hold up the others."""
    merchant_ids = list(Merchant.objects.order_by("pk").values_list("pk", flat=True))
    for merchant_id in merchant_ids:
        refresh_shopper_scores.delay(merchant_id)
    return len(merchant_ids)


@shared_task(name="campaigns.update_shopper_scores")
def update_shopper_scores(merchant_id: int) -> int | None:
    """Rescore one merchant's shoppers changed since the last pass; how many were looked at."""
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return None
    return scores.scores_update(merchant=merchant).shoppers


@shared_task(name="campaigns.update_all_shopper_scores")
def update_all_shopper_scores() -> int:
    """Every minute: the incremental pass of every merchant (a quiet merchant costs one index probe)."""
    return sum(
        scores.scores_update(merchant=merchant).shoppers for merchant in Merchant.objects.order_by("pk").iterator()
    )
