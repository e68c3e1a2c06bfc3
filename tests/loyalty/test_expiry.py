"""Expiry lot by lot, first in first out: a redemption spends the oldest points, a refund takes back the
points of the purchase it reverses, and what is left of each lot past its date expires."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import selectors
from loyalty.models import Account, Bucket, LedgerEntry, Reason
from loyalty.services import expiry, ledger
from loyalty.services.redeem import reward_redeem
from loyalty.tasks import settle_earnings
from profiles.services import purchases
from tests.loyalty.conftest import account_of
from tests.loyalty.factories import RewardFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db

EXPIRY_DAYS = 30
TARGETED = (Reason.REFUND, Reason.CLEARING)


def test_a_refund_of_newer_points_does_not_shield_older_points_from_expiry(merchant, program, buy, shopper):
    # given: 866 points earned 40 days ago (due), 500 of them redeemed, and a newer purchase's 82 points
    # taken back by its refund
    program.expiry_policy, program.expiry_days = "days_after_earning", EXPIRY_DAYS
    program.save()
    now = timezone.now()
    buy(86600, at=now - timedelta(days=40))
    reward_redeem(merchant=merchant, shopper=shopper, reward=RewardFactory(program=program, points_cost=500))
    newer = buy(8200, at=now - timedelta(days=5))
    purchases.purchase_refund(merchant=merchant, purchase_id=newer.pk)
    settle_earnings()
    assert account_of(shopper).points_balance == 366

    # then: the 366 points left of the old purchase are due, not 866 − 500 − 82 = 284
    assert [item.points for item in selectors.points_expiring(merchant=merchant, within_days=0)] == [366]
    assert expiry.points_expire(merchant=merchant) == 366
    assert account_of(shopper).points_balance == 0


# A small model of the rule, to check the query against on random ledgers.


@dataclass
class _Lot:
    left: int
    expires_at: datetime | None
    purchase: int | None
    created_at: datetime
    order: int


@dataclass(frozen=True)
class _Move:
    points: int
    reason: str
    purchase: int | None
    created_at: datetime


def _fifo(moves: list[_Move], *, moment: datetime, now: datetime) -> tuple[int, datetime | None]:
    """(points due by `moment`, the next date after `now` on which unspent points lapse), replaying the
    ledger in time order."""
    lots: list[_Lot] = []
    for order, move in enumerate(moves):
        if move.points > 0:
            expires_at = move.created_at + timedelta(days=EXPIRY_DAYS)
            lots.append(_Lot(move.points, expires_at, move.purchase, move.created_at, order))
            continue
        owed = -move.points
        if move.purchase is not None and move.reason in TARGETED:
            for lot in reversed([lot for lot in lots if lot.purchase == move.purchase]):
                taken = min(lot.left, owed)
                lot.left, owed = lot.left - taken, owed - taken
        for lot in sorted(lots, key=lambda lot: (lot.expires_at, lot.created_at, lot.order)):
            taken = min(lot.left, owed)
            lot.left, owed = lot.left - taken, owed - taken
    balance = sum(move.points for move in moves)
    due = sum(lot.left for lot in lots if lot.expires_at is not None and lot.expires_at <= moment)
    upcoming = [lot.expires_at for lot in lots if lot.left > 0 and lot.expires_at and lot.expires_at > now]
    return min(balance, due), min(upcoming, default=None)


# Each step: (kind, points, purchase 0–2, days after the previous step)
steps = st.lists(
    st.tuples(
        st.sampled_from(["earn", "earn", "bonus", "redeem", "refund", "expire"]),
        st.integers(min_value=1, max_value=400),
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=0, max_value=15),
    ),
    min_size=1,
    max_size=20,
)


class Rollback(Exception):
    pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps, ahead=st.integers(min_value=0, max_value=40))
def test_the_query_expires_what_a_first_in_first_out_replay_expires(merchant, program, steps, ahead):
    program.expiry_policy, program.expiry_days = "days_after_earning", EXPIRY_DAYS
    program.save()
    now = timezone.now()
    try:
        with transaction.atomic():
            moves = _write_ledger(merchant, program, steps, start=now - timedelta(days=60), now=now)
            moment = now + timedelta(days=ahead)

            due = {item.account_id: item for item in expiry.points_due(merchant=merchant, moment=moment, now=now)}

            expected_points, expected_next = _fifo(moves, moment=moment, now=now)
            found = due.get(Account.objects.get(merchant=merchant).pk)
            assert (found.points if found else 0) == expected_points
            if found:
                assert found.expires_at == expected_next
            raise Rollback
    except Rollback:
        pass


def _write_ledger(merchant, program, steps, *, start: datetime, now: datetime) -> list[_Move]:
    """Post the steps as ledger entries (never overdrawing), returning them as the model sees them."""
    shopper = ShopperFactory(merchant=merchant)
    account = Account.objects.create(
        merchant=merchant, program=program, shopper=shopper, enrolled_at=start, enrolled_via="test"
    )
    bought = [PurchaseFactory(merchant=merchant, shopper=shopper) for _ in range(3)]
    moves: list[_Move] = []
    earned = [0, 0, 0]
    refunded: set[int] = set()
    at = start
    for kind, points, which, days in steps:
        at = min(at + timedelta(days=days), now)
        balance = sum(move.points for move in moves)
        purchase: int | None = None
        if kind == "earn":
            if which in refunded:  # a purchase earns when recorded or cleared, before any refund
                continue
            reason, purchase = Reason.EARN, bought[which].pk
            earned[which] += points
        elif kind == "bonus":
            reason = Reason.ADJUSTMENT
        elif kind == "redeem":
            reason, points = Reason.REDEMPTION, -min(points, balance)
        elif kind == "refund":
            reason, purchase = Reason.REFUND, bought[which].pk
            points = -min(points, balance, earned[which])
            earned[which] += points
            refunded.add(which)
        else:
            reason, points = Reason.EXPIRY, -_fifo(moves, moment=at, now=at)[0]
        if not points:
            continue
        ledger.entries_post(
            entries=[
                ledger.Entry(
                    merchant_id=merchant.pk,
                    account_id=account.pk,
                    bucket=Bucket.AVAILABLE,
                    points=points,
                    reason=reason,
                    purchase_id=purchase,
                    expires_at=at + timedelta(days=EXPIRY_DAYS) if points > 0 else None,
                    created_at=at,
                )
            ]
        )
        moves.append(_Move(points, reason, purchase, at))
    assert LedgerEntry.objects.filter(account=account).count() == len(moves)
    return moves
