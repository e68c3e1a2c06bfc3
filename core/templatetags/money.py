"""`{{ amount_minor|money:currency }}`: an integer of minor units shown as an amount of that currency."""

from decimal import Decimal

from django import template

register = template.Library()

# ISO 4217 currencies whose minor unit is not the hundredth.
_NO_MINOR_UNIT = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV")
_CFA_AND_PACIFIC = ("XAF", "XOF", "XPF")
_THOUSANDTHS = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
MINOR_DIGITS = {
    **dict.fromkeys(_NO_MINOR_UNIT + _CFA_AND_PACIFIC, 0),
    **dict.fromkeys(_THOUSANDTHS, 3),
    "CLF": 4,
    "UYW": 4,
}
# The symbols English-speaking staff read (CLDR's `en` symbols); other currencies are shown with their code.
SYMBOLS = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "ILS": "₪",
    "KRW": "₩",
    "TRY": "₺",
    "TWD": "NT$",
    "HKD": "HK$",
    "CNY": "CN¥",
    "AUD": "A$",
    "CAD": "CA$",
    "NZD": "NZ$",
    "MXN": "MX$",
    "BRL": "R$",
    "PHP": "₱",
    "VND": "₫",
}


# Currencies kept in hundredths whose people write whole amounts (CLDR's cash digits are 0): a whole amount is shown
# without ".00", as a receipt shows it.
WHOLE_IN_CASH = frozenset(("TWD", "HUF", "CRC"))


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get(currency.upper(), 2)


def currency_symbol(currency: str) -> str:
    """ "EUR" → "€", "KWD" → "KWD": what a form label puts beside an amount."""
    code = str(currency or "").upper()
    return SYMBOLS.get(code, code)


def major_text(amount_minor: int | None, currency: str) -> str:
    """1250, "EUR" → "12.50"; 18000, "KRW" → "18000": minor units as typed back into a form (no symbol)."""
    if amount_minor is None:
        return ""
    digits = minor_digits(currency)
    return f"{Decimal(int(amount_minor)).scaleb(-digits):.{digits}f}"


@register.filter
def money(amount_minor: object, currency: str) -> str:
    """1234567, "EUR" → "€12,345.67"; 1500, "JPY" → "¥1,500"; 1500, "KWD" → "KWD 1.500" (a no-break space), as
    CLDR's English writes them, so a page's tables read like its charts (drawn with the browser's Intl)."""
    if amount_minor is None or amount_minor == "":
        return ""
    code = str(currency or "").upper()
    digits = minor_digits(code)
    value = Decimal(int(str(amount_minor))).scaleb(-digits)
    if code in WHOLE_IN_CASH and value == value.to_integral_value():
        digits = 0  # "NT$1,800": the cents exist on paper only
    number = f"{abs(value):,.{digits}f}"
    sign = "−" if value < 0 else ""
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code}\u00a0{number}".strip()


@register.filter
def money_precise(amount_minor: object, currency: str) -> str:
    """A fraction of a minor unit kept: Decimal("0.5"), "EUR" → "€0.005"; Decimal("1"), "EUR" → "€0.01"."""
    if amount_minor is None or amount_minor == "":
        return ""
    code = str(currency or "").upper()
    digits = minor_digits(code)
    value = Decimal(str(amount_minor)).scaleb(-digits).normalize()
    places = max(digits, -int(value.as_tuple().exponent))
    number = f"{abs(value):,.{places}f}"
    sign = "−" if value < 0 else ""
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code}\u00a0{number}".strip()
