"""Earn rules, applied by the ingest path (purchase_record → purchase_recorded → loyalty)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import LedgerEntry, Reason, RuleKind
from loyalty.services import program as program_services
from tests.factories import StoreFactory
from tests.loyalty.conftest import account_of
from tests.loyalty.factories import RuleFactory, TierFactory
from tests.profiles.factories import CardFactory, ShopperFactory

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _rule_points(purchase, rule):
    return sum(LedgerEntry.objects.filter(purchase=purchase, rule=rule).values_list("points", flat=True))


def test_base_rate_one_point_per_euro_rounded_down(program, buy, shopper):
    buy(5299)
    account = account_of(shopper)
    assert account.points_balance == 52
    assert list(LedgerEntry.objects.filter(account=account).values_list("reason", "points")) == [(Reason.EARN, 52)]


def test_rounding_to_nearest(program, buy, shopper):
    program.rounding = "nearest"
    program.save()
    buy(5250)
    assert account_of(shopper).points_balance == 53


def test_no_points_for_an_anonymous_purchase_or_without_program(merchant, buy, shopper):
    buy(5000)
    assert not LedgerEntry.all_merchants.exists()


def test_program_minimum_spend(program, buy, shopper):
    program.minimum_spend_minor = 1000
    program.save()
    buy(999)
    buy(1000)
    assert account_of(shopper).points_balance == 10


def test_category_multiplier_applies_to_that_category_only(program, buy):
    rule = RuleFactory(program=program, kind=RuleKind.CATEGORY, category="Shoes", multiplier=3)
    purchase = buy(12000, lines=(("SHO-1", "shoes", 10000), ("TEE-1", "Tops", 2000)))
    assert _rule_points(purchase, rule) == 200  # (3 − 1) × 100 points of shoes


def test_sku_multiplier(program, buy):
    rule = RuleFactory(program=program, kind=RuleKind.SKU, sku="TEE-1", multiplier=2, bonus_points=5)
    purchase = buy(12000, lines=(("SHO-1", "Shoes", 10000), ("TEE-1", "Tops", 2000)))
    assert _rule_points(purchase, rule) == 25
    other = buy(10000, lines=(("SHO-1", "Shoes", 10000),))
    assert _rule_points(other, rule) == 0


def test_store_specific_rule(program, buy, merchant, store):
    outlet = StoreFactory(merchant=merchant, name="Outlet")
    rule = RuleFactory(program=program, kind=RuleKind.STORE, store=outlet, bonus_points=50)
    at_outlet = buy(1000, store_=outlet)
    at_main = buy(1000)
    assert _rule_points(at_outlet, rule) == 50
    assert _rule_points(at_main, rule) == 0


def test_first_online_purchase_bonus_once(program, buy):
    rule = RuleFactory(
        program=program, kind=RuleKind.CHANNEL, channel="online", first_in_channel=True, bonus_points=500
    )
    in_store = buy(1000)
    first_online = buy(1000, channel="online")
    second_online = buy(1000, channel="online")
    assert [_rule_points(p, rule) for p in (in_store, first_online, second_online)] == [0, 500, 0]


def test_time_window_uses_the_store_timezone(program, buy, merchant):
    tokyo = StoreFactory(merchant=merchant, name="Tokyo", timezone="Asia/Tokyo")
    rule = RuleFactory(
        program=program,
        kind=RuleKind.TIME_WINDOW,
        multiplier=2,
        weekdays=[1],  # Monday
        start_time=time(16),
        end_time=time(20),
    )
    monday_17_amsterdam = datetime(2026, 11, 23, 17, 0, tzinfo=AMSTERDAM)
    inside = buy(4000, at=monday_17_amsterdam)
    # 17:00 in Amsterdam is 01:00 on Tuesday in Tokyo: outside the window there.
    outside = buy(4000, at=monday_17_amsterdam, store_=tokyo)
    before = buy(4000, at=monday_17_amsterdam - timedelta(hours=2))
    assert [_rule_points(p, rule) for p in (inside, outside, before)] == [40, 0, 0]


def test_minimum_spend_bonus(program, buy):
    rule = RuleFactory(program=program, kind=RuleKind.SPEND_BONUS, minimum_spend_minor=10000, bonus_points=100)
    assert _rule_points(buy(9999), rule) == 0
    assert _rule_points(buy(10000), rule) == 100


def test_per_shopper_cap_across_purchases(program, buy, merchant, store):
    rule = RuleFactory(program=program, kind=RuleKind.SPEND_BONUS, bonus_points=300, cap_points=500)
    assert [_rule_points(buy(1000), rule) for _ in range(3)] == [300, 200, 0]
    # Another shopper has their own cap.
    other_card = CardFactory(shopper=ShopperFactory(merchant=merchant))
    assert _rule_points(buy(1000, on_card=other_card), rule) == 300


def test_inactive_and_out_of_dates_rules_do_not_apply(program, buy):
    today = datetime.now(AMSTERDAM).date()
    off = RuleFactory(program=program, bonus_points=10, is_active=False)
    past = RuleFactory(program=program, bonus_points=10, ends_on=today - timedelta(days=1))
    purchase = buy(1000)
    assert _rule_points(purchase, off) == 0
    assert _rule_points(purchase, past) == 0


def test_tier_multiplier_and_immediate_upgrade(program, buy, shopper):
    silver = TierFactory(program=program, name="Silver", threshold=10000, earn_multiplier=2)
    buy(6000)
    assert account_of(shopper).tier is None
    buy(6000)  # 120 EUR in the last 12 months: Silver from this purchase on
    account = account_of(shopper)
    assert account.tier == silver
    third = buy(1000)
    assert LedgerEntry.objects.get(purchase=third, reason=Reason.TIER).points == 10


def test_rule_edit_takes_effect_on_the_next_purchase(program, buy, shopper):
    from loyalty.services.program import rule_save

    rule = rule_save(program=program, actor=None, name="Bonus", kind=RuleKind.SPEND_BONUS, bonus_points=5)
    assert _rule_points(buy(1000), rule) == 5
    rule_save(program=program, actor=None, rule=rule, bonus_points=7)
    assert _rule_points(buy(1000), rule) == 7


def test_earning_costs_few_queries_with_ten_rules(program, buy, merchant, store):
    for number in range(10):
        RuleFactory(program=program, kind=RuleKind.CATEGORY, category=f"Cat {number}", multiplier=2)
    buy(1000)  # warm the rule cache
    with CaptureQueriesContext(connection) as queries:
        buy(1000, lines=(("X", "Cat 3", 1000),))
    loyalty_queries = [q["sql"] for q in queries.captured_queries if "loyalty_" in q["sql"]]
    assert len(loyalty_queries) == 2, loyalty_queries


def test_pausing_the_program_stops_earning_at_once(program, buy, shopper):
    from loyalty.services.program import program_update

    buy(1000)  # the program is now cached by this process
    program_update(program=program, actor=None, is_active=False)
    buy(1000)
    assert account_of(shopper).points_balance == 10


def test_a_program_created_after_purchases_without_one_earns_on_the_next(merchant, buy, shopper, owner):
    buy(5000)  # no program: remembered, so later purchases cost no lookup

    program_services.program_create(merchant=merchant, actor=owner, name="Rewards", points_per_unit=1, unit_minor=100)
    buy(5000)

    assert account_of(shopper).points_balance == 50
