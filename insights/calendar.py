"""Public holidays and promotion days, for the forecasts.

A store has a time zone but no country. The IANA time-zone database, which every
store's zone comes from, also says which country each zone belongs to (its
`zone.tab`, shipped in the `tzdata` package): Europe/London is GB, America/Chicago
is US. That is the mapping used here; a zone it does not name (UTC, an old alias such
as US/Eastern) gives no country, so no holidays, and the demand page says so.

Promotions are the merchant's broadcast campaigns and offers. They live in apps beside
and above insights (loyalty, campaigns), which insights may not import: each registers
its promotion windows with `core.promotions`, which insights reads.
"""

import functools
from collections import defaultdict
from datetime import date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from core import promotions
from merchants.models import Merchant, Store

# Broadcasts only: a triggered campaign (a thank-you, a win-back) runs all year and is no promotion.


@functools.cache
def _zone_countries() -> dict[str, str]:
    text = (resources.files("tzdata.zoneinfo") / "zone.tab").read_text(encoding="utf-8")
    countries = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone, *_comment = line.split("\t")
            countries[zone] = country
    return countries


def country_for_timezone(zone: str) -> str | None:
    """The ISO 3166 country of an IANA time zone, or None (UTC, an alias, a zone shared by no country)."""
    return _zone_countries().get(zone)


def holidays_between(country: str | None, start: date, end: date) -> dict[date, str]:
    """The country's public holidays from `start` to `end` inclusive, with their names; none without a country."""
    if country is None:
        return {}
    try:
        calendar = holiday_calendars.country_holidays(country, years=range(start.year, end.year + 1))
    except NotImplementedError:  # a country the package has no calendar for
        return {}
    return {day: str(name) for day, name in sorted(calendar.items()) if start <= day <= end}


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def promotion_days(*, merchant: Merchant, stores: list[Store], start: date, end: date) -> dict[int | None, set[date]]:
    """Local days from `start` to `end` on which a promotion of the merchant ran (or is planned to), per store
    id; None for online. A promotion without a store runs in every store and online."""
    zones: dict[int | None, ZoneInfo] = {store.pk: ZoneInfo(store.timezone) for store in stores}
    zones[None] = ZoneInfo(merchant.timezone)
    windows: list[tuple[int | None, datetime, datetime]] = []
    since = datetime.combine(start - timedelta(days=1), datetime.min.time(), tzinfo=zones[None])
    until = datetime.combine(end + timedelta(days=1), datetime.max.time(), tzinfo=zones[None])
    windows.extend(promotions.windows(merchant, since, until))
    result: dict[int | None, set[date]] = defaultdict(set)
    for store_id, begins, finish in windows:
        if store_id is not None and store_id not in zones:
            continue  # a store that is gone
        targets: list[int | None] = [store_id] if store_id is not None else list(zones)
        for target in targets:
            result[target].update(day for day in _days(begins, finish, zones[target]) if start <= day <= end)
    return dict(result)
