"""Celery entry points for payments: take ids, call one service, safe to run twice."""

import structlog
from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from payments.models import EventStatus, PaymentEvent
from payments.services import processing

logger = structlog.get_logger(__name__)

_RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 300, "max_retries": 8}


@shared_task(name="payments.process_events", **_RETRY)
def process_payment_events(event_ids: list[int]) -> int:
    """The events of one delivery, in the order the provider sent them."""
    done = 0
    for event_id in event_ids:
        done += processing.event_process(event_id=event_id) is not None
    return done


@shared_task(name="payments.replay_events", **_RETRY)
def replay_payment_events(event_ids: list[int]) -> int:
    done = 0
    for event_id in event_ids:
        done += processing.event_process(event_id=event_id, replay=True) is not None
    return done


@shared_task(name="payments.process_stranded_events")
def process_stranded_events() -> int:
    """A safety net: events, of every merchant, whose queued task was lost are picked up here."""
    stale = timezone.now() - timezone.timedelta(minutes=2)
    stranded = list(
        PaymentEvent.all_merchants.filter(status=EventStatus.RECEIVED, received_at__lt=stale)
        .order_by("received_at")
        .values_list("pk", flat=True)[:5000]
    )
    for event_id in stranded:
        processing.event_process(event_id=event_id)
    return len(stranded)


@shared_task(name="payments.expire_authorisations")
def expire_authorisations() -> int:
    voided = processing.authorisations_expire()
    if voided:
        logger.info("authorisations expired", voided=voided)
    return voided


@shared_task(name="payments.retention_sweep")
def retention_sweep() -> int:
    from payments.services import retention

    return retention.erased_shoppers_scrub() + retention.bodies_expire()
