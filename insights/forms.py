"""Input of the insight pages: the period and store filter, and the merchant's thresholds."""

from typing import Any

from django import forms

from core.forms import GuardedForm, GuardedModelForm
from insights.models import InsightSettings
from insights.periods import CUSTOM, CUSTOM_MAX_DAYS, DEFAULT_PERIOD, ONLINE, PERIOD_LABELS, PeriodChoice
from merchants.models import Merchant, Store

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InsightFilterForm(GuardedForm):
    period = forms.ChoiceField(choices=[*PERIOD_LABELS.items(), (CUSTOM, "From – to…")], required=False, label="Period")
    date_from = forms.DateField(required=False, widget=DATE, label="From")
    date_to = forms.DateField(required=False, widget=DATE, label="To")
    scope = forms.ChoiceField(required=False, label="Store")

    def __init__(self, *args: Any, merchant: Merchant, with_online: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "All stores and online")] if with_online else [("", "All stores")]
        if with_online:
            choices.append((ONLINE, "Online"))
        choices += [(f"s{store.pk}", store.name) for store in Store.objects.for_merchant(merchant).order_by("name")]
        self.fields["scope"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if cleaned.get("period") == CUSTOM:
            if first is None or last is None:
                self.add_error("date_from" if first is None else "date_to", "Give the first and the last day.")
            elif first > last:
                self.add_error("date_to", "The last day comes after the first.")
            elif (last - first).days >= CUSTOM_MAX_DAYS:
                self.add_error("date_from", "Choose at most two years.")
        return cleaned

    def values(self) -> tuple[PeriodChoice, str]:
        """The chosen period (a preset's key, or a custom first and last day) and scope; the default period where
        the input was missing or wrong (the page shows the error beside the field)."""
        if not self.is_valid():
            scope = self.cleaned_data.get("scope") if hasattr(self, "cleaned_data") else ""
            return DEFAULT_PERIOD, scope or ""
        period = self.cleaned_data["period"] or DEFAULT_PERIOD
        if period == CUSTOM:
            return (self.cleaned_data["date_from"], self.cleaned_data["date_to"]), self.cleaned_data["scope"] or ""
        return period, self.cleaned_data["scope"] or ""


class InsightSettingsForm(GuardedModelForm):
    class Meta:
        model = InsightSettings
        fields = [
            "new_days",
            "at_risk_days",
            "lapsed_days",
            "regular_min_purchases",
            "top_spender_percent",
            "purchases_per_staff_hour",
        ]
        labels = {
            "new_days": "New for (days)",
            "at_risk_days": "At risk after (days)",
            "lapsed_days": "Lapsed after (days)",
            "regular_min_purchases": "Regular from (purchases)",
            "top_spender_percent": "Top spenders (% of recent shoppers)",
            "purchases_per_staff_hour": "Purchases one person serves per hour",
        }
