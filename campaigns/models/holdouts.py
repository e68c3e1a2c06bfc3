"""The program holdout: a share of shoppers kept out of all marketing for a quarter, to measure the whole program.

A campaign's own holdout is drawn per campaign and is too small to judge for most of a small merchant's
campaigns. The program holdout is drawn once a quarter among all the merchant's shoppers, stratified by
home store and spend over the 90 days before, and every marketing message skips it: at the end of the
quarter the held-out shoppers against the rest give the lift of all campaigns together.
"""

from django.db import models

from core.constraints import TenantForeignKey
from merchants.models import Merchant, TenantModel
from profiles.models import Shopper


class ProgramHoldoutSettings(TenantModel):
    """Whether the merchant keeps a program holdout, and its share in percent (drawn at each quarter's start)."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="program_holdout_settings")
    is_enabled = models.BooleanField(default=False)
    percent = models.PositiveSmallIntegerField(default=5)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent__gte=1, percent__lte=20), name="program_holdout_percent_range"
            )
        ]

    def __str__(self) -> str:
        return f"Program holdout of {self.merchant}: {self.percent} %{'' if self.is_enabled else ' (off)'}"


class ProgramHoldoutDraw(TenantModel):
    """One quarter's draw: every shopper active at `drawn_at` has a member row, held out or not."""

    quarter_start = models.DateField()
    quarter_end = models.DateField()  # the first day after the quarter
    starts_at = models.DateTimeField()  # the draw's measurement runs from here to `ends_at`
    ends_at = models.DateTimeField()
    percent = models.PositiveSmallIntegerField()
    drawn_at = models.DateTimeField()
    shoppers = models.PositiveIntegerField(default=0)
    held_out = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "quarter_start"], name="program_holdout_draw_quarter"),
            models.UniqueConstraint(fields=["merchant", "id"], name="program_holdout_draw_merchant_id_key"),
        ]

    def __str__(self) -> str:
        return f"Program holdout of {self.merchant_id} from {self.quarter_start}"


class ProgramHoldoutMember(TenantModel):
    """A shopper in one quarter's draw; kept after the quarter for its report."""

    draw = models.ForeignKey(
        ProgramHoldoutDraw, on_delete=models.CASCADE, related_name="members", db_index=False, db_constraint=False
    )
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    is_held_out = models.BooleanField()
    # The stratum the draw balanced: home store and band of spend before the quarter (0 = nothing).
    store_id_at_draw = models.BigIntegerField(null=True)
    spend_band = models.PositiveSmallIntegerField()
    spend_before_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "draw", "shopper"], name="program_holdout_member_unique"),
            TenantForeignKey(field="draw", name="program_holdout_member_draw_same_merchant"),
            TenantForeignKey(field="shopper", name="program_holdout_member_shopper_same_merchant"),
        ]
        indexes = [
            models.Index(
                fields=["shopper", "draw"], name="program_holdout_held_out", condition=models.Q(is_held_out=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.draw_id}/{self.shopper_id}: {'held out' if self.is_held_out else 'messaged'}"
