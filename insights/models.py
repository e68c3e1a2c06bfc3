"""What the insight dashboards keep: each merchant's thresholds and the precomputed snapshots."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant, TenantModel


class InsightSettings(TenantModel):
    """A merchant's lifecycle thresholds and staffing assumption, shown and editable on the insight pages."""

    merchant = models.OneToOneField(
        Merchant, on_delete=models.CASCADE, primary_key=True, related_name="insight_settings"
    )
    new_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("A shopper whose first purchase is at most this many days old is new."),
    )
    at_risk_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(2), MaxValueValidator(730)],
        help_text=_("No purchase for more than this many days: at risk."),
    )
    lapsed_days = models.PositiveSmallIntegerField(
        default=180,
        validators=[MinValueValidator(3), MaxValueValidator(1095)],
        help_text=_("No purchase for more than this many days: lapsed (a win-back target)."),
    )
    regular_min_purchases = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(2), MaxValueValidator(1000)],
        help_text=_("Purchases in all that make a recent shopper a regular."),
    )
    top_spender_percent = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_("The highest-spending share of recent shoppers, in percent, counted as top spenders."),
    )
    purchases_per_staff_hour = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("Purchases one person at the till serves in an hour: turns the forecast into staff needed."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "profiles_insightsettings"  # created by profiles, which owned it first
        constraints = [
            models.CheckConstraint(
                condition=Q(at_risk_days__gt=models.F("new_days")) & Q(lapsed_days__gt=models.F("at_risk_days")),
                name="insight_thresholds_in_order",
                violation_error_message=_("Keep the days in order: new < at risk < lapsed."),
            )
        ]

    def __str__(self) -> str:
        return f"Insight settings of {self.merchant_id}"


class InsightSnapshot(TenantModel):
    """Figures that no rollup can give cheaply (distinct shoppers, stages, cohorts, pairs), precomputed.

    Written only by insights.services.insights_refresh; each section is replaced whole.
    """

    # "overview", "lifecycle", …, or "daily:<scope>" (a region's name may be long).
    section = models.CharField(max_length=120)
    computed_at = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        db_table = "profiles_insightsnapshot"  # created by profiles, which owned it first
        constraints = [models.UniqueConstraint(fields=["merchant", "section"], name="insight_snapshot_section")]

    def __str__(self) -> str:
        return f"{self.section} of {self.merchant_id}"
