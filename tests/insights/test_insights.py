"""Every insight figure against the same figure recomputed from raw rows of a generated history."""

import math
from collections import Counter, defaultdict
from datetime import date, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from insights import selectors, services, stages
from insights.models import InsightSettings, InsightSnapshot
from insights.periods import ONLINE, period_for
from profiles.models import ContactPoint, LineItem, Purchase, Shopper, ShopperRollup, Visit
from profiles.selectors import consents_current
from profiles.services.rollups import rollups_rebuild
from tests.factories import StoreFactory
from tests.insights.insight_data import NOW, counted_rows, first_days, history_load, per_shopper

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(merchant):
    StoreFactory(merchant=merchant, name="Amsterdam", timezone="Europe/Amsterdam", region="North")
    StoreFactory(merchant=merchant, name="London", timezone="Europe/London", region="West")
    history_load(merchant)
    _collect_some_online_orders_in_store(merchant)
    assert services.insights_refresh(merchant=merchant, now=NOW)
    return counted_rows(merchant)


def _collect_some_online_orders_in_store(merchant):
    """One online order in four is collected at a store: online revenue on every page all the same."""
    stores = list(merchant.stores.order_by("pk"))
    online = Purchase.objects.for_merchant(merchant).filter(channel="online").order_by("pk")
    for index, purchase_id in enumerate(online.values_list("pk", flat=True)[::4]):
        Purchase.objects.for_merchant(merchant).filter(pk=purchase_id).update(store=stores[index % len(stores)])
    with transaction.atomic():
        rollups_rebuild(merchant=merchant)
    assert Purchase.objects.for_merchant(merchant).filter(channel="online", store__isnull=False).count() > 50


def _figures(overview):
    return {figure.label: figure for figure in overview.figures}


@pytest.mark.parametrize("period_key", ["7d", "28d", "90d"])
def test_overview_figures_match_raw_rows_for_every_scope(merchant, history, period_key):
    firsts = first_days(history)
    stores = list(merchant.stores.order_by("pk"))
    scopes = [("", lambda row: True), (ONLINE, lambda row: row.store is None)] + [
        (f"s{store.pk}", lambda row, pk=store.pk: row.store == pk) for store in stores
    ]
    for value, in_scope in scopes:
        scope = selectors.scope_for(merchant=merchant, value=value)
        overview = selectors.overview_get(merchant=merchant, period_key=period_key, scope=scope, now=NOW)
        figures = _figures(overview)
        assert overview.period == period_for(
            period_key, end=NOW.astimezone(ZoneInfo("Europe/Amsterdam")).date() - timedelta(days=1)
        )
        for name, window in (("current", overview.period.current), ("previous", overview.period.previous)):
            rows = [row for row in history if window.start <= row.day <= window.end and in_scope(row)]
            revenue = sum(row.net for row in rows)
            shoppers = {row.shopper for row in rows if row.shopper is not None}
            new = {shopper for shopper in shoppers if firsts[shopper] >= window.start}
            identified = sum(row.net for row in rows if row.shopper is not None)
            in_store = sum(row.net for row in rows if row.store is not None)
            got = {label: getattr(figure, name) for label, figure in figures.items()}
            assert got["Revenue"] == revenue
            assert got["Purchases"] == len(rows)
            assert got["Shoppers"] == len(shoppers)
            assert got["New shoppers"] == len(new)
            assert got["Returning shoppers"] == len(shoppers) - len(new)
            assert got["Average basket"] == pytest.approx(revenue / len(rows) if rows else None)
            assert got["Identified share"] == pytest.approx(identified / revenue if revenue else None)
            assert got["In store"] == pytest.approx(in_store / revenue if revenue else None)
        days = overview.period.current.dates()
        assert figures["Revenue"].sparkline == [
            sum(row.net for row in history if row.day == day and in_scope(row)) for day in days
        ]
        assert figures["Shoppers"].sparkline == [
            len({row.shopper for row in history if row.day == day and in_scope(row) and row.shopper}) for day in days
        ]


