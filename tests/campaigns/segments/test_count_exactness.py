"""Every rule kind's live count is exact: the compiled query against a plain recomputation in Python.

Generated data (seeded): 60 shoppers of one merchant with purchases (line items, refunds), visits,
consent decisions, preferences and loyalty accounts; some merged or erased; and another merchant's
shoppers who match everything. For each kind, each of its operators: `audience_count` must equal the
count worked out from the rows themselves.
"""

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.utils import timezone

from campaigns.models import ShopperScore
from campaigns.segments import compiler, scores
from campaigns.segments.selectors import audience_count
from loyalty.models import Account, Program, Tier
from merchants.models import Merchant
from profiles.models import (
    ConsentEvent,
    LineItem,
    Purchase,
    Shopper,
    ShopperPreferences,
    ShopperRollup,
    ShopperStatus,
    Visit,
)
from profiles.services.purchases import LineItemInput, purchase_refund
from tests.campaigns.segments.population import _buy, _consent, _visit
from tests.factories import MerchantFactory, StoreFactory
from tests.profiles.factories import ShopperFactory

CATEGORIES = ("Shoes", "Shirts", "Electronics")
BRANDS = ("Harbour Denim", "Northwind", "Kaya")


@pytest.fixture
def generated(db):
    rng = random.Random(1818)
    now = timezone.now()
    merchant = MerchantFactory(name="Generated", slug="generated-counts", currency="EUR")
    stores = [StoreFactory(merchant=merchant, name=f"Store {index}") for index in range(2)]
    program = Program.objects.create(merchant=merchant, name="Points")
    tiers = [Tier.objects.create(merchant=merchant, program=program, name=name, threshold=t) for name, t in
             (("Gold", 5000), ("Silver", 1000))]  # fmt: skip
    outsider_merchant = MerchantFactory(slug="outsider-counts", currency="EUR")
    outsider_store = StoreFactory(merchant=outsider_merchant)
    people = []
    for index in range(60):
        person = ShopperFactory(
            merchant=merchant,
            language=rng.choice(("en", "ko", "ar", "zh-hant")),
            birthday=date(1990, rng.randint(1, 12), 1) if rng.random() < 0.7 else None,
        )
        people.append(person)
        for _ in range(rng.choice((0, 1, 2, 3, 6))):
            lines = [
                LineItemInput(name="item", unit_price_minor=rng.choice((1000, 2500, 6000)),
                              quantity=rng.randint(1, 2), category=rng.choice(CATEGORIES))
                for _ in range(rng.randint(0, 2))
            ]  # fmt: skip
            amount = sum(line.unit_price_minor * line.quantity for line in lines) or 1500
            channel = rng.choice(("in_store", "online"))
            _buy(person, days=rng.randint(0, 200), amount=amount, channel=channel,
                 store=rng.choice(stores) if channel == "in_store" else None, lines=lines, now=now)  # fmt: skip
        for _ in range(rng.choice((0, 0, 1, 3))):
            _visit(person, rng.choice(stores), days=rng.randint(0, 60), now=now)
        for _ in range(rng.choice((0, 1, 2))):
            _consent(person, rng.choice(("email", "sms")), rng.random() < 0.6, days=rng.randint(0, 30), now=now)
        if rng.random() < 0.5:
            ShopperPreferences.objects.create(merchant=merchant, shopper=person, brands=rng.sample(BRANDS, 2))
        if rng.random() < 0.6:
            Account.objects.update_or_create(
                shopper=person,
                defaults={"merchant": merchant, "program": program, "tier": rng.choice((*tiers, None)),
                          "points_balance": rng.choice((0, 100, 700)), "enrolled_at": now, "enrolled_via": "api"},
            )  # fmt: skip
        if index % 7 == 3:  # some refunds, a few in full
            purchase = Purchase.objects.filter(shopper=person).first()
            if purchase is not None:
                amount = None if index % 2 else purchase.amount_minor // 2
                purchase_refund(merchant=merchant, purchase_id=purchase.pk, amount_minor=amount)
    Shopper.objects.filter(merchant=merchant, pk=people[0].pk).update(status=ShopperStatus.ERASED)
    Shopper.objects.filter(merchant=merchant, pk=people[1].pk).update(
        status=ShopperStatus.MERGED, merged_into=people[2]
    )
    outsider = ShopperFactory(merchant=outsider_merchant, language="ko", birthday=date(1990, 12, 1))
    _buy(outsider, days=1, amount=6000, store=outsider_store,
         lines=[LineItemInput(name="x", unit_price_minor=6000, category="Shoes")], now=now)  # fmt: skip
    _visit(outsider, outsider_store, days=1, now=now)
    _consent(outsider, "email", True, days=1, now=now)
    scores.scores_refresh(merchant=merchant, now=now)
    return merchant, stores, tiers, now


