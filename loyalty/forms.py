"""Input of the loyalty pages. Forms parse and check shape (model constraints included); services write."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from core.forms import GuardedForm, GuardedModelForm
from core.templatetags.money import minor_digits
from loyalty.models import EarnRule, Offer, Program, Reward, Tier
from merchants.models import Merchant, Store
from profiles.models import Channel

WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


class MoneyField(forms.CharField):
    """An amount typed in the merchant's currency (“52,000” or “45.99”), cleaned to integer minor units."""

    def __init__(self, *, currency: str = "EUR", **kwargs: Any) -> None:
        self.currency = currency
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().clean(value)
        if text in (None, ""):
            return None
        try:
            amount = Decimal(str(text).replace(",", "").replace(" ", ""))
        except InvalidOperation as error:
            raise forms.ValidationError("Give an amount, e.g. 52000 or 45.99.") from error
        minor = amount.scaleb(minor_digits(self.currency))
        if minor != minor.to_integral_value() or minor < 0:
            raise forms.ValidationError(f"{self.currency} amounts have at most {minor_digits(self.currency)} decimals.")
        return int(minor)


class _MerchantForm(GuardedModelForm):
    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        if "store" in self.fields:
            self.fields["store"].queryset = Store.objects.for_merchant(merchant).order_by("name")  # type: ignore[attr-defined]
            self.fields["store"].required = False


class ProgramForm(_MerchantForm):
    class Meta:
        model = Program
        fields = [
            "name",
            "kind",
            "points_per_unit",
            "unit_minor",
            "rounding",
            "point_value_minor",
            "minimum_spend_minor",
            "expiry_policy",
            "expiry_days",
            "inactivity_months",
            "tier_basis",
            "tier_grace_days",
            "is_active",
        ]
        labels = {
            "points_per_unit": "Points earned…",
            "unit_minor": "…for every (minor units spent)",
            "point_value_minor": "One point is worth (minor units)",
            "minimum_spend_minor": "Minimum spend to earn (minor units)",
        }


class RuleForm(_MerchantForm):
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, help_text="None: every day."
    )

    class Meta:
        model = EarnRule
        fields = [
            "name",
            "kind",
            "multiplier",
            "bonus_points",
            "category",
            "sku",
            "store",
            "channel",
            "first_in_channel",
            "weekdays",
            "start_time",
            "end_time",
            "minimum_spend_minor",
            "cap_points",
            "starts_on",
            "ends_on",
            "is_active",
        ]
        labels = {
            "sku": "SKU",
            "minimum_spend_minor": "Minimum spend (minor units)",
            "cap_points": "Cap (points per shopper)",
            "first_in_channel": "Only the shopper's first purchase in this channel",
        }
        widgets = {
            "start_time": forms.TimeInput(attrs={"type": "time"}),
            "end_time": forms.TimeInput(attrs={"type": "time"}),
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }

    def _post_clean(self) -> None:
        self.instance.merchant = self.merchant
        super()._post_clean()


class PreviewForm(GuardedForm):
    """A made-up purchase for the rule editor's preview."""

    preview_amount = MoneyField(label="Amount")
    preview_channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.ONLINE, label="Channel")
    preview_store = forms.ModelChoiceField(queryset=Store.objects.none(), required=False, label="Store")
    preview_category = forms.CharField(required=False, max_length=100, label="Category")
    preview_sku = forms.CharField(required=False, max_length=100, label="SKU")
    preview_when = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="When (store time)"
    )

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["preview_amount"].currency = merchant.currency  # type: ignore[attr-defined]
        self.fields["preview_store"].queryset = Store.objects.for_merchant(merchant).order_by("name")  # type: ignore[attr-defined]


class TierForm(_MerchantForm):
    class Meta:
        model = Tier
        fields = ["name", "threshold", "earn_multiplier", "benefits"]
        help_texts = {"threshold": "Minor units of spend, or points, over the last 12 months (the program's basis)."}
        labels = {"earn_multiplier": "Earn multiplier (on the base rate)"}


class RewardForm(_MerchantForm):
    class Meta:
        labels = {"amount_off_minor": "Amount off (minor units)", "free_item_sku": "Free item's SKU"}
        model = Reward
        fields = [
            "name",
            "kind",
            "points_cost",
            "amount_off_minor",
            "percent_off",
            "free_item_sku",
            "available_from",
            "available_until",
            "is_active",
        ]
        widgets = {
            "available_from": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "available_until": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }


class OfferForm(_MerchantForm):
    class Meta:
        labels = {
            "minimum_spend_minor": "Minimum spend (minor units)",
            "reward_credit_minor": "Credit (minor units)",
            "budget_minor": "Total budget (minor units)",
            "store": "At store (empty: any)",
        }
        model = Offer
        fields = [
            "name",
            "store",
            "minimum_spend_minor",
            "starts_at",
            "ends_at",
            "reward_points",
            "reward_credit_minor",
            "budget_minor",
        ]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }


class AdjustForm(GuardedForm):
    points = forms.IntegerField(help_text="Negative to take points away.")
    reason = forms.CharField(max_length=300, help_text="Shown in the shopper's ledger.")


class PartnerProposeForm(GuardedForm):
    partner = forms.ModelChoiceField(queryset=Merchant.objects.none())
    bonus_points_per_unit = forms.IntegerField(min_value=1, initial=1, label="Bonus points…")
    unit_minor = forms.IntegerField(min_value=1, initial=100, label="…for every (minor units spent here)")

    def __init__(self, *args: Any, candidates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = candidates  # type: ignore[attr-defined]
