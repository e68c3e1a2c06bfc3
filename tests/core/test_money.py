"""Money as people read it: shown in major units with the currency's symbol, typed the same way, kept in minor units."""

from decimal import Decimal

import pytest
from django import forms

from core.forms import MoneyField
from core.templatetags.money import major_text, money, money_precise


@pytest.mark.parametrize(
    "amount_minor,currency,shown",
    [
        (180_000, "EUR", "€1,800.00"),
        (18_000, "KRW", "₩18,000"),
        (180_000, "TWD", "NT$1,800"),
        (180_050, "TWD", "NT$1,800.50"),
        (1_250, "BHD", "BHD\u00a01.250"),
        (986_061, "KWD", "KWD\u00a0986.061"),
        (-550, "USD", "−$5.50"),
    ],
)
def test_amounts_show_in_major_units_with_the_currencys_symbol_and_decimals(amount_minor, currency, shown):
    assert money(amount_minor, currency) == shown


def test_a_fraction_of_a_cent_is_kept_when_shown():
    assert money_precise(Decimal("1"), "EUR") == "€0.01"
    assert money_precise(Decimal("0.5"), "EUR") == "€0.005"
    assert money_precise(Decimal("1"), "KRW") == "₩1"


@pytest.mark.parametrize(
    "typed,currency,kept",
    [
        ("1,800.00", "EUR", 180_000),
        ("€45.99", "EUR", 4_599),
        ("18000", "KRW", 18_000),
        ("₩18,000", "KRW", 18_000),
        ("1.250", "BHD", 1_250),
        ("0.001", "KWD", 1),
    ],
)
def test_a_typed_amount_becomes_exact_minor_units(typed, currency, kept):
    field = MoneyField()
    field.set_currency(currency)
    assert field.clean(typed) == kept


@pytest.mark.parametrize(
    "typed,currency,message",
    [
        ("18000.5", "KRW", "Amounts in KRW have no decimals: give a whole number."),
        ("45.999", "EUR", "Amounts in EUR have at most 2 decimals."),
        ("1.2345", "BHD", "Amounts in BHD have at most 3 decimals."),
        ("twelve", "EUR", "Give an amount, e.g. 45.99."),
        ("NaN", "EUR", "Give an amount, e.g. 45.99."),
    ],
)
def test_an_amount_the_currency_cannot_hold_is_a_friendly_field_error(typed, currency, message):
    field = MoneyField()
    field.set_currency(currency)
    with pytest.raises(forms.ValidationError) as error:
        field.clean(typed)
    assert error.value.messages == [message]


def test_the_label_names_the_currency_and_a_stored_amount_is_shown_in_major_units():
    class Form(forms.Form):
        budget = MoneyField(label="Budget")

    form = Form(initial={"budget": 1_250})
    form.fields["budget"].set_currency("BHD")
    assert form.fields["budget"].label == "Budget (BHD)"
    assert 'value="1.250"' in str(form["budget"])
    assert major_text(18_000, "KRW") == "18000"
