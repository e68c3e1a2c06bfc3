from celery import shared_task
from django.utils import timezone

from core.idempotency import RETENTION
from core.models import IdempotencyRecord


@shared_task(name="core.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Replays are promised for 24 hours; older records only take space."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