def _active(merchant: Merchant) -> set[int]:
    return set(Shopper.objects.filter(merchant=merchant, status="active").values_list("pk", flat=True))


def _compare(op, left, right):
    return {"gte": left >= right, "lte": left <= right, "eq": left == right, "lt": left < right}[op]


def _plain(merchant, stores, tiers, now):
    """Each kind's members from the rows, in Python: {(field, op, value key): set of shopper ids}."""
    active = _active(merchant)
    rollups = {r.shopper_id: r for r in ShopperRollup.objects.filter(merchant=merchant, purchase_count__gt=0)}
    score_rows = {s.shopper_id: s for s in ShopperScore.objects.filter(merchant=merchant)}
    purchases = list(Purchase.objects.filter(merchant=merchant, shopper__isnull=False))
    lines = list(LineItem.objects.filter(merchant=merchant).select_related("purchase"))
    visits = list(Visit.objects.filter(merchant=merchant, shopper__isnull=False))
    accounts = {a.shopper_id: a for a in Account.objects.filter(merchant=merchant)}
    preferences = {p.shopper_id: p for p in ShopperPreferences.objects.filter(merchant=merchant)}
    latest: dict[tuple[int, str], ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(merchant=merchant, purpose="marketing").order_by("occurred_at", "pk"):
        latest[(event.shopper_id, event.channel)] = event
    shoppers = {s.pk: s for s in Shopper.objects.filter(merchant=merchant, pk__in=active)}

    def spend(category, days):
        totals: dict[int, int] = defaultdict(int)
        for line in lines:
            purchase = line.purchase
            if line.category != category or purchase.shopper_id is None:
                continue
            if purchase.amount_minor <= purchase.refunded_minor:
                continue
            if days is not None and purchase.occurred_at < now - timedelta(days=days):
                continue
            totals[purchase.shopper_id] += line.quantity * line.unit_price_minor
        return totals

    def visit_counts(days):
        counts: dict[int, int] = defaultdict(int)
        for visit in visits:
            if days is None or visit.occurred_at >= now - timedelta(days=days):
                counts[visit.shopper_id] += 1
        return counts

    def visited(store, days):
        since = now - timedelta(days=days) if days else None
        return {
            p.shopper_id for p in purchases if p.store_id == store and (since is None or p.occurred_at >= since)
        } | {v.shopper_id for v in visits if v.store_id == store and (since is None or v.occurred_at >= since)}

    cases = []
    for stage_set in (["at_risk", "lapsed"], ["new"], ["none"], ["regular", "top", "active"]):
        stage_of = {pk: score_rows[pk].lifecycle_stage if pk in score_rows else "none" for pk in active}
        members = {pk for pk, stage in stage_of.items() if stage in stage_set}
        cases.append(("lifecycle_stage", "in", stage_set, members))
        cases.append(("lifecycle_stage", "not_in", stage_set, active - members))
    for field, column in (("rfm_recency", "recency"), ("rfm_frequency", "frequency"), ("rfm_monetary", "monetary")):
        for op, value in (("gte", 4), ("eq", 1), ("lte", 2)):
            members = {pk for pk in active if pk in score_rows and _compare(op, getattr(score_rows[pk], column), value)}
            cases.append((field, op, value, members))
    behaviours = {
        "store_only": lambda r: r.in_store_count > 0 and r.online_count == 0,
        "online_only": lambda r: r.online_count > 0 and r.in_store_count == 0,
        "omnichannel": lambda r: r.online_count > 0 and r.in_store_count > 0,
    }
    for name, rule in behaviours.items():
        cases.append(("channel_behaviour", "in", [name], {pk for pk in active if pk in rollups and rule(rollups[pk])}))
    cases.append(("channel_behaviour", "in", ["none"], {pk for pk in active if pk not in rollups}))
    for op, value in (("gte", 3), ("lte", 1), ("eq", 2)):
        cases.append(
            (
                "purchase_count",
                op,
                value,
                {pk for pk in active if pk in rollups and _compare(op, rollups[pk].purchase_count, value)},
            )
        )
    for op, value in (("gte", 5000), ("lte", 2500)):
        cases.append(
            (
                "total_spend",
                op,
                value,
                {pk for pk in active if pk in rollups and _compare(op, rollups[pk].total_minor, value)},
            )
        )
    for op, days in (("gte", 30), ("lte", 10), ("eq", 5)):

        def whole_days(pk):
            return (now - rollups[pk].last_purchase_at) // timedelta(days=1)

        cases.append(
            (
                "days_since_last_purchase",
                op,
                days,
                {pk for pk in active if pk in rollups and _compare(op, whole_days(pk), days)},
            )
        )
    for category, amount, days in (("Shoes", 5000, 90), ("Electronics", 2000, None), ("Shirts", 1, 30)):
        totals = spend(category, days)
        members = {pk for pk in active if totals.get(pk, 0) >= amount}
        value = {"category": category, "amount_minor": amount, "days": days}
        cases.append(("category_spend", "gte", value, members))
        cases.append(("category_spend", "lt", value, active - members))
    for store in stores:
        for days in (7, None):
            members = visited(store.pk, days) & active
            value = {"store": store.pk, "days": days}
            cases.append(("store_visited", "visited", value, members))
            cases.append(("store_visited", "not_visited", value, active - members))
    for count, days in ((2, 30), (1, None), (0, 10)):
        counts = visit_counts(days)
        value = {"count": count, "days": days}
        cases.append(("visit_count", "gte", value, {pk for pk in active if counts.get(pk, 0) >= count}))
        cases.append(("visit_count", "lte", value, {pk for pk in active if counts.get(pk, 0) <= count}))
    for brand in BRANDS[:2]:
        members = {pk for pk in active if pk in preferences and brand in preferences[pk].brands}
        value = {"kind": "brands", "value": brand}
        cases.append(("preference", "includes", value, members))
        cases.append(("preference", "excludes", value, active - members))
    for tier_values in ([str(tiers[0].pk)], ["none"], [str(tiers[1].pk), "none"]):

        def tier_of(pk):
            account = accounts.get(pk)
            return str(account.tier_id) if account is not None and account.tier_id else "none"

        members = {pk for pk in active if tier_of(pk) in tier_values}
        cases.append(("tier", "in", tier_values, members))
        cases.append(("tier", "not_in", tier_values, active - members))
    for op, value in (("gte", 100), ("eq", 0)):
        cases.append(
            (
                "points_balance",
                op,
                value,
                {pk for pk in active if pk in accounts and _compare(op, accounts[pk].points_balance, value)},
            )
        )
    for months in (["12"], ["1", "2", "3"]):
        born = {pk: shoppers[pk].birthday for pk in active}
        members = {pk for pk, birthday in born.items() if birthday and str(birthday.month) in months}
        cases.append(("birthday_month", "in", months, members))
        cases.append(("birthday_month", "not_in", months, active - members))
    for languages in (["ko"], ["ar", "zh-hant"]):
        members = {pk for pk in active if shoppers[pk].language in languages}
        cases.append(("language", "in", languages, members))
        cases.append(("language", "not_in", languages, active - members))
    for channel in ("email", "sms"):
        members = {pk for pk in active if (pk, channel) in latest and latest[(pk, channel)].is_granted}
        cases.append(("consented_channel", "granted", channel, members))
        cases.append(("consented_channel", "not_granted", channel, active - members))
    return cases


def test_every_rule_kind_counts_exactly_what_the_rows_say(generated):
    merchant, stores, tiers, now = generated
    cases = _plain(merchant, stores, tiers, now)
    assert {field for field, *_ in cases} == set(compiler.FIELDS)
    mismatches = []
    for field, op, value, members in cases:
        rules = compiler.rules_check(
            merchant=merchant, rules={"match": "all", "conditions": [{"field": field, "op": op, "value": value}]}
        )
        counted = audience_count(merchant=merchant, rules=rules, now=now)
        if counted != len(members):
            mismatches.append((field, op, value, counted, len(members)))
    assert mismatches == []
    # and the data is varied enough that the cases say something
    assert sum(1 for *_, members in cases if 0 < len(members) < len(_active(merchant))) > 40
