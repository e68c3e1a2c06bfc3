"""Writes of exports: the audit trail of every export, and the background jobs that write large ones to files.

An export of up to `STREAM_LIMIT_ROWS` rows streams straight to the browser; a larger one is written by
a Celery task to the default storage (never a public URL: the download view checks merchant and role)
and its file is deleted `FILE_LIFETIME` after it is ready.
"""

import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.csv_export import csv_lines
from exports import selectors
from exports.models import ExportJob, ExportStatus
from exports.selectors import ExportFilters
from merchants.models import Merchant, MerchantAPIKey, User
from merchants.services import audit_event_record

logger = structlog.get_logger(__name__)

# Above this many rows an export from the page runs in the background. At the rate measured by
# benchmarks/export_csv.py (tens of thousands of rows a second on a loaded two-core machine) this is a few
# seconds of a web worker: longer than that, the worker is better freed and the person given a progress bar.
STREAM_LIMIT_ROWS = 50_000
FILE_LIFETIME = timedelta(days=7)
# Progress is written every this many rows; a running job silent for STALE_AFTER lost its worker.
PROGRESS_EVERY_ROWS = 10_000
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class ExportStart:
    """What an export request became: rows to stream now (`job` is None), or a background job."""

    filters: ExportFilters
    row_count: int | None
    job: ExportJob | None = None


def _audit(
    *,
    merchant: Merchant,
    actor: User | None,
    action: str,
    filters: ExportFilters,
    api_key: MerchantAPIKey | None = None,
    **detail: object,
) -> None:
    if api_key is not None:
        detail["api_key"] = api_key.prefix
    audit_event_record(
        merchant=merchant, actor=actor, action=action, subject=filters.kind, **filters.describe(), **detail
    )


@transaction.atomic
def export_stream_record(
    *, merchant: Merchant, filters: ExportFilters, actor: User | None = None, api_key: MerchantAPIKey | None = None
) -> int:
    """Log an export about to stream (who, what, which filters, how many rows); the number of rows."""
    row_count = selectors.export_row_count(merchant=merchant, filters=filters)
    _audit(
        merchant=merchant,
        actor=actor,
        action="data.exported",
        filters=filters,
        api_key=api_key,
        rows=row_count,
        delivery="api" if api_key is not None else "download",
    )
    return row_count


@transaction.atomic
def export_start(*, merchant: Merchant, actor: User, filters: ExportFilters) -> ExportStart:
    """An export asked for on the page: streamed now when small, else queued as a background job."""
    if selectors.export_row_count(merchant=merchant, filters=filters, limit=STREAM_LIMIT_ROWS) <= STREAM_LIMIT_ROWS:
        return ExportStart(
            filters=filters, row_count=export_stream_record(merchant=merchant, filters=filters, actor=actor)
        )

    job = ExportJob.objects.create(
        merchant=merchant,
        kind=filters.kind,
        date_from=filters.date_from,
        date_to=filters.date_to,
        store=filters.store,
        requested_by=actor,
    )
    _audit(merchant=merchant, actor=actor, action="data.export_started", filters=filters, job=job.pk)
    from exports.tasks import run_export

    transaction.on_commit(lambda: run_export.delay(job.pk))
    return ExportStart(filters=filters, row_count=None, job=job)


def _claim(job_id: int, now: datetime) -> ExportJob | None:
    """Take the job for this worker: a queued one, or a running one whose worker stopped reporting."""
    claimable = Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING, progress_at__lt=now - STALE_AFTER)
    claimed = ExportJob.all_merchants.filter(claimable, pk=job_id).update(
        status=ExportStatus.RUNNING, started_at=now, progress_at=now, rows_written=0
    )
    if not claimed:
        return None
    return ExportJob.all_merchants.select_related("merchant", "store").get(pk=job_id)


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write a queued job's CSV to the default storage, reporting progress; None when there is nothing to do.

    Safe to run twice: only one run claims the job. Not one transaction: progress must be seen while it runs.
    """
    job = _claim(job_id, timezone.now())
    if job is None:
        return None
    merchant = job.merchant
    filters = ExportFilters(kind=job.kind, date_from=job.date_from, date_to=job.date_to, store=job.store)
    jobs = ExportJob.objects.for_merchant(merchant).filter(pk=job.pk)
    try:
        row_count = selectors.export_row_count(merchant=merchant, filters=filters)
        jobs.update(row_count=row_count)
        written = 0
        with tempfile.TemporaryFile() as buffer:
            lines = csv_lines(selectors.export_rows(merchant=merchant, filters=filters), spreadsheet_bom=True)
            for index, line in enumerate(lines):
                buffer.write(line.encode())
                # the first line is the BOM, the second the header: rows follow
                written = max(0, index - 1)
                if written and written % PROGRESS_EVERY_ROWS == 0:
                    jobs.update(rows_written=written, progress_at=timezone.now())
            size = buffer.tell()
            buffer.seek(0)
            name = default_storage.save(
                f"exports/{merchant.pk}/{uuid.uuid4().hex}/{filters.filename()}.csv", File(buffer)
            )
    except Exception as error:
        logger.exception("export_failed", job=job.pk, merchant=merchant.slug)
        jobs.update(status=ExportStatus.FAILED, error=f"The export stopped ({type(error).__name__}). Try again.")
        return ExportJob.objects.for_merchant(merchant).get(pk=job.pk)

    now = timezone.now()
    with transaction.atomic():
        jobs.update(
            status=ExportStatus.DONE,
            rows_written=written,
            file_name=name,
            size_bytes=size,
            finished_at=now,
            progress_at=now,
            expires_at=now + FILE_LIFETIME,
        )
        _audit(
            merchant=merchant,
            actor=job.requested_by,
            action="data.exported",
            filters=filters,
            rows=written,
            delivery="background",
            job=job.pk,
        )
    return ExportJob.objects.for_merchant(merchant).get(pk=job.pk)


@transaction.atomic
def export_job_download_record(*, job: ExportJob, actor: User) -> None:
    filters = ExportFilters(kind=job.kind, date_from=job.date_from, date_to=job.date_to, store=job.store)
    _audit(
        merchant=job.merchant,
        actor=actor,
        action="data.export_downloaded",
        filters=filters,
        rows=job.rows_written,
        job=job.pk,
    )


def export_files_expire(*, now: datetime | None = None) -> int:
    """Delete the files of every merchant's exports ready for longer than FILE_LIFETIME; how many."""
    now = now or timezone.now()
    expired = 0
    due = ExportJob.all_merchants.filter(status=ExportStatus.DONE, expires_at__lte=now).order_by("pk")
    for job_id, file_name in list(due.values_list("pk", "file_name")):
        if file_name:
            default_storage.delete(file_name)
        expired += ExportJob.all_merchants.filter(pk=job_id, status=ExportStatus.DONE).update(
            status=ExportStatus.EXPIRED, file_name=""
        )
    return expired
