"""Celery entry points for insights: take ids, call one service, safe to run twice."""

from celery import shared_task

from insights import services as insights
from merchants.models import Merchant


@shared_task(name="insights.refresh_insights")
def refresh_insights(merchant_id: int, force: bool = False) -> bool:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return False
    return insights.insights_refresh(merchant=merchant, force=force)


@shared_task(name="insights.refresh_all_insights")
def refresh_all_insights() -> int:
    """Periodic: refresh each merchant whose rollups, calendar day or thresholds moved since its snapshot."""
    return sum(insights.insights_refresh(merchant=merchant) for merchant in Merchant.objects.order_by("pk"))
