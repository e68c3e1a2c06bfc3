"""Input of the campaign pages. Forms parse and check shape; services (campaigns.services.drafts) decide."""

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignSettings,
    Offer,
    OfferKind,
    Segment,
    SegmentSnapshot,
    Trigger,
)
from campaigns.services.drafts import TRIGGER_PARAMS, VARIANT_KEYS, VariantDraft
from core.forms import GuardedForm, GuardedModelForm, MoneyField, money_fields_set_currency
from core.templatetags.money import currency_symbol, major_text
from loyalty.models import Offer as CardLinkedOffer
from merchants.models import Merchant, Store
from profiles.models import ConsentChannel

LANGUAGES = list(settings.LANGUAGES)
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _scoped(field: forms.Field, queryset: Any) -> None:
    field.queryset = queryset  # type: ignore[attr-defined]


class CampaignForm(GuardedForm):
    """The builder: the campaign's settings, then one subject/body per variant and language."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=CampaignKind.choices)
    trigger = forms.ChoiceField(
        choices=[("", "— none (scheduled) —"), *Trigger.choices],
        required=False,
        help_text="Real-time, lifecycle and location campaigns start on a trigger.",
    )
    trigger_value = forms.CharField(
        required=False,
        max_length=30,
        label="Trigger setting",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text="Only for the triggers that take a setting.",
    )
    channel = forms.ChoiceField(choices=ConsentChannel.choices)
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, empty_label="— every shopper —")
    snapshot = forms.ModelChoiceField(
        queryset=SegmentSnapshot.objects.none(),
        required=False,
        empty_label="— none —",
        label="Or a frozen snapshot",
    )
    store = forms.ModelChoiceField(queryset=Store.objects.none(), required=False, empty_label="— any store —")
    offer = forms.ModelChoiceField(queryset=Offer.objects.none(), required=False, empty_label="— no offer —")
    send_now = forms.BooleanField(
        required=False, label="Send now", help_text="Broadcasts, recurring and greetings: as soon as it is launched."
    )
    scheduled_at = forms.DateTimeField(
        required=False, widget=DATETIME, label="Or send at", help_text="A later time in the merchant's time zone."
    )
    repeat_every_days = forms.IntegerField(required=False, min_value=1, label="Repeat every (days)")
    holdout_percent = forms.IntegerField(
        min_value=0,
        max_value=50,
        initial=10,
        label="Holdout (%)",
        help_text="Shoppers drawn at random who get nothing: the control group.",
    )
    attribution_days = forms.IntegerField(min_value=1, max_value=90, initial=7, label="Attribution window (days)")
    cost_per_message = MoneyField(required=False, label="Cost per message")

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        money_fields_set_currency(self, merchant.currency)
        self.fields["cost_per_message"].help_text = "Counts toward the ROI."
        self.trigger_settings = trigger_settings(merchant.currency)
        _scoped(self.fields["segment"], Segment.objects.for_merchant(merchant).order_by("name"))
        _scoped(self.fields["snapshot"], SegmentSnapshot.objects.for_merchant(merchant).order_by("-created_at"))
        _scoped(self.fields["store"], Store.objects.for_merchant(merchant).order_by("name"))
        _scoped(self.fields["offer"], Offer.objects.for_merchant(merchant).order_by("-valid_until"))
        for key in VARIANT_KEYS:
            self.fields[f"weight_{key}"] = forms.IntegerField(
                min_value=1,
                max_value=100,
                required=False,
                label="Share (% of the audience)",
                # said once, under A's share: the same help under B too reads as a fault
                help_text="Variant A + variant B + the holdout make 100 %; without a B message, A gets every "
                "shopper not held out."
                if key == "A"
                else "",
            )
            for code, language in LANGUAGES:
                self.fields[f"subject_{key}_{code}"] = forms.CharField(
                    max_length=200, required=False, label=f"Subject ({language})"
                )
                self.fields[f"body_{key}_{code}"] = forms.CharField(
                    widget=forms.Textarea(attrs={"rows": 4}),
                    required=False,
                    label=f"Message ({language})",
                )

    @staticmethod
    def initial_for(campaign: Campaign) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": campaign.name,
            "kind": campaign.kind,
            "trigger": campaign.trigger,
            "trigger_value": _trigger_value_text(campaign),
            "channel": campaign.channel,
            "segment": campaign.segment_id,
            "snapshot": campaign.snapshot_id,
            "store": campaign.store_id,
            "offer": campaign.offer_id,
            "scheduled_at": campaign.scheduled_at,
            "send_now": campaign.scheduled_at is None and campaign.kind in SCHEDULED_KINDS,
            "repeat_every_days": campaign.repeat_every_days,
            "holdout_percent": campaign.holdout_percent,
            "attribution_days": campaign.attribution_days,
            "cost_per_message": major_text(campaign.cost_per_message_minor, campaign.merchant.currency),
        }
        for variant in campaign.variants.all():
            initial[f"weight_{variant.key}"] = variant.weight
            for template in variant.templates.all():
                initial[f"subject_{variant.key}_{template.language}"] = template.subject
                initial[f"body_{variant.key}_{template.language}"] = template.body
        return initial

    def variant_sections(self) -> list[dict[str, Any]]:
        """For the template: per variant, its share and a (language, subject, body) row per language."""
        return [
            {
                "key": key,
                "weight": self[f"weight_{key}"],
                "languages": [
                    {
                        "code": code,
                        "name": name,
                        "subject": self[f"subject_{key}_{code}"],
                        "body": self[f"body_{key}_{code}"],
                    }
                    for code, name in LANGUAGES
                ],
            }
            for key in VARIANT_KEYS
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("send_now") and cleaned.get("scheduled_at"):
            self.add_error("scheduled_at", "Choose one: send now, or a time to send at.")
        trigger = cleaned.get("trigger") or ""
        text = (cleaned.get("trigger_value") or "").strip()
        if trigger not in TRIGGER_PARAMS:
            cleaned["trigger_value"] = None
        elif text == "":
            cleaned["trigger_value"] = None  # the service names what is missing
        elif trigger == Trigger.SPEND_OVER:
            amount = MoneyField(currency=self.merchant.currency, minimum=1)
            try:
                cleaned["trigger_value"] = amount.clean(text)
            except forms.ValidationError as error:
                self.add_error("trigger_value", error)
        elif text.isdigit() and int(text) >= 1:
            cleaned["trigger_value"] = int(text)
        else:
            self.add_error("trigger_value", f"Give {TRIGGER_PARAMS[trigger][1]}: a whole number above 0.")
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        holdout = data["holdout_percent"]
        variants: dict[str, VariantDraft] = {}
        for key in VARIANT_KEYS:
            templates = {
                code: (data.get(f"subject_{key}_{code}") or "", data.get(f"body_{key}_{code}") or "")
                for code, _name in LANGUAGES
            }
            if key == "A" or any(body.strip() for _subject, body in templates.values()):
                variants[key] = VariantDraft(
                    weight=data.get(f"weight_{key}") or default_share(holdout), templates=templates
                )
        trigger = data["trigger"] or ""
        params: dict[str, Any] = {}
        if trigger in TRIGGER_PARAMS and data.get("trigger_value") is not None:
            params[TRIGGER_PARAMS[trigger][0]] = data["trigger_value"]
        return {
            "name": data["name"],
            "kind": data["kind"],
            "channel": data["channel"],
            "trigger": trigger,
            "trigger_params": params,
            "segment": data.get("segment"),
            "snapshot": data.get("snapshot"),
            "store": data.get("store"),
            "offer": data.get("offer"),
            "holdout_percent": data["holdout_percent"],
            "attribution_days": data["attribution_days"],
            "cost_per_message_minor": data.get("cost_per_message") or 0,
            "scheduled_at": data.get("scheduled_at"),
            "send_now": bool(data.get("send_now")),
            "repeat_every_days": data.get("repeat_every_days"),
            "variants": variants,
        }


SCHEDULED_KINDS = (CampaignKind.BROADCAST, CampaignKind.RECURRING, CampaignKind.GREETING)


def default_share(holdout_percent: int, *, variants: int = 2) -> int:
    """Each variant's share when none is typed: the shoppers not held out, split evenly (10 % holdout: 45 + 45)."""
    return max((100 - holdout_percent) // variants, 1)


def trigger_settings(currency: str) -> dict[str, dict[str, str]]:
    """Per trigger that takes a setting: the label and help its field shows (the builder swaps them as the
    trigger changes)."""
    symbol = currency_symbol(currency)
    return {
        Trigger.SPEND_OVER: {"label": f"Purchase amount over ({symbol})", "help": "A purchase of at least this."},
        Trigger.WIN_BACK: {"label": "Days without a purchase", "help": "Sent once a shopper has lapsed this long."},
        Trigger.POINTS_EXPIRING: {"label": "Days before points expire", "help": "Sent this many days ahead."},
        Trigger.VISIT: {"label": "Hours between messages", "help": "The same shopper waits this long for another."},
    }


def _trigger_value_text(campaign: Campaign) -> str | None:
    if not campaign.trigger_params:
        return None
    value = next(iter(campaign.trigger_params.values()))
    if campaign.trigger == Trigger.SPEND_OVER and isinstance(value, int):
        return major_text(value, campaign.merchant.currency)
    return str(value)


class AudienceHintForm(GuardedForm):
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False)
    snapshot = forms.ModelChoiceField(queryset=SegmentSnapshot.objects.none(), required=False)
    holdout_percent = forms.IntegerField(min_value=0, max_value=50, required=False)
    attribution_days = forms.IntegerField(min_value=1, max_value=90, required=False)
    channel = forms.ChoiceField(choices=ConsentChannel.choices, required=False)
    trigger = forms.ChoiceField(choices=Trigger.choices, required=False)

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _scoped(self.fields["segment"], Segment.objects.for_merchant(merchant))
        _scoped(self.fields["snapshot"], SegmentSnapshot.objects.for_merchant(merchant))


