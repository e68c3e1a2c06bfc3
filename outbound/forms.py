from django import forms
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant, MerchantAPIKey
from outbound.models import EventType


class EndpointForm(forms.Form):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )
    api_key = forms.ModelChoiceField(
        label=_("Integration's API key"),
        queryset=MerchantAPIKey.objects.none(),
        required=False,
        help_text=_("Changes this key makes through the API are not sent back to this endpoint."),
    )

    def __init__(self, *args: object, merchant: Merchant, with_api_key: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if with_api_key:
            self.fields["api_key"].queryset = MerchantAPIKey.objects.for_merchant(merchant).filter(revoked=False)  # type: ignore[attr-defined]
        else:
            del self.fields["api_key"]
