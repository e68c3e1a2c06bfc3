"""Every form of the project refuses a card number in any field, with a friendly field error.

Project forms subclass `GuardedForm` or `GuardedModelForm` (a test fails on one that does
not). Each submitted value is read by the one rule (`core.pan`): a visible field as free
text (a name or a note never holds 13–19 Luhn-valid digits, even glued to letters), a
hidden field as an identifier (a token, a ticket). A form with such a value is invalid, so
nothing of it is saved, and the value is never shown back in the page.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.pan import contains_card_number

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