class PreviewForm(GuardedForm):
    variant = forms.ChoiceField(choices=[(key, key) for key in VARIANT_KEYS])
    language = forms.ChoiceField(choices=LANGUAGES)


class TestSendForm(PreviewForm):
    to = forms.CharField(max_length=254, label="Send a test to", help_text="An email address or phone number.")


class OfferForm(GuardedForm):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=OfferKind.choices)
    description = forms.CharField(max_length=300, required=False, help_text="What the shopper reads on the offer page.")
    card_linked_offer = forms.ModelChoiceField(
        queryset=CardLinkedOffer.objects.none(),
        required=False,
        label="Card-linked offer (loyalty)",
        help_text="Card-linked only: applies itself to a qualifying linked-card purchase.",
    )
    amount_off = MoneyField(required=False, label="Amount off")
    percent_off = forms.IntegerField(min_value=0, max_value=100, required=False, label="Percent off")
    free_item = forms.CharField(max_length=100, required=False)
    store = forms.ModelChoiceField(
        queryset=Store.objects.none(),
        required=False,
        empty_label="— every store —",
        help_text="The daily window is read in this store's timezone.",
    )
    valid_from = forms.DateTimeField(widget=DATETIME)
    valid_until = forms.DateTimeField(widget=DATETIME)
    daily_start = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        label="Daily from",
        help_text="Optional, e.g. 16:00.",
    )
    daily_end = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        label="Daily until",
        help_text="e.g. 20:00 (the offer closes at that minute).",
    )
    max_redemptions = forms.IntegerField(min_value=1, required=False, label="Cap (most redemptions)")

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        money_fields_set_currency(self, merchant.currency)
        _scoped(self.fields["store"], Store.objects.for_merchant(merchant).order_by("name"))
        _scoped(self.fields["card_linked_offer"], CardLinkedOffer.objects.for_merchant(merchant).order_by("-ends_at"))

    @staticmethod
    def initial_for(offer: Offer) -> dict[str, Any]:
        return {
            "name": offer.name,
            "kind": offer.kind,
            "description": offer.description,
            "card_linked_offer": offer.card_linked_offer_id,
            "amount_off": major_text(offer.amount_off_minor, offer.merchant.currency) if offer.amount_off_minor else "",
            "percent_off": offer.percent_off or None,
            "free_item": offer.free_item,
            "store": offer.store_id,
            "valid_from": offer.valid_from,
            "valid_until": offer.valid_until,
            "daily_start": offer.daily_start,
            "daily_end": offer.daily_end,
            "max_redemptions": offer.max_redemptions,
        }

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["amount_off_minor"] = data.pop("amount_off") or 0
        data["percent_off"] = data.get("percent_off") or 0
        return data