def _stage(figures, recent_rank, settings, cutoff):
    if figures["first"] >= cutoff - timedelta(days=settings.new_days):
        return "new"
    if figures["last"] < cutoff - timedelta(days=settings.lapsed_days):
        return "lapsed"
    if figures["last"] < cutoff - timedelta(days=settings.at_risk_days):
        return "at_risk"
    if recent_rank <= settings.top_spender_percent / 100:
        return "top"
    return "regular" if figures["frequency"] >= settings.regular_min_purchases else "active"


def _stages(history, settings, cutoff):
    shoppers = per_shopper(history, before=cutoff)
    recent = [
        figures["monetary"]
        for figures in shoppers.values()
        if figures["first"] < cutoff - timedelta(days=settings.new_days)
        and figures["last"] >= cutoff - timedelta(days=settings.at_risk_days)
    ]
    stages = {}
    for shopper, figures in shoppers.items():
        # CUME_DIST over spend, highest first: the share of recent shoppers spending at least as much.
        rank = sum(1 for monetary in recent if monetary >= figures["monetary"]) / len(recent) if recent else 1
        stages[shopper] = _stage(figures, rank, settings, cutoff)
    return shoppers, stages


def test_lifecycle_stages_movement_and_top_spenders_match_raw_rows(merchant, history):
    settings = InsightSettings(merchant=merchant)
    shoppers, now_stages = _stages(history, settings, NOW)
    month_start = services.month_start(merchant, NOW)
    _then, then_stages = _stages(history, settings, month_start)

    lifecycle = selectors.lifecycle_get(merchant=merchant)

    counts = Counter(now_stages.values())
    assert {row.stage: row.shoppers for row in lifecycle.stages} == {stage: counts[stage] for stage in stages.STAGES}
    for row in lifecycle.stages:
        members = [shopper for shopper, stage in now_stages.items() if stage == row.stage]
        assert row.total_minor == sum(shoppers[shopper]["monetary"] for shopper in members)
        assert row.purchases == sum(shoppers[shopper]["frequency"] for shopper in members)
        assert row.online_minor == sum(shoppers[shopper]["online"] for shopper in members)
    moves = Counter((then_stages.get(shopper, "none"), stage) for shopper, stage in now_stages.items())
    expected_rows = [
        (stages.STAGE_LABELS[origin], [moves[(origin, stage)] for stage in stages.STAGES])
        for origin in ("none", *stages.STAGES)
        if any(moves[(origin, stage)] for stage in stages.STAGES)
    ]
    assert lifecycle.movement == expected_rows
    tops = [shoppers[shopper]["monetary"] for shopper, stage in now_stages.items() if stage == "top"]
    assert lifecycle.top_spender_min_minor == min(tops)
    assert counts["top"] > 0 and counts["lapsed"] > 0 and counts["regular"] > 0


def test_a_shoppers_stage_on_the_profile_agrees_with_the_lifecycle_page(merchant, history):
    settings = InsightSettings(merchant=merchant)
    _shoppers, now_stages = _stages(history, settings, NOW)
    line = selectors.lifecycle_get(merchant=merchant).top_spender_min_minor
    for rollup in ShopperRollup.objects.for_merchant(merchant):
        stage = selectors.shopper_stage(rollup=rollup, settings=settings, top_spender_min_minor=line, now=NOW)
        assert stage == now_stages[rollup.shopper_id], rollup.shopper_id


