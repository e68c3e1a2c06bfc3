"""Celery entry points for campaigns: take ids, call services, safe to run twice (the outbox is unique)."""

import structlog
from celery import shared_task
from django.db import OperationalError

from campaigns.services import broadcasts, holdout, launch, sending, triggers

logger = structlog.get_logger(__name__)


def _send_in_batches(message_ids: list[int]) -> None:
    for start in range(0, len(message_ids), sending.BATCH_SIZE):
        sending.outbox_send(message_ids=message_ids[start : start + sending.BATCH_SIZE])


@shared_task(name="campaigns.evaluate_purchase", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def evaluate_purchase(purchase_id: int) -> int:
    """A purchase was recorded (queued after its commit): real-time campaigns decide, then send at once."""
    made = triggers.purchase_triggers_evaluate(purchase_id=purchase_id)
    _send_in_batches(made)
    return len(made)


@shared_task(name="campaigns.start_due_broadcasts")
def start_due_broadcasts() -> int:
    """Every minute (and at launch): claim due broadcast runs and hand out their chunks."""
    started = broadcasts.broadcast_runs_start()
    for run in started:
        for index in range(run.chunks):
            write_broadcast_chunk.delay(run.run_id, index)
    return len(started)


@shared_task(
    name="campaigns.write_broadcast_chunk", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def write_broadcast_chunk(run_id: int, index: int) -> int:
    made = broadcasts.broadcast_chunk_write(run_id=run_id, index=index)
    _send_in_batches(made)
    return len(made)


@shared_task(name="campaigns.send_messages")
def send_messages(message_ids: list[int]) -> int:
    return sending.outbox_send(message_ids=message_ids).sent


@shared_task(name="campaigns.send_due_messages")
def send_due_messages() -> int:
    """Every minute: a dead worker's claims, messages whose quiet hours ended (or whose task was lost), lost chunks.

    The claims are released first, so that what they re-queue is handed out in this same run.
    """
    released = sending.outbox_release_stale()
    if released.requeued or released.interrupted:
        logger.warning("campaign_claims_released", requeued=released.requeued, interrupted=released.interrupted)
    launch.campaigns_end_due()
    for run_id, index in broadcasts.broadcast_runs_resume():
        write_broadcast_chunk.delay(run_id, index)
    due = sending.outbox_due_ids()
    for start in range(0, len(due), sending.BATCH_SIZE):
        send_messages.delay(due[start : start + sending.BATCH_SIZE])
    return len(due)


@shared_task(name="campaigns.scan_lifecycle")
def scan_lifecycle() -> int:
    made = triggers.lifecycle_scan()
    for start in range(0, len(made), sending.BATCH_SIZE):
        send_messages.delay(made[start : start + sending.BATCH_SIZE])
    return len(made)


@shared_task(name="campaigns.scan_visits")
def scan_visits() -> int:
    """Every minute: new visits, a batch at a time, until caught up (at most ten batches a run)."""
    total = 0
    for _batch in range(10):
        scanned = triggers.visits_scan()
        _send_in_batches(scanned.message_ids)
        total += len(scanned.message_ids)
        if scanned.visits < triggers.VISIT_SCAN_LIMIT:
            break
    return total


@shared_task(name="campaigns.draw_program_holdouts")
def draw_program_holdouts() -> int:
    """Each quarter's program holdout, drawn on its first day (and caught up by any later run)."""
    return holdout.program_holdouts_draw_due()
