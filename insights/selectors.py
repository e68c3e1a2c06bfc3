"""Reads behind the insight pages. Every function takes the merchant.

Revenue, purchases and hourly counts come live from the store-hour rollup; figures
that need distinct shoppers, stages, cohorts or baskets come from the merchant's
snapshot (`services.insights_refresh`), whose time each page shows.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from insights import demand
from insights.models import InsightSettings, InsightSnapshot
from insights.periods import ALL, ONLINE, Period, PeriodChoice, Window, local_today, period_for
from insights.services import (
    REFRESH_LOCK_CLASS,
    daily_section,
    insight_settings_get,
    staff_needed,
)
from insights.stages import STAGE_LABELS, STAGES
from merchants.models import Merchant, Store
from profiles.models import LineItem, Purchase, Shopper, ShopperRollup, StoreHourRollup
from profiles.selectors import PROFILE_PURCHASE_LIMIT

CHANNEL_LABELS = {"store_only": "In store only", "online_only": "Online only", "omnichannel": "Both (omnichannel)"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Snapshot:
    sections: dict[str, Any]
    computed_at: datetime | None

    def get(self, name: str, default: Any = None) -> Any:
        return self.sections.get(name, default)

    @property
    def end(self) -> date | None:
        meta = self.sections.get("meta")
        return date.fromisoformat(meta["end"]) if meta else None


def snapshot_computed_at(*, merchant: Merchant) -> datetime | None:
    """When the merchant's snapshot was last computed (None: never)."""
    return (
        InsightSnapshot.objects.for_merchant(merchant)
        .filter(section="meta")
        .values_list("computed_at", flat=True)
        .first()
    )