def test_cohort_retention_matches_raw_rows(merchant, history):
    active = defaultdict(set)
    for row in history:
        if row.shopper is not None:
            active[row.shopper].add(row.month)
    cells = Counter()
    for months in active.values():
        first = min(months)
        for month in months:
            cells[(first, (month.year - first.year) * 12 + month.month - first.month)] += 1

    cohorts = selectors.lifecycle_get(merchant=merchant).cohorts

    assert cohorts
    for cohort in cohorts:
        first = cohort["month"]
        assert cohort["size"] == cells[(first_month := date.fromisoformat(first), 0)]
        assert cohort["active"] == [cells[(first_month, offset)] for offset in range(len(cohort["active"]))]
        assert cohort["retention"][0] == 1


def test_channels_and_conversion_match_raw_rows(merchant, history):
    per = defaultdict(lambda: {"store": None, "online": None, "store_count": 0, "total": 0})
    zone = ZoneInfo(merchant.timezone)
    for row in history:
        if row.shopper is None:
            continue
        figures = per[row.shopper]
        day = row.at.astimezone(zone).date()
        key = "store" if row.channel == "in_store" else "online"
        figures[key] = day if figures[key] is None else min(figures[key], day)
        figures["store_count"] += row.channel == "in_store"
        figures["total"] += row.net
    classes = Counter(
        "store_only" if f["online"] is None else "online_only" if f["store"] is None else "omnichannel"
        for f in per.values()
    )
    regulars = sorted(
        (shopper for shopper, f in per.items() if f["online"] is None and f["store_count"] >= 4),
        key=lambda shopper: (-per[shopper]["total"], shopper),
    )

    channels = selectors.channels_get(merchant=merchant)

    assert {row["key"]: row["shoppers"] for row in channels.classes} == dict(classes)
    assert channels.store_only_regulars == len(regulars)
    assert [shopper.pk for shopper in channels.regulars] == regulars[:50]
    for month in channels.conversion:
        start = date.fromisoformat(month["month"])
        end = (start + timedelta(days=32)).replace(day=1)
        base = [f for f in per.values() if f["store"] is not None and f["store"] < start]
        assert month["store_only"] == sum(1 for f in base if f["online"] is None or f["online"] >= start)
        assert month["converted"] == sum(1 for f in base if f["online"] is not None and start <= f["online"] < end)
    assert any(month["converted"] for month in channels.conversion)


def test_reach_matches_the_consent_ledger(merchant, history):
    email = sms = both = neither = total = 0
    for shopper in Shopper.objects.for_merchant(merchant).filter(status="active"):
        kinds = set(ContactPoint.objects.filter(shopper=shopper).values_list("kind", flat=True))
        granted = {
            event.channel
            for event in consents_current(merchant=merchant, shopper=shopper)
            if event.purpose == "marketing" and event.is_granted
        }
        by_email, by_sms = "email" in kinds and "email" in granted, "phone" in kinds and "sms" in granted
        total += 1
        email += by_email
        sms += by_sms
        both += by_email and by_sms
        neither += not by_email and not by_sms

    reach = selectors.reach_get(merchant=merchant)

    assert (reach.shoppers, reach.email, reach.sms, reach.both, reach.neither) == (total, email, sms, both, neither)
    assert 0 < reach.email < total


def test_traffic_heatmaps_match_raw_rows_in_store_local_time(merchant, history):
    for store in merchant.stores.all():
        scope = selectors.scope_for(merchant=merchant, value=f"s{store.pk}")
        traffic = selectors.traffic_get(merchant=merchant, period_key="28d", scope=scope, now=NOW)
        window = traffic.period.current
        zone = ZoneInfo(store.timezone)
        purchases = [[0] * 24 for _ in range(7)]
        for row in history:
            if row.store == store.pk and window.start <= row.day <= window.end:
                local = row.at.astimezone(zone)
                purchases[local.weekday()][local.hour] += 1
        visits = [[0] * 24 for _ in range(7)]
        for occurred_at in (
            Visit.objects.for_merchant(merchant).filter(store=store).values_list("occurred_at", flat=True)
        ):
            local = occurred_at.astimezone(zone)
            if window.start <= local.date() <= window.end:
                visits[local.weekday()][local.hour] += 1
        assert traffic.purchases == purchases
        assert traffic.visits == visits
        busiest = max(traffic.cells(), key=lambda cell: cell.purchases)
        assert traffic.busiest[0].purchases == busiest.purchases
        assert len(traffic.forecast_days) == 28


