import zoneinfo

from django import forms

from core.forms import GuardedForm, GuardedModelForm
from merchants.models import Merchant, Store
from merchants.permissions import API_SCOPES, Role

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class StoreForm(GuardedModelForm):
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, label="Time zone")
    network_location_ids = forms.CharField(
        required=False,
        label="Network location ids and MIDs",
        help_text="Comma-separated ids by which card networks name this store.",
    )

    class Meta:
        model = Store
        fields = [
            "name",
            "address",
            "region",
            "timezone",
            "latitude",
            "longitude",
            "geofence_radius_m",
            "network_location_ids",
            "is_active",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}
        labels = {"geofence_radius_m": "Geofence radius (metres)"}

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["network_location_ids"] = ", ".join(self.instance.network_location_ids)

    def clean_network_location_ids(self) -> list[str]:
        raw = self.cleaned_data.get("network_location_ids") or ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    def _post_clean(self) -> None:
        # Uniqueness and location-id clashes are checked by the service, which
        # reports them back onto the form's fields.
        pass


class MerchantSettingsForm(GuardedModelForm):
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, label="Time zone")

    class Meta:
        model = Merchant
        fields = ["name", "currency", "timezone", "default_language", "require_mfa"]
        labels = {"require_mfa": "Require two-factor sign-in for all staff"}

    def _post_clean(self) -> None:
        pass

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").upper()


class InvitationForm(GuardedForm):
    # 254: what the email columns hold (RFC 5321's practical limit).
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STORE_STAFF)
    store = forms.ModelChoiceField(
        queryset=Store.objects.none(), required=False, help_text="Store staff only: limit them to one store."
    )

    def __init__(self, *args, merchant: Merchant, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.for_merchant(merchant)


class MembershipForm(GuardedForm):
    role = forms.ChoiceField(choices=Role.choices)
    store = forms.ModelChoiceField(queryset=Store.objects.none(), required=False)

    def __init__(self, *args, merchant: Merchant, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.for_merchant(merchant)


class APIKeyForm(GuardedForm):
    name = forms.CharField(max_length=50, help_text="What uses this key, e.g. “Web checkout plugin”.")
    scopes = forms.MultipleChoiceField(choices=API_SCOPES, widget=forms.CheckboxSelectMultiple)


class MerchantSwitchForm(GuardedForm):
    merchant_id = forms.IntegerField()
