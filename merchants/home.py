"""The home page's cards: each app adds its own, so merchants imports none of them.

An app lists its cards on its AppConfig as `home_cards = (("app.home.some_card", "permission"), …)`:
a function `(*, merchant, membership, periods) -> HomeCard | None` (None: nothing to show). The
home page calls the cards whose permission the signed-in role holds, so a card a role may not open
is never built, let alone shown. A card runs a fixed number of queries, whatever the data size.
"""

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.module_loading import import_string

from merchants.models import Merchant, StaffMembership
from merchants.permissions import role_has_permission


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC-aware datetimes."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Period:
    """A period so far (today, this week) and the same stretch of time one week earlier."""

    key: str
    label: str
    current: Window
    previous: Window


@dataclass(frozen=True)
class HomePeriods:
    """ "Today" and "this week" in the merchant's time zone (weeks start on Monday), each against the
    same stretch of time a week before: today until now against the same weekday last week until the
    same hour, this week so far against last week as far."""

    now: datetime
    today: Period
    week: Period

    @property
    def periods(self) -> tuple[Period, Period]:
        return (self.today, self.week)

    @property
    def earliest(self) -> datetime:
        return min(self.today.previous.start, self.week.previous.start)


def home_periods(*, merchant: Merchant, now: datetime | None = None) -> HomePeriods:
    zone = zoneinfo.ZoneInfo(merchant.timezone)
    now = (now or timezone.now()).astimezone(zone)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = midnight - timedelta(days=midnight.weekday())
    week = timedelta(days=7)

    # Arithmetic on aware datetimes of one zone is wall-clock time: "a week before" stays at local midnight
    # across a change of daylight saving time.
    def period(key: str, label: str, start: datetime) -> Period:
        return Period(key, label, Window(_utc(start), _utc(now)), Window(_utc(start - week), _utc(now - week)))

    return HomePeriods(
        now=_utc(now),
        today=period("today", "Today", midnight),
        week=period("week", "This week", monday),
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(zoneinfo.ZoneInfo("UTC"))


@dataclass(frozen=True)
class Attention:
    """Something that needs a person: what it is, how many, and the page where it is fixed."""

    text: str
    url: str
    count: int | None = None


@dataclass(frozen=True)
class HomeCard:
    """One card of the home page: a template (given `card`) and what it shows, plus what needs attention."""

    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    attention: tuple[Attention, ...] = ()
    order: int = 50


CardFunction = Callable[..., HomeCard | None]


def home_card_functions(*, role: str) -> list[CardFunction]:
    """The card functions every installed app registers, those the role may open only."""
    return [
        import_string(path)
        for config in apps.get_app_configs()
        for path, permission in getattr(config, "home_cards", ())
        if role_has_permission(role, permission)
    ]


def home_cards(*, merchant: Merchant, membership: StaffMembership, now: datetime | None = None) -> list[HomeCard]:
    periods = home_periods(merchant=merchant, now=now)
    cards = []
    for function in home_card_functions(role=membership.role):
        card = function(merchant=merchant, membership=membership, periods=periods)
        if card is not None:
            cards.append(card)
    return sorted(cards, key=lambda card: card.order)


def change_percent(current: int, previous: int) -> int | None:
    """Whole percent from previous to current; None where there is nothing to compare with."""
    if not previous:
        return None
    return round((current - previous) * 100 / previous)
