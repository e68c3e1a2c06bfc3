"""Reads of imports, always given the merchant."""

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from imports.models import ConsentProof, ImportJob, ImportRowError, ShopperKey
from merchants.models import Merchant
from profiles.models import Shopper


def import_job_list(*, merchant: Merchant, limit: int = 20) -> QuerySet[ImportJob]:
    return ImportJob.objects.for_merchant(merchant).select_related("created_by").order_by("-created_at")[:limit]


def import_job_get(*, merchant: Merchant, public_id: str) -> ImportJob:
    """The merchant's job, or a 404 for anyone else's."""
    return get_object_or_404(ImportJob.objects.for_merchant(merchant).select_related("merchant"), public_id=public_id)


def import_same_file_before(*, job: ImportJob) -> ImportJob | None:
    """An earlier import of the very same file (by its SHA-256) that finished, if any."""
    return (
        ImportJob.objects.filter(merchant=job.merchant_id, file_sha256=job.file_sha256, status="done")
        .exclude(pk=job.pk)
        .filter(created_at__lt=job.created_at)
        .order_by("-created_at")
        .first()
    )


def row_errors_first(*, job: ImportJob, limit: int = 50) -> list[ImportRowError]:
    return list(ImportRowError.objects.filter(merchant=job.merchant_id, job=job).order_by("line", "id")[:limit])


def row_errors_rows(*, job: ImportJob) -> Iterator[list[Any]]:
    """The error file: a header, then one row per bad cell."""
    yield ["row", "column", "code", "message"]
    errors = ImportRowError.objects.filter(merchant=job.merchant_id, job=job).order_by("line", "id")
    for error in errors.iterator(chunk_size=2000):
        yield [error.line, error.column, error.code, error.message]


def shopper_imported(*, merchant: Merchant, shopper: Shopper) -> tuple[list[ConsentProof], list[ShopperKey]]:
    """What imports brought over for a shopper: consent decisions with their proof, and other systems' ids."""
    proofs = list(
        ConsentProof.objects.filter(merchant=merchant, consent_event__shopper=shopper)
        .select_related("consent_event", "imported_by")
        .order_by("-consent_event__occurred_at", "-id")
    )
    keys = list(ShopperKey.objects.filter(merchant=merchant, shopper=shopper).order_by("system", "external_id"))
    return proofs, keys
