"""Input of the insight pages: the period and store filter, and the merchant's thresholds."""

from typing import Any

from django import forms

from core.forms import GuardedForm, GuardedModelForm
from insights.models import InsightSettings
from insights.periods import DEFAULT_PERIOD, ONLINE, PERIOD_LABELS
from merchants.models import Merchant, Store


class InsightFilterForm(GuardedForm):
    period = forms.ChoiceField(choices=list(PERIOD_LABELS.items()), required=False, label="Period")
    scope = forms.ChoiceField(required=False, label="Store")

    def __init__(self, *args: Any, merchant: Merchant, with_online: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "All stores and online")] if with_online else [("", "All stores")]
        if with_online:
            choices.append((ONLINE, "Online"))
        choices += [(f"s{store.pk}", store.name) for store in Store.objects.for_merchant(merchant).order_by("name")]
        self.fields["scope"].choices = choices  # type: ignore[attr-defined]

    def values(self) -> tuple[str, str]:
        """The chosen period and scope; defaults where the input was missing or wrong."""
        if not self.is_valid():
            return DEFAULT_PERIOD, ""
        return self.cleaned_data["period"] or DEFAULT_PERIOD, self.cleaned_data["scope"] or ""


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
