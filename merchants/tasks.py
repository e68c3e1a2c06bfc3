from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="merchants.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Sessions of signed-out or timed-out staff pile up otherwise."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
