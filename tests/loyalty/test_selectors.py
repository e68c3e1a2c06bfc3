"""Reads: a fixed number of queries whatever the number of members and entries."""

from datetime import timedelta

from django.utils import timezone

from loyalty import selectors
from loyalty.models import LedgerEntry
from loyalty.services.ledger import ledger_months_rebuild
from profiles.services import identity
from tests.loyalty.factories import RewardFactory, TierFactory
from tests.profiles.factories import CardFactory, ShopperFactory


def test_insights_cost_a_fixed_number_of_queries(merchant, program, buy, django_assert_max_num_queries):
    TierFactory(program=program, name="Gold", threshold=1_000_000)
    for _ in range(5):
        buy(4000, on_card=CardFactory(shopper=ShopperFactory(merchant=merchant)))

    with django_assert_max_num_queries(8):
        data = selectors.loyalty_insights(merchant=merchant)

    assert data.members == 5
    assert data.points_outstanding == 200
    assert data.members_vs_others["members"]["shoppers"] == 5
    assert data.tiers == [("No tier", 5), ("Gold", 0)]


def test_shopper_panel_costs_a_fixed_number_of_queries(merchant, program, buy, shopper, django_assert_max_num_queries):
    for _ in range(10):
        buy(1000)
    with django_assert_max_num_queries(3):
        loyalty = selectors.shopper_loyalty(merchant=merchant, shopper=shopper)
        entries = [(entry.reason, entry.purchase.amount_minor) for entry in loyalty.entries]
    assert loyalty.account.points_balance == 100
    assert len(entries) == 10


def test_redeemable_only_what_the_balance_pays_for(merchant, program, buy, shopper):
    buy(15000)
    RewardFactory(program=program, name="Cheap", points_cost=100)
    RewardFactory(program=program, name="Dear", points_cost=200)
    RewardFactory(program=program, name="Off", points_cost=10, is_active=False)
    data = selectors.rewards_redeemable(merchant=merchant, shopper=shopper)
    assert [reward.name for reward in data["rewards"]] == ["Cheap"]


def test_liability_trend_reads_rolled_up_months_and_the_ledger_since(merchant, program, buy, shopper):
    buy(5000)
    buy(3000)
    # given fifty points booked three months ago and rolled up, thirty booked now
    first = LedgerEntry.all_merchants.order_by("pk").first()
    LedgerEntry.all_merchants.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=95))
    ledger_months_rebuild(merchant=merchant)

    trend = selectors.loyalty_insights(merchant=merchant).liability_trend

    assert [points for _month, points, _money in trend] == [50, 80]


def test_members_are_the_active_profiles_with_an_account(merchant, program, buy, shopper, owner):
    # given three members: one merged into another afterwards, one erased
    duplicate_card = CardFactory(shopper=ShopperFactory(merchant=merchant))
    erased_card = CardFactory(shopper=ShopperFactory(merchant=merchant))
    buy(4000)
    buy(3000, on_card=duplicate_card)
    buy(2000, on_card=erased_card)
    assert selectors.loyalty_insights(merchant=merchant).members == 3

    # when
    identity.shopper_merge(
        merchant=merchant, survivor=shopper, merged=duplicate_card.shopper, actor=owner, reason="Same person"
    )
    identity.shopper_erase(merchant=merchant, shopper=erased_card.shopper, actor=owner, reason="Asked to be forgotten")

    # then the dashboard counts the one person left
    assert selectors.loyalty_insights(merchant=merchant).members == 1
