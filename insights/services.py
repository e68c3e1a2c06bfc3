"""The insight snapshot: figures no rollup gives cheaply, precomputed per merchant.

Distinct shoppers over a period, lifecycle stages (which need every shopper's
recency, frequency and spend as of two dates), cohorts, channel conversion, consent
reach, visit heatmaps, the forecast and product pairs cost seconds over a large
merchant's raw rows, so `insights_refresh` computes them in the background (a
periodic task, and after a settings change) and the pages read the result. Revenue,
purchases and the hourly heatmap are read live from the store-hour rollup instead.

Definitions shared with the rollups: a purchase counts while it is not fully
refunded and is worth amount − refunded; its local day is the store's (the
merchant's for online purchases). Cohort and conversion months are the merchant's.

One rule for where a purchase was made, on every page: its channel. An online order
collected at a pick-up store is online revenue (on the merchant's local day) and no
shop-floor traffic, as the channels page has always counted it. The store-hour rollup
files such an order under its pick-up store, so the snapshot keeps those orders
(section "pickups", `_pickups`) and the pages move them from the store to online.
"""

import math
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from core.errors import validated
from insights import demand as demand_model
from insights import forecast as forecasting
from insights.calendar import country_for_timezone, holidays_between, promotion_days
from insights.models import InsightSettings, InsightSnapshot
from insights.periods import ALL, ONLINE, PERIODS, Period, local_today, period_for
from insights.stages import STAGES, stage_parameters, stage_sql
from merchants.models import Merchant, Store, User
from merchants.services import audit_event_record
from profiles.models import (
    Card,
    ConsentEvent,
    ContactPoint,
    LineItem,
    MergeEvent,
    Purchase,
    Shopper,
    StoreHourRollup,
    Visit,
)

# Other apps' tables, named through their models.
MERCHANT = Merchant._meta.db_table
MERCHANT_NETWORKS = Merchant.networks.through._meta.db_table
STORE = Store._meta.db_table
SHOPPER = Shopper._meta.db_table
CONTACT_POINT = ContactPoint._meta.db_table
CONSENT_EVENT = ConsentEvent._meta.db_table
CARD = Card._meta.db_table
PURCHASE = Purchase._meta.db_table
LINE_ITEM = LineItem._meta.db_table
VISIT = Visit._meta.db_table
STORE_HOUR_ROLLUP = StoreHourRollup._meta.db_table

PRODUCT_DAYS = 90
# The preset periods the products page shows exactly (no longer than PRODUCT_DAYS).
PRODUCT_PERIODS = ("7d", "28d", "90d")
COHORT_MONTHS = 12
FORECAST_HISTORY_WEEKS = 52  # a year, so that the holidays ahead were seen once
PAIR_MIN_BASKETS = 10
PAIR_LIMIT = 40
TOP_SKUS = 20
# The page lists the biggest spenders among store-only regulars; the CSV download has them all.
STORE_ONLY_REGULARS_LISTED = 50
SETTINGS_FIELDS = (
    "new_days",
    "at_risk_days",
    "lapsed_days",
    "regular_min_purchases",
    "top_spender_percent",
    "purchases_per_staff_hour",
)


def insight_settings_get(*, merchant: Merchant) -> InsightSettings:
    """The merchant's thresholds, or the defaults (unsaved) until they change them."""
    found = InsightSettings.objects.for_merchant(merchant).first()
    return found if found is not None else InsightSettings(merchant=merchant)


@transaction.atomic
def insight_settings_update(*, merchant: Merchant, actor: User | None, **values: int) -> InsightSettings:
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    current = InsightSettings.objects.select_for_update().filter(merchant=merchant).first()
    settings = current if current is not None else InsightSettings(merchant=merchant)
    changes = {name: value for name, value in values.items() if getattr(settings, name) != value}
    if not changes and current is not None:
        return settings
    for name, value in changes.items():
        setattr(settings, name, value)
    validated(settings, exclude=["merchant"])
    settings.save()
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="insights.settings_changed",
        subject="Lifecycle thresholds",
        changes=changes,
    )
    from insights.tasks import refresh_insights

    transaction.on_commit(lambda: refresh_insights.delay(merchant.pk, True))
    return settings


# What each input of the snapshot is, cheaply: a change in any of these numbers means the input changed.
_INPUTS_SQL = f"""
    SELECT (SELECT COUNT(*) FROM {StoreHourRollup._meta.db_table} WHERE merchant_id = %(merchant)s),
           (SELECT COALESCE(SUM(purchase_count), 0) FROM {StoreHourRollup._meta.db_table}
             WHERE merchant_id = %(merchant)s),
           (SELECT COALESCE(SUM(total_minor), 0) FROM {StoreHourRollup._meta.db_table}
             WHERE merchant_id = %(merchant)s),
           (SELECT COALESCE(MAX(id), 0) FROM {MergeEvent._meta.db_table} WHERE merchant_id = %(merchant)s),
           (SELECT COUNT(undone_at) FROM {MergeEvent._meta.db_table} WHERE merchant_id = %(merchant)s),
           (SELECT COALESCE(MAX(id), 0) FROM {ConsentEvent._meta.db_table} WHERE merchant_id = %(merchant)s),
           (SELECT COALESCE(MAX(id), 0) FROM {Visit._meta.db_table} WHERE merchant_id = %(merchant)s)
"""  # noqa: S608 - table names from the models; values are bound

# The inputs each section is computed from ("daily" stands for every "daily:<scope>" section). A refresh
# recomputes only the sections whose inputs changed since they were computed: a consent decision redoes
# the reach, a visit the visit heatmap, a new day or a purchase what reads purchases. The mall section
# also reads the other members' purchases, so it is redone whenever anything is.
SECTION_INPUTS: dict[str, tuple[str, ...]] = {
    "overview": ("purchases", "merges", "day"),
    "daily": ("purchases", "merges", "day"),
    "lifecycle": ("purchases", "merges", "day", "settings"),
    "cohorts": ("purchases", "merges", "day"),
    "channels": ("purchases", "merges", "day", "settings"),
    "reach": ("consent", "merges"),
    "visits": ("visits", "merges", "day"),
    "pickups": ("purchases", "day"),
    "forecast": ("purchases", "day"),
    "demand": ("purchases", "day"),
    "products": ("purchases", "merges", "day"),
}
# Sections that read the temporary table of every counting purchase (`_load_purchases`).
_READ_PURCHASES = {"overview", "daily", "lifecycle", "cohorts", "channels", "demand", "products"}


