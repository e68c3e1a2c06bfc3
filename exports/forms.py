"""The export form: kind, period (days in the merchant's time zone) and store; the API reads its query with it."""

import zoneinfo
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import GuardedForm
from exports.models import ExportKind
from exports.selectors import ExportFilters
from merchants.models import Merchant, Store

# Dates outside these years are typing mistakes, and their midnights could not be held in UTC.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


class ExportForm(GuardedForm):
    kind = forms.ChoiceField(label=_("What"), choices=ExportKind.choices)
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To (included)"), widget=forms.DateInput(attrs={"type": "date"}))
    store = forms.ModelChoiceField(
        label=_("Store"),
        queryset=Store.objects.none(),
        required=False,
        empty_label=_("All stores"),
        help_text=_("Purchases and points: where the purchase was made. Shoppers, consents, messages: home store."),
    )

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.fields["store"].queryset = Store.objects.for_merchant(merchant).order_by("name")  # type: ignore[attr-defined]
        if not self.is_bound:
            today = timezone.now().astimezone(zoneinfo.ZoneInfo(merchant.timezone)).date()
            self.initial.setdefault("date_from", today - timedelta(days=29))
            self.initial.setdefault("date_to", today)
        zone_help = _("Days in the merchant's time zone (%(zone)s).") % {"zone": merchant.timezone}
        self.fields["date_from"].help_text = zone_help

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            if value is not None and not EARLIEST <= value <= LATEST:
                self.add_error(name, _("Choose a date between 1900 and 2999."))
        if date_from and date_to and date_from > date_to and not self.errors:
            self.add_error("date_to", _("The end of the period comes before its start."))
        return cleaned

    def filters(self) -> ExportFilters:
        """The valid form's filters."""
        data = self.cleaned_data
        return ExportFilters(
            kind=data["kind"], date_from=data["date_from"], date_to=data["date_to"], store=data["store"]
        )
