"""Segments: saved audience rules, frozen snapshots of them, and per-shopper scores they filter on."""

from django.conf import settings
from django.db import models

from merchants.models import Merchant, TenantModel
from profiles.models import Shopper


class Segment(TenantModel):
    """A dynamic audience: `rules` is evaluated whenever the segment is used."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    # {"match": "all" | "any", "conditions": [{"field": ..., "op": ..., "value": ...}, ...]}
    rules = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "name"], name="segment_name_unique")]

    def __str__(self) -> str:
        return self.name


class SegmentSnapshot(TenantModel):
    """A segment's audience frozen at one moment: the same shoppers however they change later."""

    segment = models.ForeignKey(Segment, null=True, on_delete=models.SET_NULL, related_name="snapshots")
    name = models.CharField(max_length=100)
    rules = models.JSONField(default=dict)
    shopper_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class SegmentSnapshotMember(models.Model):
    snapshot = models.ForeignKey(SegmentSnapshot, on_delete=models.CASCADE, related_name="members", db_index=False)
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "shopper"], name="snapshot_member_unique")]

    def __str__(self) -> str:
        return f"Snapshot {self.snapshot_id}: shopper {self.shopper_id}"


class ShopperScore(TenantModel):
    """Lifecycle stage and RFM scores per shopper, refreshed in the background, for segment rules."""

    shopper = models.OneToOneField(Shopper, on_delete=models.CASCADE, primary_key=True, related_name="score")
    lifecycle_stage = models.CharField(max_length=20, blank=True)
    recency = models.PositiveSmallIntegerField(default=0)  # 1..5, 0 = never purchased
    frequency = models.PositiveSmallIntegerField(default=0)
    monetary = models.PositiveSmallIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "lifecycle_stage"], name="shopper_score_stage")]

    def __str__(self) -> str:
        return f"Shopper {self.shopper_id}: {self.lifecycle_stage} R{self.recency}F{self.frequency}M{self.monetary}"


class ShopperPurchaseFact(TenantModel):
    """One row per purchase of a shopper and line-item category in it ("" for a purchase without line items):
    what the rules on spend in a category and on stores visited read, instead of every purchase and line item.

    Derived, and rewritten shopper by shopper by the score passes (campaigns.segments.scores) from the purchases
    they read; plain id columns, no foreign keys (a row is only ever replaced by its shopper's pass).
    """

    shopper_id = models.BigIntegerField()
    purchase_id = models.BigIntegerField()
    store_id = models.BigIntegerField(null=True)
    occurred_at = models.DateTimeField()
    category = models.CharField(max_length=100)
    # Line items of the category: quantity × unit price (0 for a purchase without line items).
    spent_minor = models.BigIntegerField()
    # The purchase is not fully refunded (spend in a category counts only those).
    counts = models.BooleanField()

    class Meta:
        indexes = [
            models.Index(
                fields=["merchant", "category", "occurred_at"],
                include=["shopper_id", "spent_minor"],
                condition=models.Q(counts=True),
                name="purchase_fact_category",
            ),
            models.Index(
                fields=["merchant", "store_id", "occurred_at"], include=["shopper_id"], name="purchase_fact_store"
            ),
            models.Index(fields=["shopper_id"], name="purchase_fact_shopper"),
        ]

    def __str__(self) -> str:
        return f"Purchase {self.purchase_id} of {self.shopper_id}: {self.category or '—'}"


class ShopperMarketingConsent(TenantModel):
    """A shopper's current marketing consent per channel (the latest decision in the ledger), for segment counts.

    Derived, and rewritten shopper by shopper by the score passes from the consent ledger (a decision shows here
    within a minute); sending always checks the ledger itself.
    """

    shopper_id = models.BigIntegerField()
    channel = models.CharField(max_length=10)
    is_granted = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "shopper_id", "channel"], name="marketing_consent_unique")
        ]
        indexes = [
            models.Index(
                fields=["merchant", "channel"],
                include=["shopper_id"],
                condition=models.Q(is_granted=True),
                name="marketing_consent_granted",
            ),
            models.Index(fields=["shopper_id"], name="marketing_consent_shopper"),
        ]

    def __str__(self) -> str:
        return f"{self.shopper_id} {self.channel}: {'granted' if self.is_granted else 'not granted'}"


class ShopperScoreRefresh(TenantModel):
    """Where a merchant's scores stand: the cut points they are ranked against, the last full pass over every
    shopper (the daily sweep), a sweep under way, and how far the incremental passes have read the rollups."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, primary_key=True, related_name="+")
    # When the last sweep started: the stages of shoppers nobody changed since are as of this moment.
    refreshed_at = models.DateTimeField()
    # Shoppers with a purchase (scored) in the last sweep, and how long it took.
    scored_shoppers = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    # The quintile cut points and the top-spender threshold of the last sweep (campaigns.segments.scores).
    cuts = models.JSONField(default=dict)
    # Rollups written at or after this moment have not been folded into the scores yet.
    changes_from = models.DateTimeField(null=True)
    # When an incremental pass last finished: the scores of changed shoppers are as fresh as this.
    updated_at = models.DateTimeField(null=True)
    # A sweep under way: the next shopper id to score, and the last one it will reach (its progress).
    sweep_next_id = models.BigIntegerField(null=True)
    sweep_last_id = models.BigIntegerField(null=True)
    sweep_started_at = models.DateTimeField(null=True)
    # Every shopper's purchase facts were written by a sweep (until then rules read purchases and line items).
    facts_ready = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Scores of {self.merchant_id} at {self.refreshed_at:%Y-%m-%d %H:%M}"