def test_forecast_beats_seasonal_naive_on_generated_history(merchant, history):
    traffic = selectors.traffic_get(merchant=merchant, period_key="28d", scope=selectors.Scope(), now=NOW)

    assert traffic.held_out_weeks == 4
    assert traffic.mape is not None and traffic.naive_mape is not None
    assert traffic.mape < traffic.naive_mape


def test_stores_and_regions_match_raw_rows(merchant, history):
    comparison = selectors.stores_get(merchant=merchant, period_key="28d", now=NOW)
    window, previous = comparison.period.current, comparison.period.previous
    by_label = {row.label: row for row in comparison.stores}
    for store in merchant.stores.all():
        rows = [row for row in history if row.store == store.pk and window.start <= row.day <= window.end]
        before = [row for row in history if row.store == store.pk and previous.start <= row.day <= previous.end]
        figures = by_label[store.name]
        assert figures.total_minor == sum(row.net for row in rows)
        assert figures.purchases == len(rows)
        assert figures.previous_total_minor == sum(row.net for row in before)
        assert figures.shoppers == len({row.shopper for row in rows if row.shopper})
    regions = {row.label: row for row in comparison.regions}
    for store in merchant.stores.all():
        assert regions[store.region].total_minor == by_label[store.name].total_minor
        assert regions[store.region].shoppers == by_label[store.name].shoppers


def test_categories_and_pairs_match_raw_line_items(merchant, history):
    products = selectors.products_get(merchant=merchant)
    start, end = (date.fromisoformat(value) for value in (products.start, products.end))
    counted = {row.id for row in history if start <= row.day <= end}
    totals = Counter()
    baskets = defaultdict(set)
    # A partial refund takes from each line of the basket in proportion to its value.
    net = {row.id: row.net for row in history}
    amounts = dict(Purchase.objects.for_merchant(merchant).values_list("pk", "amount_minor"))

    def value(item):  # rounded half up, as PostgreSQL rounds
        share = Fraction(item.quantity * item.unit_price_minor * net[item.purchase_id], amounts[item.purchase_id])
        return math.floor(share + Fraction(1, 2))

    assert any(net[purchase] < amounts[purchase] for purchase in counted)  # the history has partial refunds
    for item in LineItem.objects.for_merchant(merchant).filter(purchase_id__in=counted):
        totals[item.category] += value(item)
        if item.category:
            baskets[item.purchase_id].add(item.category)

    assert {row["category"]: row["total_minor"] for row in products.categories} == dict(totals)
    stores = {row.id: row.store for row in history}
    for store in [None, *merchant.stores.values_list("pk", flat=True)]:
        scope = selectors.scope_for(merchant=merchant, value=ONLINE if store is None else f"s{store}")
        in_scope = selectors.products_get(merchant=merchant, scope=scope)
        store_totals, sku_totals = Counter(), Counter()
        for item in LineItem.objects.for_merchant(merchant).filter(purchase_id__in=counted):
            if stores[item.purchase_id] == store:
                store_totals[item.category] += value(item)
                if item.sku:
                    sku_totals[item.sku] += value(item)
        assert {row["category"]: row["total_minor"] for row in in_scope.categories} == dict(store_totals)
        top = sorted(sku_totals.items(), key=lambda pair: (-pair[1], pair[0]))[:20]
        assert [(row["sku"], row["total_minor"]) for row in in_scope.skus] == top
    stored = InsightSnapshot.objects.get(merchant=merchant, section="products").data["pairs"]
    assert stored
    # The page shows each pair once, and only those bought together more often than chance.
    assert products.pairs == [p for p in stored if p["antecedent"] < p["consequent"] and p["lift"] > 1][:20]
    basket_count = len(baskets)
    for pair in stored:
        first, second = pair["antecedent"], pair["consequent"]
        both = sum(1 for categories in baskets.values() if {first, second} <= categories)
        with_first = sum(1 for categories in baskets.values() if first in categories)
        with_second = sum(1 for categories in baskets.values() if second in categories)
        assert pair["baskets"] == both
        assert pair["support"] == pytest.approx(both / basket_count)
        assert pair["confidence"] == pytest.approx(both / with_first)
        assert pair["lift"] == pytest.approx(both * basket_count / (with_first * with_second))