class CampaignSettingsForm(GuardedModelForm):
    class Meta:
        model = CampaignSettings
        fields = [
            "quiet_hours_start",
            "quiet_hours_end",
            "frequency_cap_messages",
            "frequency_cap_days",
            "default_holdout_percent",
            "sender_name",
            "reply_to",
        ]
        labels = {
            "quiet_hours_start": "Quiet hours from",
            "quiet_hours_end": "Quiet hours until",
            "frequency_cap_messages": "At most … messages",
            "frequency_cap_days": "… per this many days (all campaigns together)",
            "default_holdout_percent": "Default holdout (%)",
        }
        help_texts = {"quiet_hours_start": "In each shopper's timezone: messages wait until quiet hours end."}
        widgets = {
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }


class FeedbackFilterForm(GuardedForm):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")
    store = forms.ModelChoiceField(queryset=Store.objects.none(), required=False, empty_label="All stores")

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _scoped(self.fields["store"], Store.objects.for_merchant(merchant).order_by("name"))


class FeedbackSurveyForm(GuardedForm):
    """The shopper's answer; labels are in the template so they are translated with the page."""

    score = forms.TypedChoiceField(choices=[(str(n), str(n)) for n in range(11)], coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


class ProgramHoldoutForm(GuardedForm):
    is_enabled = forms.BooleanField(
        required=False,
        label=_("Keep a program holdout"),
        help_text=_("A share of shoppers gets no marketing message for a quarter, to measure the whole program."),
    )
    percent = forms.IntegerField(
        min_value=1,
        max_value=20,
        label=_("Share held out (%)"),
        help_text=_("5–10 % is usual. A new share holds from the next quarter's draw."),
    )
