"""Every form of the project refuses a card number in any field, with a friendly field error.

Project forms subclass `GuardedForm` or `GuardedModelForm` (a test fails on one that does
not). Each submitted value is read by the one rule (`core.pan`): a visible field as free
text (a name or a note never holds 13–19 Luhn-valid digits, even glued to letters), a
hidden field as an identifier (a token, a ticket). A form with such a value is invalid, so
nothing of it is saved, and the value is never shown back in the page.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.pan import contains_card_number
from core.templatetags.money import currency_symbol, major_text, minor_digits

CARD_NUMBER_MESSAGE = _("This looks like a card number. For your safety we never take card numbers: please remove it.")


class CardNumberGuard:
    """Mixin for a Django form: checks every submitted value after the form's own cleaning."""

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        if not getattr(self, "is_bound", False):
            return
        for name, field in self.fields.items():
            bound = self[name]  # type: ignore[index]
            values = bound.data if isinstance(bound.data, list | tuple) else [bound.data]
            free_text = not field.widget.is_hidden
            if any(isinstance(value, str) and contains_card_number(value, free_text=free_text) for value in values):
                self._refuse(name, bound, shown=not field.widget.is_hidden)

    def _refuse(self, name: str, bound: Any, *, shown: bool) -> None:
        self.add_error(name, CARD_NUMBER_MESSAGE)  # type: ignore[attr-defined]
        if not shown:  # a hidden field's error would not be seen: say it for the whole form
            self.add_error(None, CARD_NUMBER_MESSAGE)  # type: ignore[attr-defined]
        # The page shows the form again: never with the card number in it.
        data = self.data.copy()  # type: ignore[attr-defined]
        data[bound.html_name] = ""
        self.data = data


class GuardedForm(CardNumberGuard, forms.Form):
    pass


class GuardedModelForm(CardNumberGuard, forms.ModelForm):
    pass


class MoneyField(forms.CharField):
    """An amount typed in the currency's major unit ("1,800.00", "18000", "1.250"), cleaned to integer minor units.

    Exact: the text is read as a Decimal and scaled by the currency's decimals (none for KRW, three for BHD); an
    amount with more decimals than the currency has is a field error, never rounded. The initial value (from a
    model instance) is minor units and is shown in major units. `set_currency` names the currency in the label.
    """

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *, currency: str = "EUR", minimum: int = 0, **kwargs: Any) -> None:
        self.currency = currency
        self.minimum = minimum
        self.base_label = kwargs.get("label")
        super().__init__(**kwargs)

    def set_currency(self, currency: str) -> None:
        self.currency = currency.upper()
        if self.base_label:
            self.label = f"{self.base_label} ({currency_symbol(self.currency)})"

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return major_text(value, self.currency)
        return value

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().clean(value)
        if text in (None, ""):
            return None
        cleaned = str(text).strip().replace(",", "").replace(" ", "").replace("\u00a0", "")
        cleaned = cleaned.removeprefix(currency_symbol(self.currency)).strip()
        not_an_amount = _("Give an amount, e.g. %(example)s.") % {"example": self._example()}
        try:
            amount = Decimal(cleaned)
        except InvalidOperation as error:
            raise forms.ValidationError(not_an_amount) from error
        if not amount.is_finite():
            raise forms.ValidationError(not_an_amount)
        digits = minor_digits(self.currency)
        minor = amount.scaleb(digits)
        if minor != minor.to_integral_value():
            if digits == 0:
                message = _("Amounts in %(currency)s have no decimals: give a whole number.")
            else:
                message = ngettext(
                    "Amounts in %(currency)s have at most %(digits)d decimal.",
                    "Amounts in %(currency)s have at most %(digits)d decimals.",
                    digits,
                )
            raise forms.ValidationError(message % {"currency": self.currency, "digits": digits})
        if minor < self.minimum:
            raise forms.ValidationError(
                _("Give at least %(amount)s.") % {"amount": major_text(self.minimum, self.currency)}
            )
        return int(minor)

    def _example(self) -> str:
        return major_text(4599 * 10 ** max(minor_digits(self.currency) - 2, 0), self.currency)


def money_fields_set_currency(form: forms.BaseForm, currency: str) -> None:
    """Every MoneyField of the form reads and labels amounts in this currency."""
    for field in form.fields.values():
        if isinstance(field, MoneyField):
            field.set_currency(currency)
