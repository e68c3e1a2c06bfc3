"""Tiers: rolling 12 months of qualifying spend, immediate upgrade, downgrade only after the grace period."""

from datetime import timedelta

from django.utils import timezone

from loyalty.models import Account
from loyalty.services.tiers import tiers_review
from tests.loyalty.conftest import account_of
from tests.loyalty.factories import TierFactory


def test_downgrade_waits_for_the_grace_period(merchant, program, buy, shopper):
    program.tier_grace_days = 30
    program.save()
    gold = TierFactory(program=program, name="Gold", threshold=10000)
    buy(12000)
    assert account_of(shopper).tier == gold
    now = timezone.now()

    # still qualifying: nothing to do
    assert tiers_review(merchant=merchant, now=now)["grace_started"] == 0

    # a year and five days on, the spend has rolled out of the window: grace starts, the tier is kept
    later = now + timedelta(days=370)
    counts = tiers_review(merchant=merchant, now=later)
    account = account_of(shopper)
    assert counts["grace_started"] == 1
    assert account.tier == gold and account.tier_review_at == later + timedelta(days=30)

    # running again within the grace changes nothing; after it, the shopper is downgraded
    assert tiers_review(merchant=merchant, now=later + timedelta(days=10))["downgraded"] == 0
    assert tiers_review(merchant=merchant, now=later + timedelta(days=31))["downgraded"] == 1
    assert account_of(shopper).tier is None


def test_qualifying_again_during_grace_keeps_the_tier(merchant, program, buy, shopper):
    gold = TierFactory(program=program, name="Gold", threshold=10000)
    buy(6000)
    # given a Gold member in their grace period
    Account.objects.filter(shopper=shopper).update(tier=gold, tier_review_at=timezone.now() + timedelta(days=5))

    buy(6000)  # 120.00 in the last 12 months: qualifies again
    counts = tiers_review(merchant=merchant)

    account = account_of(shopper)
    assert counts["grace_cancelled"] == 1
    assert account.tier == gold and account.tier_review_at is None


def test_tiers_on_points_earned(merchant, program, buy, shopper):
    program.tier_basis = "points"
    program.save()
    silver = TierFactory(program=program, name="Silver", threshold=100)
    buy(9900)
    assert account_of(shopper).tier is None
    buy(100)
    assert account_of(shopper).tier == silver
