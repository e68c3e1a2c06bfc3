"""An import from upload to done: create (scan and store the file), check (the dry run), load (resumable).

The load applies the staged rows in chunks of whole records (an order with all its rows), each in one
transaction that also moves the job's `applied_through`: a stopped load resumes at the first chunk not
applied, and applying a chunk twice adds nothing (natural keys).
"""

from collections.abc import Callable
from typing import IO

import phonenumbers
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from core.errors import ApplicationError, ConflictError
from imports.mappings import CUSTOM, FIELDS, TEMPLATES, mapping_guess, missing_required, system_of, template_detect
from imports.models import ImportJob, ImportKind, ImportRowError, ImportStatus, StagedRow
from imports.services import loyalty as loyalty_import
from imports.services import purchases as purchase_import
from imports.services import shoppers as shopper_import
from imports.services.files import exempt_headers_for, file_scan, rows_read, rows_stage
from loyalty.services.earn import purchase_earn
from merchants.models import Merchant, User
from merchants.services import audit_event_record
from profiles.models import Purchase

CHUNK_ROWS = 10_000

Checker = Callable[..., int]
Applier = Callable[..., tuple[int, list[int]]]
_KINDS: dict[str, tuple[Checker, Applier]] = {
    ImportKind.PURCHASES: (purchase_import.purchases_check, purchase_import.purchases_apply),
    ImportKind.SHOPPERS: (shopper_import.shoppers_check, shopper_import.shoppers_apply),
    ImportKind.LOYALTY: (loyalty_import.balances_check, loyalty_import.balances_apply),
}


def _headers(binary: IO[bytes]) -> list[str]:
    return [header.strip() for header in next(rows_read(binary), [])]


@transaction.atomic
def job_create(
    *,
    merchant: Merchant,
    actor: User | None,
    kind: str,
    upload: IO[bytes],
    file_name: str,
    template: str | None = None,
    mapping: dict[str, str] | None = None,
    award_points: bool = False,
    phone_region: str = "",
) -> ImportJob:
    """Scan an uploaded file and keep it with a first mapping. A file with a card number is refused whole.

    `template`: a key of TEMPLATES, "custom", or None to recognise the export by its columns.
    """
    if kind not in FIELDS:
        raise ApplicationError("Choose what the file holds.", code="invalid", field="kind")
    headers = _headers(upload)
    found = TEMPLATES.get(template or "") if template != CUSTOM else None
    if template is None:
        found = template_detect(headers)
        if found is not None and found.kind != kind:
            raise ApplicationError(
                f"This looks like a {found.label} export, which holds {ImportKind(found.kind).label.lower()}: "
                "choose that kind of import.",
                code="wrong_kind",
                field="kind",
            )
    template_key = found.key if found is not None else CUSTOM
    scanned = file_scan(upload, exempt_headers=exempt_headers_for(template_key))
    if scanned.total_rows == 0:
        raise ApplicationError("This file has a header but no rows.", code="empty_file", field="file")
    guessed = mapping_guess(kind, scanned.headers, found)
    job = ImportJob(
        merchant=merchant,
        kind=kind,
        template=template_key,
        file_name=file_name[:255],
        file_sha256=scanned.sha256,
        headers=scanned.headers,
        mapping=_checked_mapping(kind, scanned.headers, mapping if mapping is not None else guessed),
        award_points=award_points,
        phone_region=_checked_region(phone_region),
        total_rows=scanned.total_rows,
        created_by=actor,
    )
    upload.seek(0)
    job.file.save(f"{job.public_id}.csv", File(upload), save=False)
    job.save()
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="imports.uploaded",
        subject=str(job.public_id),
        file=job.file_name,
        kind=kind,
        rows=job.total_rows,
        template=template_key,
    )
    return job


def _checked_region(region: str) -> str:
    region = region.strip().upper()
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ApplicationError(
            "Choose a country by its two-letter code (e.g. US).", code="invalid_region", field="phone_region"
        )
    return region