def _inputs(merchant: Merchant, end: date, settings: InsightSettings) -> dict[str, Any]:
    """What the snapshot depends on, each input as a small value that changes when it does: the rollup's
    totals, the latest merge (and undos), the latest consent decision and visit (shoppers, reach and
    heatmaps change with them, without a purchase), yesterday's date, the thresholds."""
    with connection.cursor() as cursor:
        cursor.execute(_INPUTS_SQL, {"merchant": merchant.pk})
        rows, purchases, total, merge, undone, consent, visit = (int(value) for value in cursor.fetchone())
    return {
        "purchases": [rows, purchases, total],
        "merges": [merge, undone],
        "consent": consent,
        "visits": visit,
        "day": end.isoformat(),
        "settings": [getattr(settings, name) for name in SETTINGS_FIELDS],
    }


def sections_to_refresh(previous: dict[str, Any] | None, current: dict[str, Any]) -> set[str]:
    """The sections whose inputs differ between two `_inputs` results (every section when there is no previous)."""
    if not previous:
        return set(SECTION_INPUTS)
    changed = {name for name, value in current.items() if previous.get(name) != value}
    return {section for section, inputs in SECTION_INPUTS.items() if changed.intersection(inputs)}


# The advisory lock class a running refresh holds, with the merchant's id (see insights_refreshing).
REFRESH_LOCK_CLASS = 7410


def insights_refresh(*, merchant: Merchant, now: datetime | None = None, force: bool = False) -> bool:
    """Recompute the snapshot sections of the merchant whose inputs changed; False (nothing done) when none did."""
    now = now or timezone.now()
    end = local_today(merchant, now) - timedelta(days=1)
    settings = insight_settings_get(merchant=merchant)
    inputs = _inputs(merchant, end, settings)
    meta = InsightSnapshot.objects.for_merchant(merchant).filter(section="meta").first()
    previous = None if force or meta is None else meta.data.get("inputs")
    wanted = sections_to_refresh(previous, inputs)
    if not wanted:
        return False
    stores = list(Store.objects.for_merchant(merchant).order_by("pk"))
    periods = [period_for(key, end=end) for key in PERIODS]
    sections: dict[str, Any] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # Held until commit: a second refresh of the merchant waits, and the pages see one is running.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REFRESH_LOCK_CLASS, merchant.pk])
        cursor.execute("SET LOCAL work_mem = '128MB'")
        if wanted & _READ_PURCHASES:
            _load_purchases(cursor, merchant)
        if wanted & {"pickups", "forecast"}:
            pickups = _pickups(cursor, merchant, end)
            if "pickups" in wanted:
                sections["pickups"] = pickups
            if "forecast" in wanted:
                sections["forecast"] = _forecasts(merchant, stores, end, pickups)
        computed = {
            "overview": lambda: _overview(cursor, periods),
            "lifecycle": lambda: _lifecycle(cursor, merchant, settings, now),
            "cohorts": lambda: _cohorts(cursor),
            "channels": lambda: _channels(cursor, merchant, settings, end),
            "reach": lambda: _reach(cursor, merchant),
            "visits": lambda: _visits(cursor, merchant, periods),
            "demand": lambda: _demand(cursor, merchant, stores, end),
            "products": lambda: _products(cursor, end),
        }
        for name, compute in computed.items():
            if name in wanted:
                sections[name] = compute()
        sections["network"] = _network(cursor, merchant, now)
        sections["meta"] = {"inputs": inputs, "end": end.isoformat(), "refreshed": sorted(wanted)}
        replaced = InsightSnapshot.objects.for_merchant(merchant).filter(section__in=list(sections))
        if "daily" in wanted:
            # One section per scope: a page reads only the sparklines of the scope it shows.
            for scope, days in _daily(cursor, period_for("365d", end=end)).items():
                sections[daily_section(scope)] = days
            replaced = InsightSnapshot.objects.for_merchant(merchant).filter(
                Q(section__in=list(sections)) | Q(section__startswith=daily_section(""))
            )
        # Dropped at commit anyway; explicitly, so that two refreshes in one transaction work too.
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_TEMPORARY_TABLES)}")
        replaced.delete()
        InsightSnapshot.objects.bulk_create(
            InsightSnapshot(merchant=merchant, section=name, computed_at=now, data=data)
            for name, data in sections.items()
        )
    return True


# The store a purchase was made in: none for an online order, whatever store it is collected at.
_PLACED_STORE = "CASE WHEN p.channel = 'online' THEN NULL ELSE p.store_id END"
# How far back the pick-up corrections reach: the longest period and the one before it.
PICKUP_DAYS = 2 * max(PERIODS.values()) + 1

_TEMPORARY_TABLES = ("insight_purchase", "insight_first", "insight_presence", "insight_channel", "insight_item")


def _load_purchases(cursor: Any, merchant: Merchant) -> None:
    """Every counting purchase of the merchant, with its local days, once for all sections."""
    cursor.execute(
        f"""
        CREATE TEMP TABLE insight_purchase ON COMMIT DROP AS
        SELECT p.id, p.shopper_id, {_PLACED_STORE} AS store_id, p.channel, p.occurred_at,
               CASE WHEN {_PLACED_STORE} IS NULL THEN NULL ELSE COALESCE(s.region, '') END AS region,
               (p.occurred_at AT TIME ZONE COALESCE(CASE WHEN {_PLACED_STORE} IS NOT NULL THEN s.timezone END,
                                                    m.timezone))::date AS day,
               (p.occurred_at AT TIME ZONE m.timezone)::date AS merchant_day,
               p.amount_minor - p.refunded_minor AS net, p.amount_minor AS amount
          FROM {PURCHASE} p
          JOIN {MERCHANT} m ON m.id = p.merchant_id
          LEFT JOIN {STORE} s ON s.id = p.store_id
         WHERE p.merchant_id = %s AND p.amount_minor > p.refunded_minor
        """,  # noqa: S608 - table names from the models; values are bound
        [merchant.pk],
    )
    cursor.execute(
        """
        CREATE TEMP TABLE insight_first ON COMMIT DROP AS
        SELECT shopper_id, MIN(day) AS first_day FROM insight_purchase
         WHERE shopper_id IS NOT NULL GROUP BY shopper_id
        """
    )
    cursor.execute("ALTER TABLE insight_first ADD PRIMARY KEY (shopper_id)")
    cursor.execute("ANALYZE insight_purchase")
    cursor.execute("ANALYZE insight_first")


