"""CSV imports of a merchant's history: the job, its staged rows, the row errors, and what proves an import.

A job goes through: uploaded (mapped, not yet checked) → checked or invalid (the dry run) →
loading → done (or failed, resumable). Staged rows live in an UNLOGGED table: they are a copy of the
file, rebuilt from it when lost; the job's `applied_through` says which orders are already applied.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.constraints import TenantForeignKey
from merchants.models import TenantModel
from profiles.models import ConsentEvent, Shopper


class ImportKind(models.TextChoices):
    PURCHASES = "purchases", _("Purchases with line items")
    SHOPPERS = "shoppers", _("Shoppers, contacts, consents and cards")
    LOYALTY = "loyalty", _("Loyalty balances and tiers")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Waiting for a check")
    CHECKING = "checking", _("Checking")
    INVALID = "invalid", _("Rows need fixing")
    CHECKED = "checked", _("Ready to import")
    LOADING = "loading", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Stopped (can be resumed)")


class ImportJob(TenantModel):
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="import_jobs")
    public_id = models.UUIDField(default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    # The export format the columns were mapped from (imports.mappings.TEMPLATES), or "custom".
    template = models.CharField(max_length=40)
    file = models.FileField(upload_to="imports/%Y/%m/")
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    headers = models.JSONField(default=list)
    # Storeloop field -> the file's column header.
    mapping = models.JSONField(default=dict)
    award_points = models.BooleanField(default=False)
    # Where phone numbers written without a country code are read (ISO 3166 region, e.g. US); blank: they need one.
    phone_region = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # The staged rows' group (an order's first line) below which everything is applied: a resumed load starts here.
    applied_through = models.PositiveIntegerField(default=0)
    applied_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "-created_at"], name="import_job_recent")]
        # Keys carry the merchant (docs/scaling.md): the public id, and what the rows' keys reference.
        constraints = [
            models.UniqueConstraint(fields=["merchant", "public_id"], name="import_job_public_id_unique"),
            models.UniqueConstraint(fields=["merchant", "id"], name="import_job_merchant_id_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.file_name}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.applied_rows / self.total_rows))


STAGED_CELLS = 20


class StagedRow(TenantModel):
    """One row of the file: its mapped cells in the kind's field order (imports.mappings), trimmed, NULL when blank.

    UNLOGGED. One text column per cell, not an array: the checks read each cell many times, and taking an
    element out of a text array walks the array each time.
    """

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False)
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    line = models.PositiveIntegerField()
    # The line of the first row of the same record (an order spread over one row per line item).
    group_line = models.PositiveIntegerField()
    c1 = models.TextField(null=True)
    c2 = models.TextField(null=True)
    c3 = models.TextField(null=True)
    c4 = models.TextField(null=True)
    c5 = models.TextField(null=True)
    c6 = models.TextField(null=True)
    c7 = models.TextField(null=True)
    c8 = models.TextField(null=True)
    c9 = models.TextField(null=True)
    c10 = models.TextField(null=True)
    c11 = models.TextField(null=True)
    c12 = models.TextField(null=True)
    c13 = models.TextField(null=True)
    c14 = models.TextField(null=True)
    c15 = models.TextField(null=True)
    c16 = models.TextField(null=True)
    c17 = models.TextField(null=True)
    c18 = models.TextField(null=True)
    c19 = models.TextField(null=True)
    c20 = models.TextField(null=True)

    class Meta:
        indexes = [models.Index(fields=["job", "group_line"], name="staged_row_group")]
        constraints = [TenantForeignKey(field="job", name="staged_row_job_same_merchant")]

    def __str__(self) -> str:
        return f"line {self.line} of job {self.job_id}"


class ImportRowError(TenantModel):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors", db_constraint=False)
    line = models.PositiveIntegerField()
    column = models.CharField(max_length=255)
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=300)

    class Meta:
        indexes = [models.Index(fields=["job", "line"], name="import_error_line")]
        constraints = [TenantForeignKey(field="job", name="import_error_job_same_merchant")]

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


class ShopperKey(TenantModel):
    """The id another system gave a shopper: a re-import finds the same profile by it."""

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    system = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100)
    job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "system", "external_id"], name="shopper_key_unique"),
            TenantForeignKey(field="shopper", name="shopper_key_shopper_same_merchant"),
            TenantForeignKey(field="job", name="shopper_key_job_same_merchant"),
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id}"


class ConsentProof(TenantModel):
    """What an imported consent decision was in the system it came from, and who brought it over from which file."""

    consent_event = models.ForeignKey(
        ConsentEvent, on_delete=models.CASCADE, related_name="import_proofs", db_constraint=False
    )
    job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    file_name = models.CharField(max_length=255)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    original_source = models.CharField(max_length=200, blank=True)
    wording = models.TextField(blank=True)
    line = models.PositiveIntegerField()
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "consent_event"], name="consent_proof_once"),
            TenantForeignKey(field="consent_event", name="consent_proof_event_same_merchant"),
            TenantForeignKey(field="job", name="consent_proof_job_same_merchant"),
        ]

    def __str__(self) -> str:
        return f"consent {self.consent_event_id} imported from {self.file_name}"
