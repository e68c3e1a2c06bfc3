"""Campaigns, their message variants and templates, and who was assigned to which group."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant, Store, TenantModel
from profiles.models import ConsentChannel, ConsentPurpose, Shopper


class CampaignKind(models.TextChoices):
    BROADCAST = "broadcast", _("One-off broadcast")
    RECURRING = "recurring", _("Recurring broadcast")
    REALTIME = "realtime", _("Real-time on purchase")
    LIFECYCLE = "lifecycle", _("Lifecycle automation")
    LOCATION = "location", _("Location-based")
    GREETING = "greeting", _("Greeting (no offer)")


class Trigger(models.TextChoices):
    """What starts a message to one shopper, for the kinds that are not broadcasts."""

    # On purchase (real time)
    THANK_YOU = "thank_you", _("Thank you after a purchase")
    FEEDBACK_REQUEST = "feedback_request", _("Feedback request after a purchase")
    SPEND_OVER = "spend_over", _("A purchase over an amount")
    FIRST_IN_STORE = "first_in_store", _("First in-store purchase of an online-only shopper")
    FIRST_ONLINE = "first_online", _("First online purchase of a store-only shopper")
    # Lifecycle (scheduled scan)
    WIN_BACK = "win_back", _("Lapsed for N days")
    BIRTHDAY = "birthday", _("Birthday")
    JOIN_ANNIVERSARY = "join_anniversary", _("Join anniversary")
    POINTS_EXPIRING = "points_expiring", _("Points about to expire")
    # Location
    VISIT = "visit", _("A visit at or near a store")


# Kinds sent to an audience at a time, and the triggers each triggered kind may start on.
BROADCAST_KINDS = (CampaignKind.BROADCAST, CampaignKind.RECURRING, CampaignKind.GREETING)
TRIGGERS_OF_KIND: dict[str, tuple[str, ...]] = {
    CampaignKind.REALTIME: (
        Trigger.THANK_YOU,
        Trigger.FEEDBACK_REQUEST,
        Trigger.SPEND_OVER,
        Trigger.FIRST_IN_STORE,
        Trigger.FIRST_ONLINE,
    ),
    CampaignKind.LIFECYCLE: (Trigger.WIN_BACK, Trigger.BIRTHDAY, Trigger.JOIN_ANNIVERSARY, Trigger.POINTS_EXPIRING),
    CampaignKind.LOCATION: (Trigger.VISIT,),
}


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(TenantModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=CampaignKind.choices)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, blank=True)
    # Trigger settings, e.g. {"amount_minor": 10000}, {"days_lapsed": 90}, {"days_before": 14}, {"cooldown_hours": 24}
    trigger_params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    channel = models.CharField(max_length=10, choices=ConsentChannel.choices, default=ConsentChannel.EMAIL)
    # The consent a message needs: marketing for most, feedback for feedback requests.
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices, default=ConsentPurpose.MARKETING)
    # Audience: a dynamic segment, a frozen snapshot, or (neither) every reachable shopper.
    segment = models.ForeignKey(
        "campaigns.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    snapshot = models.ForeignKey(
        "campaigns.SegmentSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    offer = models.ForeignKey(
        "campaigns.Offer", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    holdout_percent = models.PositiveSmallIntegerField(default=10, validators=[MaxValueValidator(50)])
    attribution_days = models.PositiveSmallIntegerField(default=7, validators=[MinValueValidator(1)])
    scheduled_at = models.DateTimeField(null=True, blank=True)
    repeat_every_days = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    next_run_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    cost_per_message_minor = models.PositiveIntegerField(default=0)
    launched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "status", "kind"], name="campaign_status_kind")]

    def __str__(self) -> str:
        return self.name


class Variant(TenantModel):
    """An A/B arm of a campaign; a campaign without a test has one variant, "A"."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    key = models.CharField(max_length=1, default="A")
    weight = models.PositiveSmallIntegerField(default=100, validators=[MinValueValidator(1)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "key"], name="variant_key_unique")]

    def __str__(self) -> str:
        return f"{self.campaign} {self.key}"


class MessageTemplate(TenantModel):
    """One variant's message in one language; the shopper's language is used, else the merchant's default."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="templates")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(max_length=200, blank=True)  # email only
    body = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["variant", "language"], name="template_language_unique")]

    def __str__(self) -> str:
        return f"{self.variant} ({self.language})"


class AssignmentGroup(models.TextChoices):
    TREATMENT = "treatment", _("Sent")
    HOLDOUT = "holdout", _("Held out")


class Assignment(TenantModel):
    """A shopper entered a campaign (once per dedupe key): the group is drawn and recorded at that moment.

    Held-out shoppers get no message; their purchases in the attribution window are the control.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="campaign_assignments")
    # What made this entry unique: "broadcast", a run date, a purchase id, a visit day, a birthday year...
    dedupe_key = models.CharField(max_length=100)
    group = models.CharField(max_length=10, choices=AssignmentGroup.choices)
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "shopper", "dedupe_key"], name="assignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.shopper_id}/{self.dedupe_key}: {self.group}"


class CampaignSettings(TenantModel):
    """Guard rails that hold across all of a merchant's campaigns."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="campaign_settings")
    quiet_hours_start = models.TimeField(default="21:00")
    quiet_hours_end = models.TimeField(default="09:00")
    frequency_cap_messages = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    frequency_cap_days = models.PositiveSmallIntegerField(default=7, validators=[MinValueValidator(1)])
    default_holdout_percent = models.PositiveSmallIntegerField(default=10, validators=[MaxValueValidator(50)])
    sender_name = models.CharField(max_length=100, blank=True)
    reply_to = models.EmailField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Campaign settings of {self.merchant}"


class CampaignRun(TenantModel):
    """One run of a broadcast (the one-off run, or one date of a recurring one), claimed by inserting this row.

    The unique (campaign, dedupe_key) is the claim: two beat processes, or a task run twice, insert one
    row and only the one that inserted it fans out. The audience is cut into ranges of shopper ids;
    `chunks_done` holds the indexes already written, so a lost chunk task is sent again and a repeated
    one changes nothing (its assignments and outbox rows are unique too).
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs", db_index=False)
    dedupe_key = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    audience_count = models.PositiveIntegerField(default=0)
    # [[first shopper id, last shopper id], ...] of each chunk.
    chunk_bounds = models.JSONField(default=list)
    chunks_done = ArrayField(models.PositiveIntegerField(), default=list)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "dedupe_key"], name="campaign_run_unique")]
        indexes = [
            models.Index(fields=["started_at"], name="campaign_run_open", condition=models.Q(finished_at=None)),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} run {self.dedupe_key}"


class TriggerCursor(models.Model):
    """How far a scan of new rows has read (e.g. visits by id), so each row triggers once."""

    name = models.CharField(max_length=50, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"