def insights_refreshing(*, merchant: Merchant) -> bool:
    """Whether a refresh of the merchant's snapshot is running now: it holds an advisory lock until it commits.

    Asked on the primary (a replica has no view of the primary's locks); a refresh this very session runs
    does not count (it is over by the time anyone reads a page)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s"
            " AND objsubid = 2 AND pid <> pg_backend_pid())",
            [REFRESH_LOCK_CLASS, merchant.pk],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def snapshot_get(*, merchant: Merchant, sections: tuple[str, ...]) -> Snapshot:
    rows = list(
        InsightSnapshot.objects.for_merchant(merchant)
        .filter(section__in=("meta", *sections))
        .values_list("section", "data", "computed_at")
    )
    return Snapshot(
        sections={name: data for name, data, _at in rows},
        computed_at=min((at for _name, _data, at in rows), default=None),
    )


@dataclass(frozen=True)
class Scope:
    """What the store filter selected: everything, online purchases, one store, or a region."""

    key: str = ALL
    store: Store | None = None
    region: str | None = None

    @property
    def label(self) -> str:
        if self.store is not None:
            return self.store.name
        if self.region is not None:
            return f"Region {self.region or '(none)'}"
        return "Online" if self.key == ONLINE else "All stores and online"

    def rollup_filter(self) -> Q:
        if self.store is not None:
            return Q(store=self.store)
        if self.region is not None:
            return Q(store__region=self.region)
        return Q(store=None) if self.key == ONLINE else Q()


def scope_for(*, merchant: Merchant, value: str) -> Scope:
    """ "", "online", "s<id>" or "r<region>" → a Scope; anything else (another merchant's store too) → all."""
    if value == ONLINE:
        return Scope(key=ONLINE)
    if value.startswith("s") and value[1:].isdigit():
        store = Store.objects.for_merchant(merchant).filter(pk=int(value[1:])).first()
        if store is not None:
            return Scope(key=value, store=store)
    if value.startswith("r"):
        return Scope(key=value, region=value[1:])
    return Scope()


def page_end(*, merchant: Merchant, snapshot: Snapshot, now: datetime | None = None) -> date:
    """The last day shown: the snapshot's, so live and precomputed figures cover the same days; else yesterday."""
    return snapshot.end or local_today(merchant, now or timezone.now()) - timedelta(days=1)


# Overview


@dataclass(frozen=True)
class Figure:
    label: str
    kind: str  # money, count, percent
    current: float | None
    previous: float | None
    sparkline: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def change(self) -> float | None:
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / self.previous


@dataclass(frozen=True)
class Overview:
    period: Period
    scope: Scope
    figures: list[Figure]
    days: list[date]
    daily_total_minor: list[int]
    daily_purchases: list[int]
    computed_at: datetime | None
    has_purchases: bool


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Pickup:
    """Online orders collected at one store in one hour, as the snapshot's "pickups" section keeps them."""

    store_id: int
    region: str
    store_day: date  # where the store-hour rollup files them: the store's local day and hour
    hour: int
    merchant_day: date  # where they count: online, on the merchant's local day
    purchases: int
    value_minor: int

    def is_in(self, scope: Scope) -> bool:
        """Whether the rollup puts these orders in `scope` (a store or region scope; not all or online)."""
        if scope.store is not None:
            return self.store_id == scope.store.pk
        return scope.region is not None and self.region == scope.region


def pickups_of(snapshot: Snapshot) -> list[Pickup]:
    """The snapshot's online orders with a pick-up store (see insights.services: one rule, the channel)."""
    return [
        Pickup(store_id, region, date.fromisoformat(store_day), hour, date.fromisoformat(merchant_day), count, value)
        for store_id, region, store_day, hour, merchant_day, count, value in snapshot.get("pickups") or []
    ]


def rollup_daily(
    *, merchant: Merchant, scope: Scope, window: Window, pickups: list[Pickup] | None = None
) -> dict[date, tuple[int, int, int]]:
    """Per local day: purchases, value, value of purchases made in a store, from the store-hour rollup, with
    online orders collected in a store (`pickups`) moved from the store to online."""
    rows = (
        StoreHourRollup.objects.for_merchant(merchant)
        .filter(scope.rollup_filter(), day__range=(window.start, window.end))
        .values("day")
        .annotate(
            purchases=Sum("purchase_count"),
            total=Sum("total_minor"),
            in_store=Sum("total_minor", filter=Q(store__isnull=False)),
        )
    )
    days = {row["day"]: [row["purchases"] or 0, row["total"] or 0, row["in_store"] or 0] for row in rows}
    for pickup in pickups or []:
        if scope.key == ONLINE:
            day, sign, in_store = pickup.merchant_day, 1, 0
        elif scope.store is None and scope.region is None:  # everything: only the in-store share changes
            day, sign, in_store = pickup.store_day, 0, -pickup.value_minor
        elif pickup.is_in(scope):
            day, sign, in_store = pickup.store_day, -1, -pickup.value_minor
        else:
            continue
        if window.start <= day <= window.end:
            figures = days.setdefault(day, [0, 0, 0])
            figures[0] += sign * pickup.purchases
            figures[1] += sign * pickup.value_minor
            figures[2] += in_store
    return {day: (figures[0], figures[1], figures[2]) for day, figures in days.items()}


def overview_get(
    *, merchant: Merchant, period_key: PeriodChoice, scope: Scope, now: datetime | None = None
) -> Overview:
    """A custom range's money and purchase figures are exact (daily rollups); its shopper counts are not shown:
    they are computed for the preset periods only (counting distinct shoppers needs the snapshot)."""
    snapshot = snapshot_get(merchant=merchant, sections=("overview", "pickups", daily_section(scope.key)))
    period = period_for(period_key, end=page_end(merchant=merchant, snapshot=snapshot, now=now))
    live = rollup_daily(
        merchant=merchant,
        scope=scope,
        window=Window(period.previous.start, period.current.end),
        pickups=pickups_of(snapshot),
    )
    days = period.current.dates()

    def total(window: Window, index: int) -> int:
        return sum(values[index] for day, values in live.items() if window.start <= day <= window.end)

    purchases = [live.get(day, (0, 0, 0))[0] for day in days]
    value = [live.get(day, (0, 0, 0))[1] for day in days]
    in_store = [live.get(day, (0, 0, 0))[2] for day in days]
    now_purchases, then_purchases = total(period.current, 0), total(period.previous, 0)
    now_value, then_value = total(period.current, 1), total(period.previous, 1)
    now_store, then_store = total(period.current, 2), total(period.previous, 2)

    overview = snapshot.get("overview") or {}
    current = (overview.get(f"{period.key}:current") or {}).get(scope.key)
    previous = (overview.get(f"{period.key}:previous") or {}).get(scope.key)
    daily = snapshot.get(daily_section(scope.key)) or {}
    daily_rows = [daily.get(day.isoformat(), [0, 0, 0, 0]) for day in days]
    has_snapshot = snapshot.end is not None and not period.is_custom

    def shopper_figure(name: str) -> tuple[float | None, float | None]:
        if not has_snapshot:
            return None, None
        return (current or {}).get(name, 0), (previous or {}).get(name, 0) if previous else None

    shoppers_now, shoppers_then = shopper_figure("shoppers")
    new_now, new_then = shopper_figure("new_shoppers")
    identified_now, identified_then = shopper_figure("identified_minor")
    snapshot_value_now, snapshot_value_then = shopper_figure("total_minor")

    def returning(shoppers: float | None, new: float | None) -> float | None:
        return None if shoppers is None or new is None else shoppers - new

    figures = [
        Figure("Revenue", "money", now_value, then_value, [float(v) for v in value]),
        Figure("Purchases", "count", now_purchases, then_purchases, [float(v) for v in purchases]),
        Figure(
            "Shoppers",
            "count",
            shoppers_now,
            shoppers_then,
            [float(row[0]) for row in daily_rows],
            note="Identified shoppers who bought in the period, each counted once.",
        ),
        Figure(
            "Average basket",
            "money",
            _ratio(now_value, now_purchases),
            _ratio(then_value, then_purchases),
            [_ratio(v, n) or 0.0 for v, n in zip(value, purchases, strict=True)],
        ),
        Figure(
            "New shoppers",
            "count",
            new_now,
            new_then,
            [float(row[1]) for row in daily_rows],
            note="First purchase ever in the period.",
        ),
        Figure(
            "Returning shoppers",
            "count",
            returning(shoppers_now, new_now),
            returning(shoppers_then, new_then),
            [float(row[0] - row[1]) for row in daily_rows],
            note="Bought before the period and again in it.",
        ),
        Figure(
            "Identified share",
            "percent",
            _ratio(identified_now or 0, snapshot_value_now or 0) if has_snapshot else None,
            _ratio(identified_then or 0, snapshot_value_then or 0) if has_snapshot else None,
            [_ratio(row[2], row[3]) or 0.0 for row in daily_rows],
            note="Share of revenue from shoppers with a linked card or profile.",
        ),
        Figure(
            "In store",
            "percent",
            _ratio(now_store, now_value),
            _ratio(then_store, then_value),
            [_ratio(s, v) or 0.0 for s, v in zip(in_store, value, strict=True)],
            note="Share of revenue from purchases made in a store; the rest is online orders, collected in a "
            "store or delivered.",
        ),
    ]
    return Overview(
        period=period,
        scope=scope,
        figures=figures,
        days=days,
        daily_total_minor=value,
        daily_purchases=purchases,
        computed_at=snapshot.computed_at,
        has_purchases=bool(now_purchases or then_purchases),
    )


# Lifecycle


@dataclass(frozen=True)
class StageRow:
    stage: str
    label: str
    shoppers: int
    total_minor: int
    purchases: int
    online_minor: int
    share: float | None

    @property
    def average_minor(self) -> int | None:
        return round(self.total_minor / self.shoppers) if self.shoppers else None

    @property
    def average_basket_minor(self) -> int | None:
        return round(self.total_minor / self.purchases) if self.purchases else None

    @property
    def purchases_per_shopper(self) -> float | None:
        return self.purchases / self.shoppers if self.shoppers else None

    @property
    def online_share(self) -> float | None:
        return self.online_minor / self.total_minor if self.total_minor else None


@dataclass(frozen=True)
class Lifecycle:
    settings: InsightSettings
    stages: list[StageRow]
    movement: list[tuple[str, list[int]]]  # from-stage label, counts per STAGES column
    since: str | None
    cohorts: list[dict[str, Any]]
    max_offset: int
    top_spender_min_minor: int | None
    computed_at: datetime | None

    @property
    def stage_labels(self) -> list[str]:
        return [STAGE_LABELS[stage] for stage in STAGES]

    @property
    def by_stage(self) -> dict[str, StageRow]:
        return {row.stage: row for row in self.stages}


def lifecycle_get(*, merchant: Merchant) -> Lifecycle:
    snapshot = snapshot_get(merchant=merchant, sections=("lifecycle", "cohorts"))
    lifecycle = snapshot.get("lifecycle") or {}
    stages = lifecycle.get("stages") or {}
    total_shoppers = sum(figures["shoppers"] for figures in stages.values())
    rows = [
        StageRow(
            stage=stage,
            label=STAGE_LABELS[stage],
            share=_ratio(stages[stage]["shoppers"], total_shoppers),
            **stages[stage],
        )
        for stage in STAGES
        if stage in stages
    ]
    movement = lifecycle.get("movement") or {}
    moves = [
        (STAGE_LABELS[origin], [movement[origin].get(stage, 0) for stage in STAGES])
        for origin in ("none", *STAGES)
        if origin in movement
    ]
    cohorts = []
    for cohort in (snapshot.get("cohorts") or {}).get("cohorts", []):
        size = cohort["size"]
        cohorts.append({**cohort, "retention": [_ratio(active, size) for active in cohort["active"]]})
    return Lifecycle(
        settings=insight_settings_get(merchant=merchant),
        stages=rows,
        movement=moves,
        since=lifecycle.get("since"),
        cohorts=cohorts,
        max_offset=max((len(cohort["active"]) for cohort in cohorts), default=0),
        top_spender_min_minor=lifecycle.get("top_spender_min_minor"),
        computed_at=snapshot.computed_at,
    )


def shopper_stage(
    *,
    rollup: ShopperRollup | None,
    settings: InsightSettings,
    top_spender_min_minor: int | None,
    now: datetime | None = None,
) -> str | None:
    """The lifecycle stage of one shopper by the snapshot's rules (the top-spender line is the snapshot's)."""
    if rollup is None or rollup.first_purchase_at is None or rollup.last_purchase_at is None:
        return None
    now = now or timezone.now()
    line = top_spender_min_minor
    if rollup.first_purchase_at >= now - timedelta(days=settings.new_days):
        return "new"
    if rollup.last_purchase_at < now - timedelta(days=settings.lapsed_days):
        return "lapsed"
    if rollup.last_purchase_at < now - timedelta(days=settings.at_risk_days):
        return "at_risk"
    if line is not None and rollup.total_minor >= line:
        return "top"
    return "regular" if rollup.purchase_count >= settings.regular_min_purchases else "active"


# Channels


@dataclass(frozen=True)
class Channels:
    classes: list[dict[str, Any]]
    conversion: list[dict[str, Any]]
    store_only_regulars: int
    regulars: list[Shopper]
    settings: InsightSettings
    computed_at: datetime | None


def store_only_regulars(*, merchant: Merchant, min_purchases: int) -> QuerySet[Shopper]:
    """Shoppers with at least `min_purchases` in store and none online, biggest spenders first (from the rollup)."""
    return (
        Shopper.objects.for_merchant(merchant)
        .filter(rollup__online_count=0, rollup__in_store_count__gte=min_purchases)
        .select_related("rollup", "rollup__last_store")
        .order_by("-rollup__total_minor", "pk")
    )


def _shoppers_in_order(*, merchant: Merchant, ids: list[int]) -> list[Shopper]:
    found = Shopper.objects.for_merchant(merchant).filter(pk__in=ids).select_related("rollup", "rollup__last_store")
    by_id = {shopper.pk: shopper for shopper in found}
    return [by_id[shopper_id] for shopper_id in ids if shopper_id in by_id]


def channels_get(*, merchant: Merchant) -> Channels:
    snapshot = snapshot_get(merchant=merchant, sections=("channels",))
    channels = snapshot.get("channels") or {}
    classes = channels.get("classes") or {}
    total = sum(figures["shoppers"] for figures in classes.values())
    settings = insight_settings_get(merchant=merchant)
    return Channels(
        classes=[
            {"key": key, "label": label, **classes[key], "share": _ratio(classes[key]["shoppers"], total)}
            for key, label in CHANNEL_LABELS.items()
            if key in classes
        ],
        conversion=[
            {**month, "rate": _ratio(month["converted"], month["store_only"])}
            for month in channels.get("conversion", [])
        ],
        store_only_regulars=channels.get("store_only_regulars", 0),
        regulars=_shoppers_in_order(merchant=merchant, ids=channels.get("store_only_regulars_listed", [])),
        settings=settings,
        computed_at=snapshot.computed_at,
    )


# Traffic and staffing


@dataclass(frozen=True)
class HourCell:
    weekday: int  # 0 = Monday
    hour: int
    purchases: int
    visits: int


@dataclass(frozen=True)
class ForecastDay:
    day: date
    expected: float
    peak_hour: int
    peak_expected: float
    peak_staff: int
    hours: list[float]
    holiday: str | None = None  # the public holiday's name, forecast at the store's holiday factor


@dataclass(frozen=True)
class Traffic:
    period: Period
    scope: Scope
    purchases: list[list[int]]  # 7 × 24, Monday first, store local time
    visits: list[list[int]]
    busiest: list[HourCell]
    quietest: list[HourCell]
    forecast_days: list[ForecastDay]
    forecast_hours: list[float]
    mape: float | None
    naive_mape: float | None
    held_out_weeks: int
    settings: InsightSettings
    computed_at: datetime | None
    wape: float | None = None
    naive_wape: float | None = None
    mase: float | None = None
    naive_mase: float | None = None
    beats_naive: bool | None = None  # None: not tested (too little history)
    held_out_purchases: int = 0  # on the open days of the held-out weeks
    closed_days: list[date] = field(default_factory=list)  # left out of the fitting and of every error figure
    first_sale: date | None = None  # the days before it are left out too
    country: str | None = None
    holiday_factor: float | None = None  # None: no public holidays known for the scope
    holidays_seen: int = 0

    @property
    def weekdays(self) -> tuple[str, ...]:
        return WEEKDAYS

    @property
    def has_data(self) -> bool:
        return any(any(row) for row in self.purchases) or any(any(row) for row in self.visits)

    def cells(self) -> Iterator[HourCell]:
        for weekday in range(7):
            for hour in range(24):
                yield HourCell(weekday, hour, self.purchases[weekday][hour], self.visits[weekday][hour])


def traffic_get(*, merchant: Merchant, period_key: PeriodChoice, scope: Scope, now: datetime | None = None) -> Traffic:
    snapshot = snapshot_get(merchant=merchant, sections=("visits", "forecast", "pickups"))
    period = period_for(period_key, end=page_end(merchant=merchant, snapshot=snapshot, now=now))
    # Online purchases have no shop floor to staff, collected in a store or not: the heatmap counts purchases
    # made in a store only.
    rows = (
        StoreHourRollup.objects.for_merchant(merchant)
        .filter(scope.rollup_filter(), store__isnull=False, day__range=(period.current.start, period.current.end))
        .values("day", "hour")
        .annotate(count=Sum("purchase_count"))
        .values_list("day", "hour", "count")
    )
    purchases = [[0] * 24 for _ in range(7)]
    for day, hour, count in rows:
        purchases[day.weekday()][hour] += count
    for pickup in pickups_of(snapshot):
        in_scope = pickup.is_in(scope) or (scope.store is None and scope.region is None)
        if in_scope and period.current.start <= pickup.store_day <= period.current.end:
            purchases[pickup.store_day.weekday()][pickup.hour] -= pickup.purchases
    visit_key = scope.key if scope.store is not None else ALL
    visits = ((snapshot.get("visits") or {}).get(period.key) or {}).get(visit_key) or [[0] * 24 for _ in range(7)]
    traffic_cells = [
        HourCell(weekday, hour, purchases[weekday][hour], visits[weekday][hour])
        for weekday in range(7)
        for hour in range(24)
    ]
    open_cells = sorted((cell for cell in traffic_cells if cell.purchases), key=lambda cell: cell.purchases)
    settings = insight_settings_get(merchant=merchant)
    forecast = snapshot.get("forecast") or {}
    model = (forecast.get("scopes") or {}).get(scope.key if scope.store is not None else ALL) or {}
    hours = model.get("hours", [])
    start = date.fromisoformat(forecast["start"]) if forecast.get("start") else None
    holidays = model.get("holidays") or {}
    days = []
    if start is not None:
        for index in range(len(hours) // 24):
            day_hours = hours[index * 24 : (index + 1) * 24]
            peak = day_hours.index(max(day_hours))
            day = start + timedelta(days=index)
            days.append(
                ForecastDay(
                    day=day,
                    expected=sum(day_hours),
                    peak_hour=peak,
                    peak_expected=day_hours[peak],
                    peak_staff=staff_needed(day_hours[peak], settings.purchases_per_staff_hour),
                    hours=day_hours,
                    holiday=holidays.get(day.isoformat()),
                )
            )
    first_sale = model.get("first_sale")
    return Traffic(
        period=period,
        scope=scope,
        purchases=purchases,
        visits=visits,
        busiest=open_cells[::-1][:3],
        quietest=open_cells[:3],
        forecast_days=days,
        forecast_hours=hours,
        mape=model.get("mape"),
        naive_mape=model.get("naive_mape"),
        held_out_weeks=model.get("held_out_weeks", 0),
        settings=settings,
        computed_at=snapshot.computed_at,
        wape=model.get("wape"),
        naive_wape=model.get("naive_wape"),
        mase=model.get("mase"),
        naive_mase=model.get("naive_mase"),
        beats_naive=model.get("beats_naive"),
        held_out_purchases=model.get("held_out_purchases", 0),
        closed_days=[date.fromisoformat(day) for day in model.get("closed_days", [])],
        first_sale=date.fromisoformat(first_sale) if first_sale else None,
        country=model.get("country"),
        holiday_factor=model.get("holiday_factor"),
        holidays_seen=model.get("holidays_seen", 0),
    )


# Reach


@dataclass(frozen=True)
class Reach:
    shoppers: int
    email: int
    sms: int
    both: int
    neither: int
    computed_at: datetime | None

    @property
    def email_only(self) -> int:
        return self.email - self.both

    @property
    def sms_only(self) -> int:
        return self.sms - self.both

    @property
    def reachable(self) -> int:
        return self.shoppers - self.neither

    def share(self, count: int) -> float | None:
        return _ratio(count, self.shoppers)


def reach_get(*, merchant: Merchant) -> Reach:
    snapshot = snapshot_get(merchant=merchant, sections=("reach",))
    reach = snapshot.get("reach") or {}
    return Reach(
        shoppers=reach.get("shoppers", 0),
        email=reach.get("email", 0),
        sms=reach.get("sms", 0),
        both=reach.get("both", 0),
        neither=reach.get("neither", 0),
        computed_at=snapshot.computed_at,
    )


# Stores and regions


@dataclass(frozen=True)
class StoreRow:
    label: str
    scope: str
    purchases: int
    total_minor: int
    previous_total_minor: int
    shoppers: int | None
    new_shoppers: int | None

    @property
    def average_basket_minor(self) -> int | None:
        return round(self.total_minor / self.purchases) if self.purchases else None

    @property
    def change(self) -> float | None:
        if not self.previous_total_minor:
            return None
        return (self.total_minor - self.previous_total_minor) / self.previous_total_minor


@dataclass(frozen=True)
class StoreComparison:
    period: Period
    stores: list[StoreRow]
    regions: list[StoreRow]
    computed_at: datetime | None


def stores_get(*, merchant: Merchant, period_key: PeriodChoice, now: datetime | None = None) -> StoreComparison:
    snapshot = snapshot_get(merchant=merchant, sections=("overview", "pickups"))
    period = period_for(period_key, end=page_end(merchant=merchant, snapshot=snapshot, now=now))
    rows = (
        StoreHourRollup.objects.for_merchant(merchant)
        .filter(day__range=(period.previous.start, period.current.end))
        .values("store")
        .annotate(
            purchases=Sum("purchase_count", filter=Q(day__gte=period.current.start)),
            total=Sum("total_minor", filter=Q(day__gte=period.current.start)),
            previous=Sum("total_minor", filter=Q(day__lt=period.current.start)),
        )
    )
    live = {row["store"]: [row["purchases"] or 0, row["total"] or 0, row["previous"] or 0] for row in rows}
    # Online orders collected in a store count online (see insights.services).
    for pickup in pickups_of(snapshot):
        for key, day, sign in ((pickup.store_id, pickup.store_day, -1), (None, pickup.merchant_day, 1)):
            moved = live.setdefault(key, [0, 0, 0])
            if period.current.start <= day <= period.current.end:
                moved[0] += sign * pickup.purchases
                moved[1] += sign * pickup.value_minor
            elif period.previous.start <= day < period.current.start:
                moved[2] += sign * pickup.value_minor
    figures = (snapshot.get("overview") or {}).get(f"{period.key}:current") or {}
    # No figure is a counted zero only for a preset period of a computed snapshot; a custom range has none.
    counted_zero = 0 if snapshot.end and not period.is_custom else None
    stores = list(Store.objects.for_merchant(merchant).order_by("name"))

    def row(label: str, scope: str, purchases: int, total: int, previous: int) -> StoreRow:
        shopper_figures = figures.get(scope)
        return StoreRow(
            label=label,
            scope=scope,
            purchases=purchases,
            total_minor=total,
            previous_total_minor=previous,
            shoppers=shopper_figures["shoppers"] if shopper_figures else counted_zero,
            new_shoppers=shopper_figures["new_shoppers"] if shopper_figures else counted_zero,
        )

    store_rows = [row(store.name, f"s{store.pk}", *live.get(store.pk, [0, 0, 0])) for store in stores]
    if any(live.get(None, [])):
        store_rows.append(row("Online", ONLINE, *live[None]))
    regions: dict[str, list[int]] = {}
    for store in stores:
        totals = regions.setdefault(store.region, [0, 0, 0])
        for index, value in enumerate(live.get(store.pk, [0, 0, 0])):
            totals[index] += value
    region_rows = [row(region or "(no region)", f"r{region}", *totals) for region, totals in sorted(regions.items())]
    store_rows.sort(key=lambda item: -item.total_minor)
    return StoreComparison(period=period, stores=store_rows, regions=region_rows, computed_at=snapshot.computed_at)


# Products


@dataclass(frozen=True)
class Products:
    scope: Scope
    start: str | None
    end: str | None
    categories: list[dict[str, Any]]
    skus: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    computed_at: datetime | None
    # Said under the heading when the figures cover other days than the ones asked for.
    period_note: str = ""
    pairs_start: str | None = None  # pairs are always counted over the last 90 days


PRODUCT_PRESETS = ("7d", "28d", "90d")


def products_get(*, merchant: Merchant, scope: Scope | None = None, period_key: PeriodChoice = "90d") -> Products:
    """The period's categories and top SKUs of the scope (exact for the presets up to 90 days; longer or custom
    periods show the last 90 days, and say so); category pairs over the last 90 days' baskets of every store and
    online."""
    scope = scope or Scope()
    snapshot = snapshot_get(merchant=merchant, sections=("products",))
    products = snapshot.get("products") or {}
    chosen = (products.get("periods") or {}).get(period_key) if isinstance(period_key, str) else None
    note = ""
    if chosen is None and products:
        if isinstance(period_key, str) and period_key in PRODUCT_PRESETS:
            note = "These figures cover the last 90 days: the period you chose is counted at the next refresh."
        elif period_key != "90d":
            note = "Products are counted over the last 90 days at most: these figures cover the last 90 days."
    chosen = chosen or products
    # Bought together means more often than chance: lift above 1. Each pair once (lift is symmetric).
    pairs = [pair for pair in products.get("pairs", []) if pair["antecedent"] < pair["consequent"] and pair["lift"] > 1]
    return Products(
        scope=scope,
        start=chosen.get("start"),
        end=products.get("end"),
        categories=(chosen.get("categories") or {}).get(scope.key, []),
        skus=(chosen.get("skus") or {}).get(scope.key, []),
        pairs=pairs[:20],
        computed_at=snapshot.computed_at,
        period_note=note,
        pairs_start=products.get("start"),
    )


def categories_recommended(
    *, pairs: list[dict[str, Any]], popular: list[str], bought: set[str], limit: int = 3
) -> list[dict[str, Any]]:
    """Categories to suggest to a shopper who bought `bought`: first those that baskets holding one of theirs
    hold more often than chance (lift above 1, by confidence), then the most popular ones they never bought."""
    if not bought:
        return []
    best: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        if pair["antecedent"] in bought and pair["consequent"] not in bought and pair["lift"] > 1:
            known = best.get(pair["consequent"])
            if known is None or pair["confidence"] > known["confidence"]:
                best[pair["consequent"]] = pair
    ranked = sorted(best.values(), key=lambda pair: (-pair["confidence"], pair["consequent"]))[:limit]
    suggestions = [
        {"category": pair["consequent"], "because": pair["antecedent"], "confidence": pair["confidence"]}
        for pair in ranked
    ]
    for category in popular:
        if len(suggestions) >= limit:
            break
        if category and category not in bought and all(item["category"] != category for item in suggestions):
            suggestions.append({"category": category, "because": None, "confidence": None})
    return suggestions


@dataclass(frozen=True)
class ShopperInsight:
    stage: str | None
    recommended: list[dict[str, Any]]

    @property
    def stage_label(self) -> str | None:
        return STAGE_LABELS.get(self.stage) if self.stage else None


def shopper_insight_for(*, merchant: Merchant, shopper: Shopper) -> ShopperInsight:
    """The profile page's insight panel: the shopper's stage, and what to suggest from what they bought
    in the purchases the profile page lists."""
    rollup = ShopperRollup.objects.for_merchant(merchant).filter(shopper=shopper).first()
    recent = (
        Purchase.objects.for_merchant(merchant)
        .filter(shopper=shopper)
        .order_by("-occurred_at", "-pk")
        .values("pk")[:PROFILE_PURCHASE_LIMIT]
    )
    bought = set(
        LineItem.objects.for_merchant(merchant)
        .filter(purchase__in=recent)
        .exclude(category="")
        .values_list("category", flat=True)
        .distinct()
    )
    return shopper_insight_get(merchant=merchant, rollup=rollup, categories=bought)


def shopper_insight_get(*, merchant: Merchant, rollup: ShopperRollup | None, categories: set[str]) -> ShopperInsight:
    """For the profile page: the shopper's lifecycle stage and categories to suggest, in two queries."""
    snapshot = snapshot_get(merchant=merchant, sections=("lifecycle", "products"))
    stage = shopper_stage(
        rollup=rollup,
        settings=insight_settings_get(merchant=merchant),
        top_spender_min_minor=(snapshot.get("lifecycle") or {}).get("top_spender_min_minor"),
    )
    products = snapshot.get("products") or {}
    merchant_categories = (products.get("categories") or {}).get(ALL, [])
    popular = [row["category"] for row in sorted(merchant_categories, key=lambda row: -row["baskets"])]
    recommended = categories_recommended(pairs=products.get("pairs", []), popular=popular, bought=categories)
    return ShopperInsight(stage=stage, recommended=recommended)


# Mall network


@dataclass(frozen=True)
class NetworkCell:
    merchant: str
    currency: str
    category: str
    # None when fewer than MIN_SHOPPERS_PER_CELL shoppers make up the cell: neither figure is shown.
    shoppers: int | None
    total_minor: int | None

    @property
    def is_hidden(self) -> bool:
        return self.shoppers is None


@dataclass(frozen=True)
class NetworkView:
    network: str
    since: date
    categories: list[NetworkCell]
    elsewhere: list[NetworkCell]


def _cells(cells: list[dict[str, Any]]) -> list[NetworkCell]:
    return [NetworkCell(**cell) for cell in cells]


def network_views_get(*, merchant: Merchant) -> tuple[list[NetworkView], datetime | None]:
    """For each mall network of the merchant: category spend across its merchants, and where this merchant's
    shoppers also buy there (snapshot; cells under the minimum were stored without figures)."""
    snapshot = snapshot_get(merchant=merchant, sections=("network",))
    networks = (snapshot.get("network") or {}).get("networks", [])
    views = [
        NetworkView(
            network=view["name"],
            since=date.fromisoformat(view["since"]),
            categories=_cells(view["categories"]),
            elsewhere=_cells(view["elsewhere"]),
        )
        for view in networks
    ]
    return views, snapshot.computed_at


# Demand by category


@dataclass(frozen=True)
class DemandWeek:
    start: date
    units: float
    low: int
    high: int
    revenue_minor: int
    revenue_low_minor: int
    revenue_high_minor: int
    holidays: list[str]
    promotion_days: int


@dataclass(frozen=True)
class DemandCategory:
    category: str
    weeks: list[DemandWeek]


@dataclass(frozen=True)
class DemandBacktest:
    """The held-out weeks' weekly totals, every category of the scope: the model against seasonal-naive."""

    held_out_weeks: int
    weeks_scored: int
    actual_units: float
    wape: float | None
    naive_wape: float | None
    mase: float | None
    naive_mase: float | None
    beats_naive: bool | None  # None: not tested (too little history)
    inside: int
    coverage: float | None


@dataclass(frozen=True)
class DemandStore:
    scope: str
    label: str
    country: str | None
    holiday_factor: float
    promotion_factor: float
    holidays_seen: int
    promotion_days_seen: int
    closed_days: list[str]
    weeks: list[dict[str, Any]]
    categories: list[DemandCategory]
    backtest: DemandBacktest


@dataclass(frozen=True)
class Demand:
    scope: Scope
    start: date | None
    level: float
    stores: list[DemandStore]
    backtest: DemandBacktest  # over the stores shown
    computed_at: datetime | None


def _demand_backtest(score: demand.Score) -> DemandBacktest:
    return DemandBacktest(
        held_out_weeks=score.held_out_weeks,
        weeks_scored=score.weeks_scored,
        actual_units=score.actual,
        wape=score.wape,
        naive_wape=score.naive_wape,
        mase=score.mase,
        naive_mase=score.naive_mase,
        beats_naive=score.beats_naive,
        inside=score.inside,
        coverage=score.coverage,
    )


def demand_get(*, merchant: Merchant, scope: Scope | None = None) -> Demand:
    """The snapshot's weekly demand forecast: every store and online, or the one store (online) of `scope`."""
    scope = scope or Scope()
    snapshot = snapshot_get(merchant=merchant, sections=("demand",))
    data = snapshot.get("demand") or {}
    start = date.fromisoformat(data["start"]) if data.get("start") else None
    stores, overall = [], demand.Score()
    for key, store in (data.get("stores") or {}).items():
        if scope.key not in (ALL, key):
            continue
        score = demand.Score.from_dict(store["backtest"])
        overall.add(score)
        categories = [
            DemandCategory(
                category=row["category"],
                weeks=[
                    DemandWeek(
                        start=date.fromisoformat(week["start"]),
                        units=values[0],
                        low=values[1],
                        high=values[2],
                        revenue_minor=values[3],
                        revenue_low_minor=values[4],
                        revenue_high_minor=values[5],
                        holidays=week["holidays"],
                        promotion_days=week["promotion_days"],
                    )
                    for week, values in zip(store["weeks"], row["weeks"], strict=True)
                ],
            )
            for row in store["categories"]
        ]
        stores.append(
            DemandStore(
                scope=key,
                label=store["label"],
                country=store["country"],
                holiday_factor=store["holiday_factor"],
                promotion_factor=store["promotion_factor"],
                holidays_seen=store["holidays_seen"],
                promotion_days_seen=store["promotion_days_seen"],
                closed_days=store["closed_days"],
                weeks=[{**week, "start": date.fromisoformat(week["start"])} for week in store["weeks"]],
                categories=categories,
                backtest=_demand_backtest(score),
            )
        )
    return Demand(
        scope=scope,
        start=start,
        level=data.get("level", demand.INTERVAL_LEVEL),
        stores=stores,
        backtest=_demand_backtest(overall),
        computed_at=snapshot.computed_at,
    )