def test_recommended_categories_are_unbought_and_lift_above_one(merchant, history):
    pairs = [
        {"antecedent": "Tops", "consequent": "Shoes", "confidence": 0.3, "lift": 1.4},
        {"antecedent": "Tops", "consequent": "Socks", "confidence": 0.5, "lift": 0.9},
        {"antecedent": "Jeans", "consequent": "Shoes", "confidence": 0.4, "lift": 1.2},
        {"antecedent": "Tops", "consequent": "Jeans", "confidence": 0.6, "lift": 1.5},
    ]

    recommended = selectors.categories_recommended(
        pairs=pairs, popular=["Tops", "Shoes", "Hats", "Bags"], bought={"Tops", "Jeans"}
    )

    assert [(item["category"], item["because"]) for item in recommended] == [
        ("Shoes", "Jeans"),
        ("Hats", None),
        ("Bags", None),
    ]


def test_refresh_is_skipped_until_purchases_day_or_thresholds_change(merchant, history, manager):
    assert not services.insights_refresh(merchant=merchant, now=NOW)
    assert services.insights_refresh(merchant=merchant, now=NOW + timedelta(days=1))

    services.insight_settings_update(merchant=merchant, actor=manager, new_days=14)

    assert services.insights_refresh(merchant=merchant, now=NOW + timedelta(days=1))


def test_a_merge_and_consent_withdrawals_make_the_next_refresh_recompute(merchant, history, manager):
    from profiles.services.identity import shopper_merge
    from profiles.services.preference_centre import consent_unsubscribe

    before = selectors.reach_get(merchant=merchant)
    first, second = Shopper.objects.for_merchant(merchant).filter(status="active").order_by("pk")[:2]

    # when two profiles are merged (no purchase, same day, same thresholds)
    shopper_merge(merchant=merchant, survivor=first, merged=second, actor=manager, reason="Same person")

    # then the refresh recomputes, and the snapshot counts one shopper fewer
    assert services.insights_refresh(merchant=merchant, now=NOW)
    assert selectors.reach_get(merchant=merchant).shoppers == before.shoppers - 1

    # when shoppers reachable by email unsubscribe
    reachable = [
        shopper
        for shopper in Shopper.objects.for_merchant(merchant).filter(status="active", contacts__kind="email")
        if any(
            event.channel == "email" and event.purpose == "marketing" and event.is_granted
            for event in consents_current(merchant=merchant, shopper=shopper)
        )
    ][:3]
    assert reachable
    email_before = selectors.reach_get(merchant=merchant).email
    for shopper in reachable:
        consent_unsubscribe(shopper=shopper, channel="email", purpose="marketing")

    # then the refresh recomputes, and the reach by email drops by as many
    assert services.insights_refresh(merchant=merchant, now=NOW)
    assert selectors.reach_get(merchant=merchant).email == email_before - len(reachable)
    assert not services.insights_refresh(merchant=merchant, now=NOW)


def test_the_periodic_task_refreshes_a_merchant_once_until_something_changes(merchant, history, other_merchant):
    from insights.tasks import refresh_all_insights

    first = refresh_all_insights()
    second = refresh_all_insights()

    assert first == 2  # the merchant's day moved on since NOW; the other merchant had no snapshot yet
    assert second == 0
