"""Input of the loyalty pages. Forms parse and check shape (model constraints included); services write."""

from decimal import Decimal
from typing import Any

from django import forms

from core.forms import GuardedForm, GuardedModelForm, MoneyField, money_fields_set_currency
from core.templatetags.money import currency_symbol, minor_digits
from loyalty.models import EarnRule, Offer, Program, Reward, Tier, TierBasis
from merchants.models import Merchant, Store
from profiles.models import Channel

WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


class _MerchantForm(GuardedModelForm):
    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        money_fields_set_currency(self, merchant.currency)
        if "store" in self.fields:
            self.fields["store"].queryset = Store.objects.for_merchant(merchant).order_by("name")  # type: ignore[attr-defined]
            self.fields["store"].required = False


class ProgramForm(_MerchantForm):
    unit_minor = MoneyField(label="…for every", minimum=1, help_text="Spent in one purchase, e.g. 1.00.")
    point_value_minor = forms.DecimalField(
        min_value=Decimal(0),
        label="One point is worth",
        help_text="What the program owes per point, for the liability figure (e.g. 0.01).",
    )
    minimum_spend_minor = MoneyField(
        label="Minimum spend to earn", required=False, help_text="Purchases below this amount earn nothing."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = self.merchant.currency
        self.fields["point_value_minor"].label = f"One point is worth ({currency_symbol(currency)})"
        value = self.initial.get("point_value_minor")
        if value is not None:  # kept in minor units (a fraction of a cent allowed), shown in major units
            self.initial["point_value_minor"] = Decimal(value).scaleb(-minor_digits(currency)).normalize()

    def clean_point_value_minor(self) -> Decimal:
        minor = self.cleaned_data["point_value_minor"].scaleb(minor_digits(self.merchant.currency))
        if minor != minor.quantize(Decimal("0.0001")):
            raise forms.ValidationError("Too many decimals: a point's value is kept to a ten-thousandth of a cent.")
        return minor

    def clean_minimum_spend_minor(self) -> int:
        return self.cleaned_data.get("minimum_spend_minor") or 0

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
        labels = {"points_per_unit": "Points earned…"}


class RuleForm(_MerchantForm):
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, help_text="None: every day."
    )
    minimum_spend_minor = MoneyField(label="Minimum spend", required=False)

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
            "cap_points": "Cap (points per shopper)",
            "first_in_channel": "Only the shopper's first purchase in this channel",
        }
        widgets = {
            "start_time": forms.TimeInput(attrs={"type": "time"}),
            "end_time": forms.TimeInput(attrs={"type": "time"}),
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }

    def clean_minimum_spend_minor(self) -> int:
        return self.cleaned_data.get("minimum_spend_minor") or 0

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
        money_fields_set_currency(self, merchant.currency)
        self.fields["preview_store"].queryset = Store.objects.for_merchant(merchant).order_by("name")  # type: ignore[attr-defined]


class TierForm(_MerchantForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        program = Program.objects.for_merchant(self.merchant).only("tier_basis").first()  # type: ignore[attr-defined]
        if program is None or program.tier_basis == TierBasis.SPEND:
            field = MoneyField(label="Spend", minimum=0, help_text="Spent over the last 12 months to reach the tier.")
            field.set_currency(self.merchant.currency)
            self.fields["threshold"] = field
        else:
            self.fields["threshold"].label = "Points"
            self.fields["threshold"].help_text = "Points earned over the last 12 months to reach the tier."

    class Meta:
        model = Tier
        fields = ["name", "threshold", "earn_multiplier", "benefits"]
        labels = {"earn_multiplier": "Earn multiplier (on the base rate)"}


class RewardForm(_MerchantForm):
    amount_off_minor = MoneyField(label="Amount off", required=False, help_text="For an amount-off reward.")

    class Meta:
        labels = {"free_item_sku": "Free item's SKU"}
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
    minimum_spend_minor = MoneyField(label="Minimum spend", minimum=1)
    reward_credit_minor = MoneyField(label="Credit", required=False)
    budget_minor = MoneyField(label="Total budget")

    def clean_reward_credit_minor(self) -> int:
        return self.cleaned_data.get("reward_credit_minor") or 0

    class Meta:
        labels = {"store": "At store (empty: any)"}
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
    unit_minor = MoneyField(minimum=1, initial=100, label="…for every (spent here)")

    def __init__(self, *args: Any, candidates: Any, currency: str = "EUR", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        money_fields_set_currency(self, currency)
        self.fields["partner"].queryset = candidates  # type: ignore[attr-defined]
