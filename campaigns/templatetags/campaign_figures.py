"""Figures of the campaign report: rates as percentages, differences of rates in points."""

from django import template

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """0.1234 → "12.3 %"."""
    return "—" if rate is None else f"{rate * 100:.1f} %"


@register.filter
def points(difference: float | None) -> str:
    """A difference of two rates, 0.012 → "+1.2 pts"."""
    if difference is None:
        return "—"
    value = difference * 100
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return f"{sign}{abs(value):.1f} pts"


@register.filter
def rounded(value: float | None) -> int | None:
    """A float of minor units → an int the money filter takes."""
    return None if value is None else round(value)
