"""Exports of a merchant's data as CSV: the background jobs for exports too large to stream at once."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.constraints import TenantForeignKey
from merchants.models import Merchant, Store, TenantModel


class ExportKind(models.TextChoices):
    PURCHASES = "purchases", _("Purchases with line items")
    SHOPPERS = "shoppers", _("Shoppers")
    CONSENTS = "consents", _("Consents (every decision)")
    LEDGER = "ledger", _("Loyalty points ledger")
    MESSAGES = "messages", _("Messages")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Being written")
    DONE = "done", _("Ready to download")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class ExportJob(TenantModel):
    """One export written in the background to the default storage; its file is deleted after seven days."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=20, choices=ExportKind.choices)
    # The period, in the merchant's time zone, both days included.
    date_from = models.DateField()
    date_to = models.DateField()
    # A job never outlives its store: without it, the job would export every store's rows.
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    row_count = models.PositiveBigIntegerField(null=True, blank=True)
    rows_written = models.PositiveBigIntegerField(default=0)
    # The file's name in the default storage: never served directly, only through the download view.
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written with each progress step: a running job whose worker died stops moving, and may be taken over.
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="export_job_merchant_recent"),
            models.Index(fields=["expires_at"], name="export_job_expiring", condition=models.Q(status="done")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(date_from__lte=models.F("date_to")), name="export_job_period"),
            TenantForeignKey(field="store", name="export_job_store_same_merchant"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.date_from}–{self.date_to} ({self.status})"

    @property
    def percent_done(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        if not self.row_count:
            return 0
        return min(99, self.rows_written * 100 // self.row_count)

    @property
    def is_active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
