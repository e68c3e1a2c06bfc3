"""Races on real PostgreSQL with real threads: redemptions and offer budgets."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from core.errors import ApplicationError
from loyalty import selectors
from loyalty.models import LedgerEntry, OfferAward, OfferBudgetSlot, Reason, Redemption, RuleKind
from loyalty.services.redeem import reward_redeem
from profiles.models import Shopper
from tests.loyalty.conftest import account_of
from tests.loyalty.factories import OfferFactory, RewardFactory, RuleFactory
from tests.profiles.factories import CardFactory, ShopperFactory

pytestmark = pytest.mark.django_db(transaction=True)


def race(workers: list[Callable[[], object]]) -> list[object]:
    """Run the callables at the same moment, each in its own thread and database connection."""
    start = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            start.wait()
            results[index] = work()
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_redemptions_never_overdraw(merchant, program, buy, shopper):
    buy(10000)  # 100 points
    reward = RewardFactory(program=program, points_cost=60)
    connection.close()

    results = race(
        [
            lambda: reward_redeem(merchant=merchant, shopper=Shopper.all_merchants.get(pk=shopper.pk), reward=reward)
            for _ in range(6)
        ]
    )

    redeemed = [result for result in results if isinstance(result, Redemption)]
    refused = [result for result in results if isinstance(result, ApplicationError)]
    assert len(redeemed) == 1 and len(refused) == 5, results
    assert {error.code for error in refused} == {"insufficient_points"}
    account = account_of(shopper)
    assert account.points_balance == 40
    assert sum(LedgerEntry.objects.filter(account=account).values_list("points", flat=True)) == 40
    assert LedgerEntry.objects.filter(account=account, reason=Reason.REDEMPTION).count() == 1


def test_offer_budget_is_never_exceeded_by_concurrent_purchases(merchant, store, program, buy):
    # given an offer whose budget pays for three awards of 200 points (2.00 EUR each)
    offer = OfferFactory(program=program, minimum_spend_minor=5000, reward_points=200, budget_minor=600)
    cards = [CardFactory(shopper=ShopperFactory(merchant=merchant)) for _ in range(8)]
    connection.close()

    # when eight shoppers qualify at the same moment
    results = race([lambda card=card: buy(6000, on_card=card) for card in cards])

    # then all purchases are recorded, three shoppers got the offer, and the budget is exactly spent
    assert all(not isinstance(result, Exception) for result in results), results
    assert OfferAward.objects.filter(offer=offer).count() == 3
    assert selectors.offer_list(merchant=merchant).get(pk=offer.pk).spent_minor == 600
    assert sum(OfferBudgetSlot.objects.filter(offer=offer).values_list("awards_left", flat=True)) == 0
    assert LedgerEntry.objects.filter(offer=offer).count() == 3


def test_offer_is_awarded_once_per_shopper_even_when_racing(merchant, store, program, buy, card):
    offer = OfferFactory(program=program, minimum_spend_minor=1000, reward_points=50, budget_minor=10_000)
    connection.close()

    race([lambda: buy(2000) for _ in range(4)])

    assert OfferAward.objects.filter(offer=offer).count() == 1
    assert selectors.offer_list(merchant=merchant).get(pk=offer.pk).spent_minor == 50


def test_a_per_shopper_cap_holds_when_one_shoppers_purchases_arrive_at_once(merchant, program, buy, shopper):
    # given a bonus of 300 points a purchase, capped at 500 per shopper
    rule = RuleFactory(program=program, kind=RuleKind.SPEND_BONUS, bonus_points=300, cap_points=500)
    connection.close()

    # when six purchases on the shopper's card are recorded at the same moment
    results = race([lambda: buy(1000) for _ in range(6)])

    # then all are recorded and the rule paid exactly its cap: each purchase saw the ones before it
    assert all(not isinstance(result, Exception) for result in results), results
    paid = LedgerEntry.objects.filter(account=account_of(shopper), rule=rule).values_list("points", flat=True)
    assert sum(paid) == 500
