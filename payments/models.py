"""Payment sources: a merchant's connection to a provider, its signing secrets, its locations, and the
log of every webhook delivery and event it received."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.providers import PaymentProvider
from merchants.models import Merchant, Store, TenantModel

Provider = PaymentProvider


class PaymentSource(TenantModel):
    """One provider account sending its webhooks to one URL (`public_id` is in it)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="payment_sources")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    name = models.CharField(max_length=100)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The provider account card identities are scoped to when a payload does not name one (a Stripe account
    # id, a Square merchant id, a Fidel program id, an Adyen merchant account).
    account = models.CharField(max_length=100, blank=True)
    # Where an in-store purchase lands when the provider names no location (Stripe Terminal charges).
    default_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_paused = models.BooleanField(default=False)
    # An authorisation never captured or cleared is voided after this many days; its pending points lapse.
    auth_expiry_days = models.PositiveSmallIntegerField(default=7)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"


class SourceSecret(TenantModel):
    """A signing secret of a source. The current one has no `retires_at`; a rotated one verifies until then."""

    source = models.ForeignKey(PaymentSource, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    retires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=Q(retires_at__isnull=True), name="source_one_current_secret"
            )
        ]

    def __str__(self) -> str:
        return f"secret of {self.source_id} from {self.created_at:%Y-%m-%d}"  # never the secret itself


class LocationMapping(TenantModel):
    """A provider's location id and the store it stands for; `store` empty while nobody has mapped it."""

    source = models.ForeignKey(PaymentSource, on_delete=models.CASCADE, related_name="locations")
    location_id = models.CharField(max_length=100)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["location_id"]
        constraints = [models.UniqueConstraint(fields=["source", "location_id"], name="location_mapping_unique")]

    def __str__(self) -> str:
        return self.location_id


class DeliveryOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class WebhookDelivery(TenantModel):
    """One request a provider sent. A verified body is kept as sent, for replay; a rejected one is not
    (it is nobody's word), and neither is one that held a card number."""

    source = models.ForeignKey(PaymentSource, on_delete=models.CASCADE, related_name="deliveries")
    outcome = models.CharField(max_length=10, choices=DeliveryOutcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=500, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["source", "-received_at"], name="delivery_recent")]

    def __str__(self) -> str:
        return f"{self.outcome} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class EventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")  # stored, waiting for the worker
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")
    UNMAPPED = "unmapped", _("Unknown location")  # waits for its location to be mapped, then a replay
    WAITING = "waiting", _("Waiting for its purchase")  # a refund that arrived before its purchase
    PAUSED = "paused", _("Held while paused")


# Statuses a replay may take an event out of.
REPLAYABLE = (EventStatus.FAILED, EventStatus.UNMAPPED, EventStatus.WAITING, EventStatus.PAUSED)


class PaymentEvent(TenantModel):
    """One event of a delivery, in Storeloop's terms (`data` is the adapter's event), processed once."""

    source = models.ForeignKey(PaymentSource, on_delete=models.CASCADE, related_name="events")
    delivery = models.ForeignKey(WebhookDelivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=60, blank=True)
    kind = models.CharField(max_length=12)
    transaction_id = models.CharField(max_length=100, blank=True)
    original_transaction_id = models.CharField(max_length=100, blank=True)
    location_id = models.CharField(max_length=100, blank=True)
    data = models.JSONField()
    status = models.CharField(max_length=10, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    detail = models.CharField(max_length=300, blank=True)
    purchase = models.ForeignKey(
        "profiles.Purchase", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "event_id"], name="payment_event_dedupe")]
        indexes = [
            models.Index(fields=["source", "status", "-received_at"], name="payment_event_log"),
            models.Index(
                fields=["source", "original_transaction_id"],
                condition=Q(status="waiting"),
                name="payment_event_waiting",
            ),
            models.Index(fields=["status", "received_at"], name="payment_event_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or self.kind} {self.event_id}"
