"""Outbound webhooks: a merchant's endpoints, the outbox of changes, and each delivery with its attempts."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.constraints import TenantForeignKey
from merchants.models import Merchant, MerchantAPIKey, TenantModel


class EventType(models.TextChoices):
    SHOPPER_CREATED = "shopper.created", _("Shopper created")
    SHOPPER_UPDATED = "shopper.updated", _("Shopper updated")
    SHOPPER_MERGED = "shopper.merged", _("Shoppers merged")
    SHOPPER_MERGE_UNDONE = "shopper.merge_undone", _("Merge undone")
    SHOPPER_ERASED = "shopper.erased", _("Shopper erased")
    CONSENT_CHANGED = "consent.changed", _("Consent changed")
    PURCHASE_RECORDED = "purchase.recorded", _("Purchase recorded")
    PURCHASE_REFUNDED = "purchase.refunded", _("Purchase refunded")
    POINTS_CHANGED = "points.changed", _("Points changed")
    TIER_CHANGED = "tier.changed", _("Tier changed")
    MESSAGE_SENT = "message.sent", _("Message sent")


# The reason an endpoint paused by a person carries (one paused for failing says why it failed).
PAUSED_BY_STAFF = "Paused by staff."


class Endpoint(TenantModel):
    """A URL of the merchant's that receives the events it picked, signed with its secret."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    public_id = models.UUIDField(default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = ArrayField(models.CharField(max_length=40, choices=EventType.choices))
    # The integration behind this endpoint: changes it made through the API with this key are not sent back to it.
    api_key = models.ForeignKey(
        MerchantAPIKey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_endpoints",
        db_constraint=False,  # the key is endpoint_api_key_same_merchant, with the merchant
    )
    # Signing secrets (whsec_…). Shown once when made; the page never shows them again.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    paused_reason = models.CharField(max_length=200, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Set by the first failed attempt after a success; a day of failures pauses the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["merchant"], name="endpoint_merchant", condition=Q(is_active=True))]
        # Keys carry the merchant (docs/scaling.md): what the deliveries' keys reference, and the public id.
        constraints = [
            models.UniqueConstraint(fields=["merchant", "id"], name="endpoint_merchant_id_key"),
            models.UniqueConstraint(fields=["merchant", "public_id"], name="endpoint_public_id_unique"),
            TenantForeignKey(field="api_key", name="endpoint_api_key_same_merchant"),
        ]

    def __str__(self) -> str:
        return self.url


class Event(TenantModel):
    """The outbox: one change, written in the transaction that made it. Its public id is the `webhook-id`."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    public_id = models.CharField(max_length=40)
    type = models.CharField(max_length=40, choices=EventType.choices)
    # The shopper's public id: deliveries of one shopper go out in order. Kept after an erasure (it names nobody).
    shopper_key = models.CharField(max_length=40, blank=True)
    data = models.JSONField()
    origin = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "shopper_key"], name="event_merchant_shopper")]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "id"], name="event_merchant_id_key"),
            models.UniqueConstraint(fields=["merchant", "public_id"], name="event_public_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Delivery(TenantModel):
    """One event for one endpoint: tried until it succeeds or a day has passed."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False, db_constraint=False
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False)
    shopper_key = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A delivery is retried for a day from its first attempt (not from the change: a paused endpoint catches up).
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["endpoint", "shopper_key", "id"],
                name="delivery_pending_queue",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_recent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "id"], name="delivery_merchant_id_key"),
            TenantForeignKey(field="endpoint", name="delivery_endpoint_same_merchant"),
            TenantForeignKey(field="event", name="delivery_event_same_merchant"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of {self.event_id} to {self.endpoint_id}"


class Attempt(TenantModel):
    """One HTTP request of a delivery: when, the response code (or the error), how long it took."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log", db_constraint=False)
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["-attempted_at"]
        constraints = [TenantForeignKey(field="delivery", name="attempt_delivery_same_merchant")]

    def __str__(self) -> str:
        return f"attempt of {self.delivery_id}: {self.status_code or self.error}"
