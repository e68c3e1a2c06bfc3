"""Date ranges and scopes every insight page is filtered by.

A period is a number of whole local days ending yesterday (today is still under
way), compared with as many days just before. A scope is the whole merchant, online
purchases, one store, or one region; in JSON it is "all", "online", "s<id>" or "r<name>".
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from merchants.models import Merchant, Store

PERIODS = {"7d": 7, "28d": 28, "90d": 90, "365d": 365}
PERIOD_LABELS = {"7d": "Last 7 days", "28d": "Last 28 days", "90d": "Last 90 days", "365d": "Last 12 months"}
DEFAULT_PERIOD = "28d"
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
        return PERIOD_LABELS[self.key]


def local_today(merchant: Merchant, now: datetime) -> date:
    return now.astimezone(zoneinfo.ZoneInfo(merchant.timezone)).date()


def period_for(key: str, *, end: date) -> Period:
    days = PERIODS[key]
    current = Window(start=end - timedelta(days=days - 1), end=end)
    previous = Window(start=current.start - timedelta(days=days), end=current.start - timedelta(days=1))
    return Period(key=key, current=current, previous=previous)


def store_scope(store: Store) -> str:
    return f"s{store.pk}"


def region_scope(region: str) -> str:
    return f"r{region}"
