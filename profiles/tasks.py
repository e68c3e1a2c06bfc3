"""Celery entry points for profiles: take ids, call one service, safe to run twice."""

import structlog
from celery import shared_task
from django.db import transaction

from merchants.models import Merchant
from profiles.services import rollups, signup

logger = structlog.get_logger(__name__)


@shared_task(name="profiles.reconcile_rollups")
def reconcile_rollups() -> dict[str, int]:
    """Nightly: rebuild every merchant's rollups from raw rows and report any drift."""
    drift_by_merchant: dict[str, int] = {}
    for merchant in Merchant.objects.order_by("pk"):
        with transaction.atomic():
            drift = rollups.rollups_rebuild(merchant=merchant)
        drift_by_merchant[merchant.slug] = drift.total
        if drift.total:
            logger.warning(
                "rollup_drift_repaired",
                merchant=merchant.slug,
                shopper_rows=drift.shopper_rows,
                store_hour_rows=drift.store_hour_rows,
            )
    return drift_by_merchant


@shared_task(
    name="profiles.send_email_confirmation",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=6,
)
def send_email_confirmation(contact_id: int, language: str, hold_id: int | None = None) -> bool:
    """Mail a shopper the link that confirms their address (see signup.email_confirmation_send)."""
    return signup.email_confirmation_send(contact_id=contact_id, language=language, hold_id=hold_id)
