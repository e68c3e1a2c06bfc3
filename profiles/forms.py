"""Input of the shopper pages. Forms parse and check shape; services decide."""

from typing import Any

from django import forms
from django.conf import settings

from core.forms import GuardedForm
from core.providers import PaymentProvider
from merchants.models import Merchant, Store
from profiles.models import SignupPointKind


class ShopperSearchForm(GuardedForm):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search shoppers",
        help_text="Name, email, phone number, or the last four digits of a card.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "spellcheck": "false"}),
    )
    store = forms.ModelChoiceField(queryset=Store.objects.none(), required=False, empty_label="All stores")

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.for_merchant(merchant).order_by("name")  # type: ignore[attr-defined]


class MergeForm(GuardedForm):
    """Two profiles of one person: which to keep, and why (the merge log shows it)."""

    first = forms.UUIDField(widget=forms.HiddenInput)
    second = forms.UUIDField(widget=forms.HiddenInput)
    keep = forms.ChoiceField(choices=[("first", "First"), ("second", "Second")], widget=forms.RadioSelect)
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("first") and cleaned.get("first") == cleaned.get("second"):
            raise forms.ValidationError("Choose two different profiles.")
        if cleaned.get("keep") and cleaned.get("first") and cleaned.get("second"):
            kept, other = ("first", "second") if cleaned["keep"] == "first" else ("second", "first")
            cleaned["survivor_id"], cleaned["merged_id"] = cleaned[kept], cleaned[other]
        return cleaned


class EraseForm(GuardedForm):
    reason = forms.CharField(
        max_length=500,
        label="Why is this shopper being erased?",
        help_text="For example: “Asked by email on 3 May”. It is kept in the audit log.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label="I understand that names, contacts, cards and preferences are deleted for good.",
    )


class SignupPointForm(GuardedForm):
    """A kiosk or Wi-Fi portal staff register (Settings → Kiosks and Wi-Fi)."""

    kind = forms.ChoiceField(choices=SignupPointKind.choices, label="Kind", initial=SignupPointKind.KIOSK)
    store = forms.ModelChoiceField(queryset=Store.objects.none(), label="Store")
    name = forms.CharField(max_length=100, help_text="How staff recognise it, e.g. “Level 2, by the escalators”.")
    welcome_message = forms.CharField(
        max_length=300,
        required=False,
        label="Welcome reward",
        help_text="Shown to shoppers once they have signed up, e.g. “10 % off your next purchase today”; in any "
        "language written below, shoppers reading that language see that text instead.",
    )
    has_card_reader = forms.BooleanField(
        required=False,
        label="Kiosk has a card reader",
        help_text="The reader hands the page a processor card id, so shoppers can link a card.",
    )
    card_reader_provider = forms.ChoiceField(
        required=False,
        label="Card reader's provider",
        choices=[
            ("", "Other, or none"),
            (PaymentProvider.STRIPE, "Stripe Terminal"),
            (PaymentProvider.SQUARE, PaymentProvider.SQUARE.label),
            (PaymentProvider.ADYEN, PaymentProvider.ADYEN.label),
        ],
        help_text="A card tapped here is then recognised in that provider's later payments in your stores.",
    )
    card_reader_account = forms.CharField(
        required=False,
        max_length=100,
        label="Card reader's provider account",
        help_text=(
            "The account the reader belongs to, as under Settings → Payment sources: a Stripe account id (acct_…), "
            "a Square merchant id or an Adyen merchant account."
        ),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "off"}),
    )
    redirect_url = forms.URLField(
        assume_scheme="https",
        max_length=500,
        required=False,
        label="Continue to (Wi-Fi only)",
        help_text="Where shoppers go once signed up on the Wi-Fi portal.",
    )

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.for_merchant(merchant).filter(is_active=True).order_by("name")  # type: ignore[attr-defined]
        # The welcome reward as shoppers of each language read it, right after the one for every language.
        order = list(self.fields)
        for code, name in settings.LANGUAGES:
            self.fields[f"welcome_message_{code}"] = forms.CharField(
                max_length=300, required=False, label=f"Welcome reward in {name}"
            )
        position = order.index("welcome_message") + 1
        self.order_fields(
            [*order[:position], *(f"welcome_message_{code}" for code, _name in settings.LANGUAGES), *order[position:]]
        )

    def welcome_messages(self) -> dict[str, str]:
        return {
            code: self.cleaned_data[f"welcome_message_{code}"]
            for code, _name in settings.LANGUAGES
            if self.cleaned_data.get(f"welcome_message_{code}")
        }
