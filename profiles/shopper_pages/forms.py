"""Forms of the shopper pages. Every message a shopper may read goes through gettext."""

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.forms import GuardedForm
from profiles.consent_wording import CONSENT_QUESTIONS, ConsentQuestion
from profiles.models import CardScheme, ConsentChannel
from profiles.services.shoppers import normalize_email, normalize_phone

PREFERENCE_LABELS = {
    "sizes": _("Sizes you wear"),
    "colours": _("Colours you like"),
    "favourite_categories": _("What you shop for"),
    "brands": _("Brands you like"),
    "styles": _("Styles you like"),
}
# Each field its own example: one help text repeated under every field reads as a fault.
PREFERENCE_HELP = {
    "sizes": _("Separate with commas, e.g. M, 38"),
    "colours": _("Separate with commas, e.g. navy, green"),
    "favourite_categories": _("The kinds of things you buy here, e.g. shoes, coffee"),
    "brands": _("Separate with commas, e.g. the brands you look for first"),
    "styles": _("Separate with commas, e.g. casual, classic"),
}
# The kiosk asks for a few; the preference centre shows them all.
KIOSK_PREFERENCES = ("sizes", "favourite_categories")


def _split(value: str) -> list[str]:
    return [part.strip()[:60] for part in value.split(",") if part.strip()][:20]


def _consent_fields(form: forms.Form, questions: tuple[ConsentQuestion, ...], merchant_name: str) -> None:
    for question in questions:
        form.fields[question.field_name] = forms.BooleanField(
            required=False, label=question.wording % {"merchant": merchant_name}
        )


def consent_choices(form: forms.Form, questions: tuple[ConsentQuestion, ...]) -> dict[tuple[str, str], bool]:
    return {(q.channel, q.purpose): bool(form.cleaned_data.get(q.field_name)) for q in questions}


class _ContactMixin:
    """Email and phone, normalised as the services want them, with errors in the shopper's language."""

    cleaned_data: dict[str, Any]

    def clean_email(self) -> str:
        value = self.cleaned_data.get("email") or ""
        if not value:
            return ""
        try:
            return normalize_email(value)
        except ApplicationError as error:
            raise forms.ValidationError(_("Enter a valid email address.")) from error

    def clean_phone(self) -> str:
        value = (self.cleaned_data.get("phone") or "").strip()
        if not value:
            return ""
        try:
            return normalize_phone(value)
        except ApplicationError as error:
            raise forms.ValidationError(
                _("Enter the phone number with its country code, e.g. +82 10 1234 5678.")
            ) from error


class KioskSignupForm(_ContactMixin, GuardedForm):
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False, widget=forms.EmailInput)
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=32, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    # Filled by the kiosk's card reader integration (a processor card id, never a card number).
    card_token = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    card_last_four = forms.RegexField(regex=r"^\d{4}$", required=False, widget=forms.HiddenInput)
    card_scheme = forms.ChoiceField(choices=CardScheme.choices, required=False, widget=forms.HiddenInput)
    link_card = forms.BooleanField(required=False, label=_("Link the card I tapped, to collect rewards on it"))

    def __init__(self, *args: Any, merchant_name: str, has_card_reader: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _consent_fields(self, CONSENT_QUESTIONS, merchant_name)
        for name in KIOSK_PREFERENCES:
            self.fields[name] = forms.CharField(
                label=PREFERENCE_LABELS[name], max_length=300, required=False, help_text=PREFERENCE_HELP[name]
            )
        if not has_card_reader:
            for name in ("card_token", "card_last_four", "card_scheme", "link_card"):
                del self.fields[name]
        self.questions = CONSENT_QUESTIONS
        self.preference_names = KIOSK_PREFERENCES
        # A shared screen: the browser must not offer the previous shopper's answers.
        for bound_field in self.fields.values():
            bound_field.widget.attrs.setdefault("autocomplete", "off")

    def consent_fields(self) -> list[forms.BoundField]:
        return [self[q.field_name] for q in self.questions]

    def preference_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.preference_names]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        email, phone = data.get("email"), data.get("phone")
        if not email and not phone and "email" not in self.errors and "phone" not in self.errors:
            self.add_error("email", _("Give an email address or a mobile number, so we can reach you."))
        for question in self.questions:
            if not data.get(question.field_name):
                continue
            if question.channel == ConsentChannel.EMAIL and not email and "email" not in self.errors:
                self.add_error("email", _("Give an email address to receive emails."))
            if question.channel == ConsentChannel.SMS and not phone and "phone" not in self.errors:
                self.add_error("phone", _("Give a mobile number to receive text messages."))
        if data.get("link_card") and not (data.get("card_token") and data.get("card_last_four")):
            self.add_error("link_card", _("Tap your card on the reader first."))
        return data

    def preferences(self) -> dict[str, list[str]]:
        return {name: _split(self.cleaned_data.get(name) or "") for name in self.preference_names}


class WifiSignupForm(_ContactMixin, GuardedForm):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    # A field people never see: bots that fill every input give themselves away.
    website = forms.CharField(
        required=False, max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"})
    )

    def __init__(self, *args: Any, merchant_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = tuple(q for q in CONSENT_QUESTIONS if q.channel == ConsentChannel.EMAIL)
        _consent_fields(self, self.questions, merchant_name)

    def consent_fields(self) -> list[forms.BoundField]:
        return [self[q.field_name] for q in self.questions]

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class PhoneCodeForm(GuardedForm):
    code = forms.RegexField(
        regex=re.compile(r"^\s*\d{6}\s*$"),
        label=_("Code from the text message"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        error_messages={"invalid": _("The code has six digits.")},
    )
    ticket = forms.CharField(widget=forms.HiddenInput, max_length=500)


class ConsentsForm(GuardedForm):
    def __init__(self, *args: Any, merchant_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = CONSENT_QUESTIONS
        _consent_fields(self, CONSENT_QUESTIONS, merchant_name)

    def choices(self) -> dict[tuple[str, str], bool]:
        return consent_choices(self, self.questions)


class PreferencesForm(GuardedForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in PREFERENCE_LABELS.items():
            self.fields[name] = forms.CharField(
                label=label, max_length=600, required=False, help_text=PREFERENCE_HELP[name]
            )

    def preferences(self) -> dict[str, list[str]]:
        return {name: _split(self.cleaned_data.get(name) or "") for name in PREFERENCE_LABELS}


class EraseForm(GuardedForm):
    confirm = forms.BooleanField(
        label=_("I understand: my account, contacts, cards and preferences will be deleted and cannot be restored.")
    )