def _scope_key(store_grouped: int, region_grouped: int, store_id: int | None, region: str | None) -> str | None:
    if store_grouped and region_grouped:
        return ALL
    if not store_grouped:
        return ONLINE if store_id is None else f"s{store_id}"
    return None if region is None else f"r{region}"


_SCOPED = "GROUPING(t.store_id) AS store_grouped, GROUPING(t.region) AS region_grouped, t.store_id, t.region"


def _overview(cursor: Any, periods: list[Period]) -> dict[str, Any]:
    """Per period, window (current/previous) and scope: purchases, value, shoppers, new shoppers, identified value.

    A shopper bought in [start, end] exactly when their latest purchase day up to `end` is on or after
    `start`; so one pass keeps, per shopper and store, the latest day up to each window's end, and the
    distinct counts become plain filtered counts (per store; per region and overall after taking the
    latest over stores). Sums come from purchases grouped by day and store.
    """
    windows = [
        (f"{period.key}:{name}", window)
        for period in periods
        for name, window in (("current", period.current), ("previous", period.previous))
    ]
    ends = sorted({window.end for _label, window in windows})
    latest = ", ".join(f"MAX(t.day) FILTER (WHERE t.day <= %s) AS last_{index}" for index in range(len(ends)))
    cursor.execute(
        f"""
        CREATE TEMP TABLE insight_presence ON COMMIT DROP AS
        SELECT t.shopper_id, t.store_id, t.region, f.first_day, {latest}
          FROM insight_purchase t JOIN insight_first f ON f.shopper_id = t.shopper_id
         GROUP BY t.shopper_id, t.store_id, t.region, f.first_day
        """,  # noqa: S608 - generated column list; values are bound
        ends,
    )
    counts, parameters = [], []
    for _label, window in windows:
        column = f"last_{ends.index(window.end)}"
        counts += [
            f"COUNT(*) FILTER (WHERE {column} >= %s)",
            f"COUNT(*) FILTER (WHERE {column} >= %s AND first_day >= %s)",
        ]
        parameters += [window.start, window.start, window.start]
    merged = ", ".join(f"MAX(last_{index}) AS last_{index}" for index in range(len(ends)))
    shopper_counts: dict[str, list[int]] = {}
    for key_column, source in (
        ("store_id", "insight_presence"),
        (
            "region",
            f"(SELECT shopper_id, region, first_day, {merged} FROM insight_presence"  # noqa: S608
            " WHERE region IS NOT NULL GROUP BY shopper_id, region, first_day) per_region",
        ),
        (
            "NULL",
            f"(SELECT shopper_id, first_day, {merged} FROM insight_presence GROUP BY shopper_id, first_day) overall",  # noqa: S608
        ),
    ):
        cursor.execute(
            f"SELECT {key_column}, {', '.join(counts)} FROM {source} GROUP BY 1",  # noqa: S608
            parameters,
        )
        for key, *values in cursor.fetchall():
            if key_column == "store_id":
                scope = ONLINE if key is None else f"s{key}"
            else:
                scope = ALL if key_column == "NULL" else f"r{key}"
            shopper_counts[scope] = values
    cursor.execute(
        """
        SELECT day, store_id, region, COUNT(*), SUM(net), COALESCE(SUM(net) FILTER (WHERE shopper_id IS NOT NULL), 0)
          FROM insight_purchase WHERE day >= %s GROUP BY 1, 2, 3
        """,
        [min(window.start for _label, window in windows)],
    )
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, store_id, region, purchases, value, identified in cursor.fetchall():
        scopes = [ALL, ONLINE if store_id is None else f"s{store_id}"] + ([f"r{region}"] if region is not None else [])
        for label, window in windows:
            if window.start <= day <= window.end:
                for scope in scopes:
                    totals = sums[(label, scope)]
                    totals[0] += purchases
                    totals[1] += int(value)
                    totals[2] += int(identified)
    result: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for index, (label, _window) in enumerate(windows):
        for scope, values in shopper_counts.items():
            purchases, value, identified = sums.get((label, scope), (0, 0, 0))
            shoppers, new = values[2 * index], values[2 * index + 1]
            if purchases or shoppers:
                result[label][scope] = {
                    "purchases": purchases,
                    "total_minor": value,
                    "shoppers": shoppers,
                    "new_shoppers": new,
                    "identified_minor": identified,
                }
        for (sum_label, scope), (purchases, value, identified) in sums.items():
            if sum_label == label and scope not in result[label]:
                result[label][scope] = {
                    "purchases": purchases,
                    "total_minor": value,
                    "shoppers": 0,
                    "new_shoppers": 0,
                    "identified_minor": identified,
                }
    return dict(result)


def daily_section(scope: str) -> str:
    return f"daily:{scope}"


def _daily(cursor: Any, period: Period) -> dict[str, dict[str, list[int]]]:
    """Per scope and day of the last year: shoppers, new shoppers, identified value, value (sparklines)."""
    cursor.execute(
        f"""
        SELECT t.day, {_SCOPED},
               COUNT(DISTINCT t.shopper_id),
               COUNT(DISTINCT t.shopper_id) FILTER (WHERE f.first_day = t.day),
               COALESCE(SUM(t.net) FILTER (WHERE t.shopper_id IS NOT NULL), 0), SUM(t.net)
          FROM insight_purchase t
          LEFT JOIN insight_first f ON f.shopper_id = t.shopper_id
         WHERE t.day BETWEEN %s AND %s
         GROUP BY GROUPING SETS ((t.day), (t.day, t.store_id), (t.day, t.region))
        """,  # noqa: S608
        [period.current.start, period.current.end],
    )
    result: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for day, store_grouped, region_grouped, store_id, region, *figures in cursor.fetchall():
        scope = _scope_key(store_grouped, region_grouped, store_id, region)
        if scope is not None:
            result[scope][day.isoformat()] = [int(figure or 0) for figure in figures]
    return dict(result)


