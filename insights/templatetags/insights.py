"""Small helpers for the insight pages: figures, changes, sparklines and heatmap shades."""

from datetime import date
from functools import lru_cache
from typing import Any

from django import template
from django.utils import translation
from django.utils.formats import date_format
from django.utils.html import format_html

from core.templatetags.money import money

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


@register.simple_tag
def figure_value(value: float | None, kind: str, currency: str) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return money(round(value), currency)
    if kind == "percent":
        return percent(value)
    return f"{round(value):,}"


@register.simple_tag
def change_badge(change: float | None, previous: float | None = None) -> str:
    """“▲ 12.0 %” against the previous period, or a plain note when there is nothing to compare with."""
    if change is None:
        return format_html('<span class="change">{}</span>', "no earlier figure" if not previous else "—")
    arrow, css = ("▲", "up") if change > 0 else ("▼", "down") if change < 0 else ("■", "flat")
    return format_html('<span class="change change-{}">{} {} vs previous</span>', css, arrow, percent(abs(change)))


@register.simple_tag
def sparkline(values: list[float], width: int = 160, height: int = 36) -> str:
    """An inline SVG line; decorative (the figure and its change are the text)."""
    if not values or max(values) == min(values) == 0:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{height - 2 - (value - low) / span * (height - 4):.1f}"
        for index, value in enumerate(values)
    )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" aria-hidden="true" focusable="false">'
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{}"/></svg>',
        width,
        height,
        width,
        height,
        points,
    )


@register.simple_tag
def heat(value: float | None, top: float | None) -> str:
    """A background shade for a heatmap cell, proportional to the row's or table's largest value."""
    if not value or not top:
        return ""
    return format_html('style="--heat: {}"', f"{min(value / top, 1):.2f}")


@register.filter
def grid_max(grid: list[list[Any]]) -> float:
    return max((max(row) for row in grid if row), default=0)


@register.filter
def index(sequence: Any, position: int) -> Any:
    try:
        return sequence[position]
    except (IndexError, KeyError, TypeError):
        return None


@register.filter
def count(value: Any) -> str:
    """12345 → “12,345”; nothing → “—”."""
    return "—" if value is None or value == "" else f"{int(value):,}"


@lru_cache(maxsize=4096)
def _day_label(day: date, language: str | None) -> str:
    return date_format(day, "D j M")


@register.filter
def day_label(day: date) -> str:
    """“Mon 3 Nov” in the active language, remembered: a year's table formats 365 of them per request, and each
    format looks up translated day and month names (a third of the overview page's time)."""
    return _day_label(day, translation.get_language())
