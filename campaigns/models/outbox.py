"""The outbox: one row per message decided, unique per (campaign, shopper, dedupe key)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from merchants.models import TenantModel
from profiles.models import ConsentChannel, Shopper


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    HANDING = "handing", _("Being handed to the channel")
    SENT = "sent", _("Handed to the channel")
    SUPPRESSED = "suppressed", _("Not sent (guard rail)")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


class OutboxMessage(TenantModel):
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="campaign_messages")
    dedupe_key = models.CharField(max_length=100)
    assignment = models.OneToOneField("campaigns.Assignment", on_delete=models.CASCADE, related_name="message")
    variant = models.ForeignKey("campaigns.Variant", null=True, on_delete=models.SET_NULL, related_name="+")
    coupon = models.ForeignKey("campaigns.Coupon", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=10, choices=ConsentChannel.choices)
    status = models.CharField(max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    # Why a message was not sent: "no_consent", "frequency_cap", "no_contact", "suppressed", "expired"...
    reason = models.CharField(max_length=30, blank=True)
    # Quiet hours push a message to the next allowed moment in the shopper's timezone.
    not_before = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    # The claim: who holds the row (a token unique to one sender's claim, so a sender whose lease ran out cannot
    # touch a row another sender claimed since) and when that sender last said it was alive (its lease).
    claimed_by = models.CharField(max_length=64, blank=True, db_default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # What was handed over, kept for the shopper's message history.
    to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "shopper", "dedupe_key"], name="outbox_unique"),
        ]
        indexes = [
            models.Index(
                fields=["not_before"],
                name="outbox_due",
                condition=models.Q(status="queued"),
            ),
            models.Index(fields=["shopper", "sent_at"], name="outbox_shopper_sent"),
            # The stale-claim sweep, every minute, reads only the few rows being sent.
            models.Index(
                fields=["claimed_at"],
                name="outbox_claimed",
                condition=models.Q(status__in=["sending", "handing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.shopper_id}/{self.dedupe_key}: {self.status}"
