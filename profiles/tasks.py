"""Celery entry points for profiles: take ids, call one service, safe to run twice."""

import structlog
from celery import shared_task
from django.db import OperationalError, transaction
from django.utils import timezone

from merchants.models import Merchant
from profiles.models import NetworkEvent, NetworkEventStatus
from profiles.services import network, rollups, signup

logger = structlog.get_logger(__name__)


@shared_task(
    name="profiles.process_network_event",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def process_network_event(event_id: int) -> str | None:
    event = network.network_event_process(event_id=event_id)
    return event.status if event is not None else None


@shared_task(name="profiles.process_pending_network_events")
def process_pending_network_events() -> int:
    """A safety net: events, of every merchant, whose queued task was lost are picked up here."""
    stale = timezone.now() - timezone.timedelta(minutes=2)
    pending = list(
        NetworkEvent.all_merchants.filter(status=NetworkEventStatus.PENDING, received_at__lt=stale)
        .order_by("received_at")
        .values_list("pk", flat=True)[:5000]
    )
    for event_id in pending:
        network.network_event_process(event_id=event_id)
    return len(pending)


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
def send_email_confirmation(contact_id: int, language: str) -> bool:
    """Mail a shopper the link that confirms their address; does nothing once it is confirmed."""
    return signup.email_confirmation_send(contact_id=contact_id, language=language)