def _checked_mapping(kind: str, headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    known = {field.name for field in FIELDS[kind]}
    cleaned = {name: header for name, header in mapping.items() if header}
    unknown = [name for name in cleaned if name not in known]
    if unknown:
        raise ApplicationError(f"Unknown field: {', '.join(unknown)}.", code="invalid", field="mapping")
    absent = [header for header in cleaned.values() if header not in headers]
    if absent:
        raise ApplicationError(f"The file has no column {', '.join(absent)}.", code="unknown_column", field="mapping")
    return cleaned


def job_preview(*, job: ImportJob, rows: int = 5) -> list[list[str]]:
    """The first records of the file, as the mapping page shows them."""
    with job.file.open("rb") as binary:
        records = rows_read(binary)
        next(records, None)
        preview = []
        for record in records:
            if any(value.strip() for value in record):
                preview.append(record)
            if len(preview) >= rows:
                break
    return preview


@transaction.atomic
def job_map(
    *, job: ImportJob, actor: User | None, mapping: dict[str, str], award_points: bool, phone_region: str = ""
) -> ImportJob:
    """Change the column mapping of a job not yet loading; it must be checked again."""
    locked = ImportJob.objects.select_for_update().get(merchant=job.merchant_id, pk=job.pk)
    if locked.status not in (ImportStatus.UPLOADED, ImportStatus.INVALID, ImportStatus.CHECKED):
        raise ConflictError("This import has started; its columns can no longer change.", code="import_started")
    locked.mapping = _checked_mapping(locked.kind, locked.headers, mapping)
    locked.award_points = award_points
    locked.phone_region = _checked_region(phone_region)
    locked.status = ImportStatus.UPLOADED
    locked.save(update_fields=["mapping", "award_points", "phone_region", "status"])
    return locked


def job_check(*, job: ImportJob) -> ImportJob:
    """The dry run: stage the file with COPY and report every bad cell. Writes no shopper, purchase or points."""
    missing = missing_required(job.kind, job.mapping)
    if missing:
        raise ApplicationError(
            f"Choose the file's column for: {', '.join(str(field.label) for field in missing)}.",
            code="mapping_incomplete",
            field="mapping",
        )
    check, _apply = _KINDS[job.kind]
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(merchant=job.merchant_id, pk=job.pk)
        if job.status not in (ImportStatus.UPLOADED, ImportStatus.INVALID, ImportStatus.CHECKED):
            raise ConflictError("This import has started already.", code="import_started")
        ImportRowError.objects.filter(merchant=job.merchant_id, job=job).delete()
        job.total_rows = rows_stage(job=job)
        job.error_count = check(job=job)
        job.status = ImportStatus.INVALID if job.error_count else ImportStatus.CHECKED
        job.save(update_fields=["total_rows", "error_count", "status"])
        if job.error_count:  # this file will not be loaded: its staged copy goes now
            StagedRow.objects.filter(merchant=job.merchant_id, job=job).delete()
    return job


def _next_stop(job: ImportJob, start: int, chunk_rows: int) -> int | None:
    """The group line where the chunk starting at `start` ends (exclusive); None when nothing is left."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(group_line) FROM {StagedRow._meta.db_table} WHERE job_id = %s AND group_line >= %s",  # noqa: S608
            [job.pk, start],
        )
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(
            f"""SELECT group_line FROM {StagedRow._meta.db_table}
                 WHERE job_id = %s AND group_line >= %s ORDER BY group_line OFFSET %s LIMIT 1""",  # noqa: S608
            [job.pk, start, chunk_rows],
        )
        row = cursor.fetchone()
    return row[0] if row is not None else 2**31 - 1


def _staged_count(job: ImportJob, start: int, stop: int) -> int:
    return StagedRow.objects.filter(
        merchant=job.merchant_id, job=job, group_line__gte=start, group_line__lt=stop
    ).count()


def job_start(*, job: ImportJob, actor: User | None) -> ImportJob:
    """Mark a checked job as loading (the page then queues the load); refuses a job with errors."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(merchant=job.merchant_id, pk=job.pk)
        if locked.status == ImportStatus.INVALID or locked.error_count:
            raise ConflictError("Fix the rows with errors and check the file again.", code="import_invalid")
        if locked.status not in (ImportStatus.CHECKED, ImportStatus.FAILED, ImportStatus.LOADING):
            raise ConflictError("Check the file before importing it.", code="import_unchecked")
        if locked.status != ImportStatus.LOADING:
            locked.status = ImportStatus.LOADING
            locked.started_at = locked.started_at or timezone.now()
            locked.save(update_fields=["status", "started_at"])
            audit_event_record(
                merchant=locked.merchant,
                actor=actor,
                action="imports.started",
                subject=str(locked.public_id),
                file=locked.file_name,
                kind=locked.kind,
                award_points=locked.award_points,
            )
    return locked


def job_load(*, job: ImportJob, chunk_rows: int = CHUNK_ROWS, max_chunks: int | None = None) -> ImportJob:
    """Apply the staged rows chunk by chunk from where the job stands; safe to run again after a stop.

    `max_chunks` stops early (a test of resuming, or a worker sharing its time).
    """
    _check, apply = _KINDS[job.kind]
    job = ImportJob.objects.select_related("merchant").get(merchant=job.merchant_id, pk=job.pk)
    if job.status not in (ImportStatus.LOADING, ImportStatus.FAILED):
        raise ConflictError("Start the import first.", code="import_not_started")
    if StagedRow.objects.filter(merchant=job.merchant_id, job=job).count() != job.total_rows:
        # The staging table is UNLOGGED: after a database crash it is empty. The file is kept; stage it again.
        with transaction.atomic():
            rows_stage(job=job)
    system = system_of(job.template)
    chunks = 0
    while max_chunks is None or chunks < max_chunks:
        start = job.applied_through
        stop = _next_stop(job, start, chunk_rows)
        if stop is None:
            break
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(merchant=job.merchant_id, pk=job.pk)
            if locked.applied_through != start:  # another worker moved on: continue from where it is
                job = ImportJob.objects.select_related("merchant").get(merchant=job.merchant_id, pk=job.pk)
                continue
            made, purchase_ids = apply(job=job, start=start, stop=stop, system=system)
            if job.award_points and purchase_ids:
                _earn(job.merchant, purchase_ids)
            rows = _staged_count(job, start, stop)
            ImportJob.objects.filter(merchant=job.merchant_id, pk=job.pk).update(
                applied_through=stop,
                applied_rows=locked.applied_rows + rows,
                created_count=locked.created_count + made,
                status=ImportStatus.LOADING,
            )
        job.applied_through, job.applied_rows = stop, locked.applied_rows + rows
        job.created_count = locked.created_count + made
        chunks += 1
    else:
        return job
    return _job_finish(job)


def _earn(merchant: Merchant, purchase_ids: list[int]) -> None:
    """Points for imported purchases, only when the merchant asked for them: loyalty's own earn service."""
    for purchase in (
        Purchase.objects.for_merchant(merchant).filter(pk__in=purchase_ids).select_related("shopper", "store")
    ):
        purchase.merchant = merchant
        purchase_earn(merchant=merchant, purchase=purchase)


@transaction.atomic
def _job_finish(job: ImportJob) -> ImportJob:
    locked = ImportJob.objects.select_for_update().get(merchant=job.merchant_id, pk=job.pk)
    if locked.status == ImportStatus.DONE:
        return locked
    locked.status = ImportStatus.DONE
    locked.finished_at = timezone.now()
    locked.applied_rows = locked.total_rows
    locked.save(update_fields=["status", "finished_at", "applied_rows"])
    StagedRow.objects.filter(merchant=locked.merchant_id, job=locked).delete()
    audit_event_record(
        merchant=job.merchant,
        actor=locked.created_by,
        action="imports.finished",
        subject=str(locked.public_id),
        file=locked.file_name,
        kind=locked.kind,
        created=locked.created_count,
        rows=locked.total_rows,
    )
    return locked


def job_fail(*, job: ImportJob, message: str) -> None:
    """A load stopped by an error: it keeps what is applied and resumes from there."""
    ImportJob.objects.filter(merchant=job.merchant_id, pk=job.pk, status=ImportStatus.LOADING).update(
        status=ImportStatus.FAILED, message=message[:300]
    )
