"""Input of Settings → Payment sources. Forms check shape; the services in payments.services decide.

A signing secret is taken by a password input that never renders its value: a form shown again after an
error comes back with the field empty, so no page ever holds a secret.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import GuardedForm
from core.providers import PaymentProvider
from merchants.models import Merchant, Store
from payments.models import EventStatus
from payments.services.sources import MAX_OVERLAP

MAX_OVERLAP_HOURS = int(MAX_OVERLAP.total_seconds() // 3600)


def _secret_field(label: Any, help_text: Any, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=500,
        required=required,
        help_text=help_text,
        # render_value=False: an error page shows the field empty, never the secret typed into it.
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )


def _store_field(merchant: Merchant, label: Any, help_text: Any) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Store.objects.for_merchant(merchant).filter(is_active=True).order_by("name"),
        required=False,
        label=label,
        help_text=help_text,
        empty_label=_("No default store"),
    )


class _SourceFieldsForm(GuardedForm):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("How your team recognises it, e.g. “Stripe — shops”.")
    )
    account = forms.CharField(
        label=_("Provider account id"),
        max_length=100,
        required=False,
        help_text=_(
            "Stripe: your account id (acct_…). Square: your merchant id. Fidel API: your program id. "
            "Adyen: your merchant account. Cards are recognised within this account."
        ),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "off"}),
    )
    auth_expiry_days = forms.IntegerField(
        label=_("Authorisations expire after (days)"),
        min_value=1,
        max_value=60,
        initial=7,
        help_text=_("A payment authorised but never captured or cleared within this many days is voided."),
    )

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_store"] = _store_field(
            merchant,
            _("Default store"),
            _("Where an in-store payment lands when the provider names no location (Stripe Terminal, for one)."),
        )


class SourceCreateForm(_SourceFieldsForm):
    """Add a source (Settings → Payment sources → Add a source)."""

    field_order = ["provider", "name", "account", "default_store", "secret", "auth_expiry_days"]

    provider = forms.ChoiceField(label=_("Provider"), choices=PaymentProvider.choices)

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, merchant=merchant, **kwargs)
        self.fields["secret"] = _secret_field(
            _("Signing secret"),
            _(
                "Paste the secret the provider shows for this webhook, if you have it. Stripe and Fidel show it "
                "only once you have registered the webhook URL: leave it empty, add the source, give the provider "
                "the URL, then paste the secret on the source's page. Kept for verifying signatures, never shown "
                "again."
            ),
            required=False,
        )
        self.order_fields(self.field_order)


class SourceUpdateForm(_SourceFieldsForm):
    """Edit a source's name, account, default store and expiry (its provider and secret are changed elsewhere)."""

    field_order = ["name", "account", "default_store", "auth_expiry_days"]

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, merchant=merchant, **kwargs)
        self.order_fields(self.field_order)


class SecretRotateForm(GuardedForm):
    secret = _secret_field(
        _("New signing secret"),
        _("Paste the new secret once the provider has made it; the current one keeps verifying for the overlap."),
    )
    overlap_hours = forms.IntegerField(
        label=_("Overlap (hours)"),
        min_value=0,
        max_value=MAX_OVERLAP_HOURS,
        initial=24,
        help_text=_("How long the current secret keeps verifying, while the provider switches over (at most 168)."),
    )


class LocationMapForm(GuardedForm):
    """Which store one provider location is; saving replays the events that waited for it."""

    location_id = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"] = forms.ModelChoiceField(
            queryset=Store.objects.for_merchant(merchant).filter(is_active=True).order_by("name"),
            required=False,
            label=_("Store"),
            empty_label=_("Not mapped"),
        )


class EventFilterForm(GuardedForm):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All statuses")), *EventStatus.choices], required=False
    )