_SHOPPER_AS_OF = """
    SELECT shopper_id, MIN(occurred_at) AS first_at, MAX(occurred_at) AS last_at, COUNT(*) AS frequency,
           SUM(net) AS monetary, COALESCE(SUM(net) FILTER (WHERE channel = 'online'), 0) AS online_minor
      FROM insight_purchase
     WHERE shopper_id IS NOT NULL AND occurred_at < %(cutoff)s
     GROUP BY shopper_id
"""


_STAGE_SQL = stage_sql(_SHOPPER_AS_OF)


def month_start(merchant: Merchant, now: datetime) -> datetime:
    """Midnight of the first day of the current month, in the merchant's time zone."""
    local = timezone.localtime(now, timezone=zoneinfo.ZoneInfo(merchant.timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _lifecycle(cursor: Any, merchant: Merchant, settings: InsightSettings, now: datetime) -> dict[str, Any]:
    """Stages now and at the start of the month, their figures, the moves between them, the top-spender line."""
    since = month_start(merchant, now)
    cursor.execute(
        f"""
        WITH now_stage AS ({_STAGE_SQL}),
             then_stage AS ({_STAGE_SQL.replace("%(cutoff)s", "%(since)s")})
        SELECT n.stage, COALESCE(t.stage, 'none'), COUNT(*), SUM(n.monetary), SUM(n.frequency), SUM(n.online_minor),
               MIN(n.monetary)
          FROM now_stage n LEFT JOIN then_stage t ON t.shopper_id = n.shopper_id
         GROUP BY 1, 2
        """,  # noqa: S608
        {**stage_parameters(settings, now), "since": since},
    )
    stages = {stage: {"shoppers": 0, "total_minor": 0, "purchases": 0, "online_minor": 0} for stage in STAGES}
    movement: dict[str, dict[str, int]] = defaultdict(dict)
    top_line = None
    for stage, previous, shoppers, monetary, frequency, online, least in cursor.fetchall():
        if stage == "top":
            top_line = least if top_line is None else min(top_line, least)
        figures = stages[stage]
        figures["shoppers"] += shoppers
        figures["total_minor"] += int(monetary)
        figures["purchases"] += int(frequency)
        figures["online_minor"] += int(online)
        movement[previous][stage] = shoppers
    return {
        "stages": stages,
        "movement": dict(movement),
        "since": since.date().isoformat(),
        "top_spender_min_minor": int(top_line) if top_line is not None else None,
    }


def _cohorts(cursor: Any) -> dict[str, Any]:
    """Shoppers by month of first purchase, and how many bought again in each later month."""
    cursor.execute(
        """
        WITH active AS (
            SELECT DISTINCT shopper_id, date_trunc('month', merchant_day)::date AS month
              FROM insight_purchase WHERE shopper_id IS NOT NULL
        ), cohort AS (SELECT shopper_id, MIN(month) AS month FROM active GROUP BY shopper_id)
        SELECT c.month, ((EXTRACT(YEAR FROM a.month) - EXTRACT(YEAR FROM c.month)) * 12
                         + EXTRACT(MONTH FROM a.month) - EXTRACT(MONTH FROM c.month))::int, COUNT(*)
          FROM active a JOIN cohort c ON c.shopper_id = a.shopper_id
         GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
    cells: dict[str, dict[int, int]] = defaultdict(dict)
    for month, offset, shoppers in cursor.fetchall():
        cells[month.isoformat()][offset] = shoppers
    months = sorted(cells)[-COHORT_MONTHS:]
    return {
        "cohorts": [
            {
                "month": month,
                "size": cells[month].get(0, 0),
                "active": [cells[month].get(offset, 0) for offset in range(max(cells[month]) + 1)],
            }
            for month in months
        ]
    }


def _channels(cursor: Any, merchant: Merchant, settings: InsightSettings, end: date) -> dict[str, Any]:
    """Store-only, online-only and omnichannel shoppers; month by month, store-only shoppers who went online."""
    cursor.execute(
        """
        CREATE TEMP TABLE insight_channel ON COMMIT DROP AS
        SELECT shopper_id,
               MIN(merchant_day) FILTER (WHERE channel = 'in_store') AS first_store_day,
               MIN(merchant_day) FILTER (WHERE channel = 'online') AS first_online_day,
               COUNT(*) FILTER (WHERE channel = 'in_store') AS store_purchases,
               SUM(net) AS total_minor
          FROM insight_purchase WHERE shopper_id IS NOT NULL GROUP BY shopper_id
        """
    )
    cursor.execute(
        """
        SELECT CASE WHEN first_online_day IS NULL THEN 'store_only'
                    WHEN first_store_day IS NULL THEN 'online_only' ELSE 'omnichannel' END,
               COUNT(*), SUM(total_minor),
               COUNT(*) FILTER (WHERE first_online_day IS NULL AND store_purchases >= %s)
          FROM insight_channel GROUP BY 1
        """,
        [settings.regular_min_purchases],
    )
    classes = {name: {"shoppers": 0, "total_minor": 0} for name in ("store_only", "online_only", "omnichannel")}
    store_only_regulars = 0
    for name, shoppers, total, regulars in cursor.fetchall():
        classes[name] = {"shoppers": shoppers, "total_minor": int(total)}
        store_only_regulars += regulars
    cursor.execute(
        """
        SELECT shopper_id FROM insight_channel WHERE first_online_day IS NULL AND store_purchases >= %s
         ORDER BY total_minor DESC, shopper_id LIMIT %s
        """,
        [settings.regular_min_purchases, STORE_ONLY_REGULARS_LISTED],
    )
    listed = [shopper_id for (shopper_id,) in cursor.fetchall()]
    first_month = date(end.year, end.month, 1)
    months = []
    for _ in range(COHORT_MONTHS):
        months.append(first_month)
        first_month = (first_month - timedelta(days=1)).replace(day=1)
    months.reverse()
    values = ", ".join(["(%s::date)"] * len(months))
    cursor.execute(
        f"""
        WITH m(month) AS (VALUES {values})
        SELECT m.month,
               COUNT(c.shopper_id) FILTER (WHERE c.first_online_day IS NULL OR c.first_online_day >= m.month),
               COUNT(c.shopper_id) FILTER (WHERE c.first_online_day >= m.month
                                             AND c.first_online_day < m.month + interval '1 month')
          FROM m LEFT JOIN insight_channel c ON c.first_store_day < m.month
         GROUP BY m.month ORDER BY m.month
        """,  # noqa: S608
        months,
    )
    conversion = [
        {"month": month.isoformat(), "store_only": base, "converted": converted}
        for month, base, converted in cursor.fetchall()
    ]
    return {
        "classes": classes,
        "store_only_regulars": store_only_regulars,
        "store_only_regulars_listed": listed,
        "conversion": conversion,
    }


def _reach(cursor: Any, merchant: Merchant) -> dict[str, int]:
    """Active shoppers reachable for marketing: a contact on the channel and the latest consent a grant."""
    cursor.execute(
        f"""
        WITH consent AS (
            SELECT DISTINCT ON (shopper_id, channel) shopper_id, channel, is_granted
              FROM {CONSENT_EVENT}
             WHERE merchant_id = %(merchant)s AND purpose = 'marketing'
             ORDER BY shopper_id, channel, occurred_at DESC, id DESC
        ), reach AS (
            SELECT s.id,
                   EXISTS (SELECT 1 FROM {CONTACT_POINT} c WHERE c.shopper_id = s.id AND c.kind = 'email')
                       AND COALESCE(bool_or(k.is_granted) FILTER (WHERE k.channel = 'email'), FALSE) AS by_email,
                   EXISTS (SELECT 1 FROM {CONTACT_POINT} c WHERE c.shopper_id = s.id AND c.kind = 'phone')
                       AND COALESCE(bool_or(k.is_granted) FILTER (WHERE k.channel = 'sms'), FALSE) AS by_sms
              FROM {SHOPPER} s LEFT JOIN consent k ON k.shopper_id = s.id
             WHERE s.merchant_id = %(merchant)s AND s.status = 'active'
             GROUP BY s.id
        )
        SELECT COUNT(*), COUNT(*) FILTER (WHERE by_email), COUNT(*) FILTER (WHERE by_sms),
               COUNT(*) FILTER (WHERE by_email AND by_sms), COUNT(*) FILTER (WHERE NOT by_email AND NOT by_sms)
          FROM reach
        """,  # noqa: S608 - table names from the models; values are bound
        {"merchant": merchant.pk},
    )
    shoppers, email, sms, both, neither = cursor.fetchone()
    return {"shoppers": shoppers, "email": email, "sms": sms, "both": both, "neither": neither}


def _visits(cursor: Any, merchant: Merchant, periods: list[Period]) -> dict[str, dict[str, list[list[int]]]]:
    """Visits by weekday (Monday first) × hour in each store's local time, per period and store."""
    windows = [(period.key, period.current.start, period.current.end) for period in periods]
    values = ", ".join(["(%s, %s::date, %s::date)"] * len(windows))
    cursor.execute(
        f"""
        WITH w(label, start_day, end_day) AS (VALUES {values}),
        local AS (
            SELECT v.store_id, v.occurred_at AT TIME ZONE s.timezone AS at
              FROM {VISIT} v JOIN {STORE} s ON s.id = v.store_id
             WHERE v.merchant_id = %s AND v.occurred_at >= %s::date - interval '2 days'
        )
        SELECT w.label, GROUPING(local.store_id), local.store_id,
               EXTRACT(ISODOW FROM local.at)::int, EXTRACT(HOUR FROM local.at)::int, COUNT(*)
          FROM local JOIN w ON local.at::date BETWEEN w.start_day AND w.end_day
         GROUP BY GROUPING SETS ((w.label, 4, 5), (w.label, local.store_id, 4, 5))
        """,  # noqa: S608
        [value for window in windows for value in window] + [merchant.pk, min(window[1] for window in windows)],
    )
    result: dict[str, dict[str, list[list[int]]]] = defaultdict(dict)
    for label, grouped, store_id, weekday, hour, visits in cursor.fetchall():
        scope = ALL if grouped else f"s{store_id}"
        grid = result[label].setdefault(scope, [[0] * 24 for _ in range(7)])
        grid[weekday - 1][hour] = visits
    return dict(result)


def _pickups(cursor: Any, merchant: Merchant, end: date) -> list[list[Any]]:
    """Online orders with a pick-up store over the last PICKUP_DAYS days, as the store-hour rollup filed them
    (the store's local day and hour) and as online revenue (the merchant's local day):
    [store id, region, store day, hour, merchant day, purchases, value]."""
    cursor.execute(
        f"""
        SELECT p.store_id, COALESCE(s.region, ''), (p.occurred_at AT TIME ZONE s.timezone)::date,
               EXTRACT(HOUR FROM p.occurred_at AT TIME ZONE s.timezone)::int,
               (p.occurred_at AT TIME ZONE m.timezone)::date, COUNT(*), SUM(p.amount_minor - p.refunded_minor)
          FROM {PURCHASE} p
          JOIN {MERCHANT} m ON m.id = p.merchant_id
          JOIN {STORE} s ON s.id = p.store_id
         WHERE p.merchant_id = %s AND p.channel = 'online' AND p.amount_minor > p.refunded_minor
           AND p.occurred_at >= %s
         GROUP BY 1, 2, 3, 4, 5
         ORDER BY 1, 3, 4, 5
        """,  # noqa: S608 - table names from the models; values are bound
        [merchant.pk, end - timedelta(days=PICKUP_DAYS)],
    )
    return [
        [store_id, region, store_day.isoformat(), hour, merchant_day.isoformat(), count, int(value)]
        for store_id, region, store_day, hour, merchant_day, count, value in cursor.fetchall()
    ]


def hourly_history(
    *, merchant: Merchant, store: Store | None, end: date, weeks: int, pickups: Sequence[Sequence[Any]] = ()
) -> list[float]:
    """Store purchases per local hour over the `weeks` whole weeks ending on `end`, oldest first, from the
    rollup, less the online orders collected in the store (`pickups`, as `_pickups` gives them)."""
    start = end - timedelta(days=weeks * 7 - 1)
    rows = StoreHourRollup.objects.for_merchant(merchant).filter(day__range=(start, end))
    rows = rows.filter(store=store) if store is not None else rows.exclude(store=None)
    series = [0.0] * (weeks * 7 * 24)
    for day, hour, count in rows.values_list("day", "hour").annotate(count=Sum("purchase_count")):
        series[(day - start).days * 24 + hour] += count
    for store_id, _region, store_day, hour, _merchant_day, count, _value in pickups:
        offset = (date.fromisoformat(store_day) - start).days
        if (store is None or store_id == store.pk) and 0 <= offset < weeks * 7:
            series[offset * 24 + hour] -= count
    return series


def _forecasts(merchant: Merchant, stores: list[Store], end: date, pickups: list[list[Any]]) -> dict[str, Any]:
    """Per store and for all stores: the next four weeks by hour, and the back-test of the model. Closed days
    (and days before the first sale) are left out of both; public holidays of the store's country are learned
    and marked (for all stores together, those of their country when they share one)."""
    start = end - timedelta(days=FORECAST_HISTORY_WEEKS * 7 - 1)
    horizon_end = end + timedelta(days=forecasting.HORIZON_WEEKS * 7)
    countries = {store.pk: country_for_timezone(store.timezone) for store in stores}
    shared = set(countries.values())
    common = next(iter(shared)) if len(shared) == 1 else None
    result = {}
    for scope, store in [(ALL, None), *((f"s{store.pk}", store) for store in stores)]:
        history = hourly_history(merchant=merchant, store=store, end=end, weeks=FORECAST_HISTORY_WEEKS, pickups=pickups)
        if not any(history):
            continue
        country = countries[store.pk] if store is not None else common
        named = holidays_between(country, start, horizon_end)
        holiday_days = frozenset((day - start).days for day in named)
        purchases = [round(sum(history[day * 24 : (day + 1) * 24])) for day in range(FORECAST_HISTORY_WEEKS * 7)]
        closed = demand_model.closed_days(purchases, start.weekday(), holiday_days)
        opened = demand_model.before_opening(purchases)
        calendar = demand_model.Calendar(
            first_weekday=start.weekday(), holidays=holiday_days, closed=closed | frozenset(range(opened))
        )
        test = forecasting.backtest(history, calendar=calendar)
        effect = forecasting.holiday_effect(history, calendar)
        result[scope] = {
            "hours": [round(value, 2) for value in forecasting.forecast(history, calendar=calendar)],
            "mape": test.mape,
            "naive_mape": test.naive_mape,
            "wape": test.wape,
            "naive_wape": test.naive_wape,
            "mase": test.mase,
            "naive_mase": test.naive_mase,
            "beats_naive": test.beats_naive,
            "held_out_weeks": test.held_out_weeks,
            "held_out_purchases": round(test.actual_total),
            "country": country,
            "closed_days": sorted((start + timedelta(days=day)).isoformat() for day in closed),
            "first_sale": (start + timedelta(days=opened)).isoformat() if opened else None,
            "holiday_factor": effect.factor if holiday_days else None,
            "holidays_seen": effect.seen,
            "holidays": {day.isoformat(): name for day, name in named.items() if day > end},
        }
    return {"start": (end + timedelta(days=1)).isoformat(), "scopes": result}


def _demand(cursor: Any, merchant: Merchant, stores: list[Store], end: date) -> dict[str, Any]:
    """Per store (and online): the next weeks' units and revenue by category with 80 % intervals, the learned
    holiday and promotion effects, and the back-test on the last weeks (see insights.demand)."""
    days = demand_model.HISTORY_WEEKS * 7
    start = end - timedelta(days=days - 1)
    horizon_end = end + timedelta(days=demand_model.HORIZON_WEEKS * 7)
    cursor.execute(
        f"""
        SELECT t.store_id, li.category, t.day, SUM(li.quantity),
               SUM(ROUND(li.quantity * li.unit_price_minor * t.net::numeric / t.amount))
          FROM {LINE_ITEM} li JOIN insight_purchase t ON t.id = li.purchase_id
         WHERE t.day BETWEEN %s AND %s
         GROUP BY 1, 2, 3
        """,  # noqa: S608 - table names from the models; values are bound
        [start, end],
    )
    units: dict[int | None, dict[str, list[float]]] = defaultdict(dict)
    revenue: dict[int | None, dict[str, list[float]]] = defaultdict(dict)
    for store_id, category, day, quantity, value in cursor.fetchall():
        index = (day - start).days
        units[store_id].setdefault(category or "", [0.0] * days)[index] += float(quantity)
        revenue[store_id].setdefault(category or "", [0.0] * days)[index] += float(value)
    cursor.execute(
        "SELECT store_id, day, COUNT(*) FROM insight_purchase WHERE day BETWEEN %s AND %s GROUP BY 1, 2",
        [start, end],
    )
    purchases: dict[int | None, list[int]] = defaultdict(lambda: [0] * days)
    for store_id, day, count in cursor.fetchall():
        purchases[store_id][(day - start).days] = count
    promotions = promotion_days(merchant=merchant, stores=stores, start=start, end=horizon_end)
    places: list[tuple[str, int | None, str, str]] = [
        (f"s{store.pk}", store.pk, store.name, store.timezone) for store in stores
    ] + [(ONLINE, None, "Online", merchant.timezone)]
    result: dict[str, Any] = {}
    overall = demand_model.Score()
    for scope, store_id, label, zone in places:
        if not units.get(store_id):
            continue
        country = country_for_timezone(zone)
        named = holidays_between(country, start, horizon_end)
        holiday_days = frozenset((day - start).days for day in named)
        # An online shop does not close: an empty day online is a day without orders.
        closed = (
            demand_model.closed_days(purchases[store_id], start.weekday(), holiday_days) if store_id else frozenset()
        )
        calendar = demand_model.Calendar(
            first_weekday=start.weekday(),
            holidays=holiday_days,
            promotions=frozenset((day - start).days for day in promotions.get(store_id, ())),
            closed=closed | frozenset(range(demand_model.before_opening(purchases[store_id]))),
        )
        series = {
            category: demand_model.Series(units=values, revenue=revenue[store_id][category])
            for category, values in units[store_id].items()
        }
        predicted = demand_model.forecast_store(series, calendar, days=days)
        score = demand_model.backtest_store(series, calendar, days=days)
        overall.add(score)
        weeks = []
        for week in range(demand_model.HORIZON_WEEKS):
            first = end + timedelta(days=1 + week * 7)
            week_days = [first + timedelta(days=offset) for offset in range(7)]
            weeks.append(
                {
                    "start": first.isoformat(),
                    "holidays": [f"{named[day]} ({day:%a %d %b})" for day in week_days if day in named],
                    "promotion_days": sum(1 for day in week_days if day in promotions.get(store_id, ())),
                }
            )
        categories: list[dict[str, Any]] = [
            {
                "category": category,
                "weeks": [
                    [
                        round(row.units, 2),
                        row.low,
                        row.high,
                        round(row.revenue),
                        round(row.revenue_low),
                        round(row.revenue_high),
                    ]
                    for row in rows
                ],
            }
            for category, rows in predicted.weeks.items()
        ]
        categories.sort(key=lambda row: (-sum(week[3] for week in row["weeks"]), str(row["category"])))
        result[scope] = {
            "label": label,
            "country": country,
            "holiday_factor": predicted.effects.holiday_factor,
            "promotion_factor": predicted.effects.promotion_factor,
            "holidays_seen": predicted.effects.holidays_seen,
            "promotion_days_seen": predicted.effects.promotion_days_seen,
            "closed_days": sorted((start + timedelta(days=day)).isoformat() for day in closed),
            "backtest": score.as_dict(),
            "weeks": weeks,
            "categories": categories,
        }
    return {
        "start": (end + timedelta(days=1)).isoformat(),
        "history_start": start.isoformat(),
        "level": demand_model.INTERVAL_LEVEL,
        "stores": result,
        "backtest": overall.as_dict(),
    }


def _product_scope(grouped: int, store_id: int | None) -> str:
    if grouped:
        return ALL
    return ONLINE if store_id is None else f"s{store_id}"


def _products(cursor: Any, end: date) -> dict[str, Any]:
    """Last 90 days: categories and SKUs by value; categories bought together (support, confidence, lift),
    over the same 90 days' baskets.

    A line is worth its share of what the basket is still worth: a refund names no line, so a partial refund
    takes from each line in proportion to its value (a fully refunded basket does not count at all)."""
    start = end - timedelta(days=PRODUCT_DAYS - 1)
    cursor.execute(
        f"""
        CREATE TEMP TABLE insight_item ON COMMIT DROP AS
        SELECT li.purchase_id, t.store_id, t.day, li.sku, li.name, li.category, li.quantity,
               ROUND(li.quantity * li.unit_price_minor * t.net::numeric / t.amount)::bigint AS value
          FROM {LINE_ITEM} li JOIN insight_purchase t ON t.id = li.purchase_id
         WHERE t.day BETWEEN %s AND %s
        """,  # noqa: S608 - table names from the models; values are bound
        [start, end],
    )
    categories, skus = _product_figures(cursor, since=start)
    # The same figures over the shorter preset periods (the same baskets, fewer days), for the page's period filter.
    periods = {}
    for key in PRODUCT_PERIODS:
        since = end - timedelta(days=PERIODS[key] - 1)
        period_categories, period_skus = (categories, skus) if since == start else _product_figures(cursor, since=since)
        periods[key] = {"start": since.isoformat(), "categories": period_categories, "skus": period_skus}
    cursor.execute(
        """
        WITH basket AS (SELECT DISTINCT purchase_id, category FROM insight_item WHERE category <> ''),
             single AS (SELECT category, COUNT(*) AS baskets FROM basket GROUP BY category),
             together AS (
                 SELECT a.category AS first, b.category AS second, COUNT(*) AS baskets
                   FROM basket a JOIN basket b ON a.purchase_id = b.purchase_id AND a.category <> b.category
                  GROUP BY 1, 2 HAVING COUNT(*) >= %s
             )
        SELECT t.first, t.second, t.baskets, fs.baskets, ss.baskets,
               (SELECT COUNT(DISTINCT purchase_id) FROM basket)
          FROM together t JOIN single fs ON fs.category = t.first JOIN single ss ON ss.category = t.second
        """,
        [PAIR_MIN_BASKETS],
    )
    pairs = []
    for first, second, together, first_baskets, second_baskets, baskets in cursor.fetchall():
        pairs.append(
            {
                "antecedent": first,
                "consequent": second,
                "baskets": together,
                "support": together / baskets,
                "confidence": together / first_baskets,
                "lift": together * baskets / (first_baskets * second_baskets),
            }
        )
    pairs.sort(key=lambda pair: (-pair["lift"], -pair["baskets"], pair["antecedent"], pair["consequent"]))
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "categories": categories,
        "skus": skus,
        "periods": periods,
        "pairs": pairs[: PAIR_LIMIT * 2],
    }


def _product_figures(cursor: Any, *, since: date) -> tuple[dict[str, Any], dict[str, Any]]:
    """Categories and top SKUs by value, per scope, of the items in insight_item from `since` on."""
    cursor.execute(
        """
        SELECT GROUPING(store_id), store_id, category, SUM(quantity), SUM(value), COUNT(DISTINCT purchase_id)
          FROM insight_item WHERE day >= %s
         GROUP BY GROUPING SETS ((category), (store_id, category)) ORDER BY SUM(value) DESC
        """,
        [since],
    )
    categories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for grouped, store_id, category, quantity, value, baskets in cursor.fetchall():
        categories[_product_scope(grouped, store_id)].append(
            {"category": category or "", "quantity": int(quantity), "total_minor": int(value), "baskets": baskets}
        )
    cursor.execute(
        """
        SELECT grouped, store_id, sku, name, quantity, value FROM (
            SELECT GROUPING(store_id) AS grouped, store_id, sku, MIN(name) AS name, SUM(quantity) AS quantity,
                   SUM(value) AS value,
                   ROW_NUMBER() OVER (PARTITION BY GROUPING(store_id), store_id ORDER BY SUM(value) DESC, sku) AS rank
              FROM insight_item WHERE sku <> '' AND day >= %s GROUP BY GROUPING SETS ((sku), (store_id, sku))
        ) ranked
         WHERE rank <= %s ORDER BY value DESC, sku
        """,
        [since, TOP_SKUS],
    )
    skus: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for grouped, store_id, sku, name, quantity, value in cursor.fetchall():
        skus[_product_scope(grouped, store_id)].append(
            {"sku": sku, "name": name, "quantity": int(quantity), "total_minor": int(value)}
        )
    return dict(categories), dict(skus)


# No aggregate computed from fewer shoppers than this is shown: a small cell could single a person out.
MIN_SHOPPERS_PER_CELL = 10
NETWORK_DAYS = 90

_NETWORK_SHARING = f"""
    members AS (SELECT merchant_id FROM {MERCHANT_NETWORKS} WHERE network_id = %(network)s),
    latest AS (
        SELECT DISTINCT ON (e.shopper_id, e.channel) e.shopper_id, e.is_granted
          FROM {CONSENT_EVENT} e
         WHERE e.merchant_id IN (SELECT merchant_id FROM members) AND e.purpose = 'network_sharing'
         ORDER BY e.shopper_id, e.channel, e.occurred_at DESC, e.id DESC
    ),
    sharing AS (SELECT shopper_id FROM latest GROUP BY shopper_id HAVING bool_or(is_granted))
"""  # noqa: S608 - table names from the models; values are bound

_NETWORK_CATEGORIES_SQL = f"""
    WITH {_NETWORK_SHARING}
    SELECT p.merchant_id, li.category, COUNT(DISTINCT p.shopper_id), SUM(li.quantity * li.unit_price_minor)
      FROM {PURCHASE} p
      JOIN sharing ON sharing.shopper_id = p.shopper_id
      JOIN {LINE_ITEM} li ON li.purchase_id = p.id
     WHERE p.merchant_id IN (SELECT merchant_id FROM members)
       AND p.occurred_at >= %(since)s AND p.amount_minor > p.refunded_minor
     GROUP BY 1, 2
"""  # noqa: S608 - fixed SQL; values are bound

# The merchant's sharing shoppers, found at the other merchants of the network by an active card of the
# same fingerprint whose holder shares too; what they buy there, counted per shopper of this merchant.
_NETWORK_ELSEWHERE_SQL = f"""
    WITH {_NETWORK_SHARING},
    own AS (
        SELECT DISTINCT c.shopper_id, c.fingerprint FROM {CARD} c
          JOIN sharing ON sharing.shopper_id = c.shopper_id
         WHERE c.merchant_id = %(merchant)s AND c.status = 'active'
    ),
    twin AS (
        SELECT DISTINCT own.shopper_id AS own_shopper, c.shopper_id AS other_shopper
          FROM own
          JOIN {CARD} c ON c.fingerprint = own.fingerprint AND c.status = 'active'
          JOIN sharing ON sharing.shopper_id = c.shopper_id
         WHERE c.merchant_id <> %(merchant)s AND c.merchant_id IN (SELECT merchant_id FROM members)
    )
    SELECT p.merchant_id, li.category, COUNT(DISTINCT twin.own_shopper), SUM(li.quantity * li.unit_price_minor)
      FROM twin
      JOIN {PURCHASE} p ON p.shopper_id = twin.other_shopper
      JOIN {LINE_ITEM} li ON li.purchase_id = p.id
     WHERE p.occurred_at >= %(since)s AND p.amount_minor > p.refunded_minor
     GROUP BY 1, 2
"""  # noqa: S608


def _network_cells(rows: list[tuple[int, str, int, int]], members: dict[int, Merchant]) -> list[dict[str, Any]]:
    """Cells of fewer than MIN_SHOPPERS_PER_CELL shoppers keep no figure at all, so none can leak later."""
    cells = [
        {
            "merchant": members[merchant_id].name,
            "currency": members[merchant_id].currency,
            "category": category or "(none)",
            "shoppers": shoppers if shoppers >= MIN_SHOPPERS_PER_CELL else None,
            "total_minor": int(total) if shoppers >= MIN_SHOPPERS_PER_CELL else None,
        }
        for merchant_id, category, shoppers, total in rows
    ]
    return sorted(
        cells,
        key=lambda cell: (cell["shoppers"] is None, -(cell["total_minor"] or 0), cell["merchant"], cell["category"]),
    )


def _network(cursor: Any, merchant: Merchant, now: datetime) -> dict[str, Any]:
    """Per mall network of the merchant: category spend across it, and where this merchant's shoppers also buy."""
    since = now - timedelta(days=NETWORK_DAYS)
    views = []
    for network in merchant.networks.order_by("name").prefetch_related("merchants"):
        members = {member.pk: member for member in network.merchants.all()}
        parameters = {"network": network.pk, "merchant": merchant.pk, "since": since}
        cursor.execute(_NETWORK_CATEGORIES_SQL, parameters)
        categories = _network_cells(cursor.fetchall(), members)
        cursor.execute(_NETWORK_ELSEWHERE_SQL, parameters)
        elsewhere = _network_cells(cursor.fetchall(), members)
        views.append(
            {"name": network.name, "since": since.date().isoformat(), "categories": categories, "elsewhere": elsewhere}
        )
    return {"networks": views}


def staff_needed(expected_purchases: float, per_staff_hour: int) -> int:
    return math.ceil(expected_purchases / per_staff_hour) if expected_purchases >= 0.5 else 0
