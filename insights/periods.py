"""Date ranges and scopes every insight page is filtered by.

A period is a number of whole local days ending yesterday (today is still under
way), compared with as many days just before; or any from–to range of past days
(a "custom" period), compared the same way. A scope is the whole merchant, online
purchases, one store, or one region; in JSON it is "all", "online", "s<id>" or "r<name>".
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from merchants.models import Merchant, Store

PERIODS = {"7d": 7, "28d": 28, "90d": 90, "365d": 365}
PERIOD_LABELS = {"7d": "Last 7 days", "28d": "Last 28 days", "90d": "Last 90 days", "365d": "Last 12 months"}
DEFAULT_PERIOD = "28d"
CUSTOM = "custom"
# A custom range reaches back at most this far: the rollups it reads keep two years and a bit.
CUSTOM_MAX_DAYS = 731
ALL, ONLINE = "all", "online"


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]


@dataclass(frozen=True)
class Period:
    key: str
    current: Window
    previous: Window

    @property
    def label(self) -> str:
        if self.key == CUSTOM:
            return f"{_day(self.current.start)} – {_day(self.current.end)}"
        return PERIOD_LABELS[self.key]

    @property
    def is_custom(self) -> bool:
        return self.key == CUSTOM


# What a page asks for: a preset's key ("28d"), or a custom (first day, last day).
PeriodChoice = str | tuple[date, date]


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def local_today(merchant: Merchant, now: datetime) -> date:
    return now.astimezone(zoneinfo.ZoneInfo(merchant.timezone)).date()


def period_for(key: PeriodChoice, *, end: date) -> Period:
    """The preset ending on `end`, or a custom range (clipped to `end`), each with as many days before it."""
    if isinstance(key, tuple):
        first, last = key
        last = min(last, end)
        first = min(first, last)
        current = Window(start=first, end=last)
        previous = Window(start=first - timedelta(days=current.days), end=first - timedelta(days=1))
        return Period(key=CUSTOM, current=current, previous=previous)
    days = PERIODS[key]
    current = Window(start=end - timedelta(days=days - 1), end=end)
    previous = Window(start=current.start - timedelta(days=days), end=current.start - timedelta(days=1))
    return Period(key=key, current=current, previous=previous)


def store_scope(store: Store) -> str:
    return f"s{store.pk}"


def region_scope(region: str) -> str:
    return f"r{region}"
