from celery import shared_task

from outbound.services import delivery


@shared_task(name="outbound.endpoint_drain", ignore_result=True)
def endpoint_drain(endpoint_id: int) -> int:
    """Send what is due for one endpoint; a second run while one drains returns at once."""
    return delivery.endpoint_drain(endpoint_id=endpoint_id).sent


@shared_task(name="outbound.drain_due", ignore_result=True)
def drain_due() -> int:
    """Every minute: endpoints whose retries have come due (or whose drain was lost) are drained again."""
    endpoint_ids = delivery.endpoints_due()
    for endpoint_id in endpoint_ids:
        endpoint_drain.delay(endpoint_id)
    return len(endpoint_ids)
