"""Redeeming points for rewards at checkout, and reversing a redemption.

The balance is taken with one conditional UPDATE (`… SET points_balance = points_balance - cost
WHERE id = … AND points_balance >= cost`): PostgreSQL makes a second redemption racing the
first wait for its row lock and re-check the condition on the new balance, so two
redemptions together can never overdraw it.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ApplicationError, ConflictError, NotFoundError
from loyalty.models import Account, Bucket, Reason, Redemption, RedemptionStatus, Reward
from loyalty.services import ledger
from merchants.models import Merchant
from profiles.models import Shopper


def reward_is_available(reward: Reward, now: datetime | None = None) -> bool:
    moment = now or timezone.now()
    return (
        reward.is_active
        and (reward.available_from is None or reward.available_from <= moment)
        and (reward.available_until is None or moment < reward.available_until)
    )


@transaction.atomic
def reward_redeem(*, merchant: Merchant, shopper: Shopper, reward: Reward, order_reference: str = "") -> Redemption:
    """Spend the shopper's points on a reward. Refused, with nothing written, if they have too few."""
    if shopper.merchant_id != merchant.pk or reward.merchant_id != merchant.pk:
        raise NotFoundError("No such shopper or reward.")
    if not reward_is_available(reward):
        raise ApplicationError("This reward cannot be redeemed now.", code="reward_unavailable", field="reward_id")
    account = Account.objects.filter(merchant=merchant, shopper=shopper).first()
    if account is None:
        raise ApplicationError("This shopper has no points yet.", code="insufficient_points", field="reward_id")
    # Refunds booked before spending, so points of a refunded purchase cannot be spent.
    ledger.earnings_settle(merchant=merchant, account_ids=[account.pk])
    taken = Account.objects.filter(merchant=merchant, pk=account.pk, points_balance__gte=reward.points_cost).update(
        points_balance=F("points_balance") - reward.points_cost
    )
    if not taken:
        raise ApplicationError(
            f"This reward costs {reward.points_cost} points; the shopper has fewer available.",
            code="insufficient_points",
            field="reward_id",
        )
    redemption = Redemption.objects.create(
        merchant=merchant,
        account=account,
        reward=reward,
        points=reward.points_cost,
        order_reference=order_reference,
    )
    ledger.entries_post(
        entries=[
            ledger.Entry(
                merchant_id=merchant.pk,
                account_id=account.pk,
                bucket=Bucket.AVAILABLE,
                points=-reward.points_cost,
                reason=Reason.REDEMPTION,
                redemption_id=redemption.pk,
                note=reward.name[:300],
            )
        ],
        move_balances=False,
    )
    return redemption


@transaction.atomic
def redemption_reverse(*, merchant: Merchant, redemption: Redemption) -> Redemption:
    """Give the points back (the order was cancelled). Once only: a second reversal is a conflict."""
    if redemption.merchant_id != merchant.pk:
        raise NotFoundError("No such redemption.")
    now = timezone.now()
    moved = Redemption.objects.filter(merchant=merchant, pk=redemption.pk, status=RedemptionStatus.REDEEMED).update(
        status=RedemptionStatus.REVERSED, reversed_at=now
    )
    if not moved:
        raise ConflictError("This redemption was already reversed.", code="already_reversed")
    ledger.entries_post(
        entries=[
            ledger.Entry(
                merchant_id=merchant.pk,
                account_id=redemption.account_id,
                bucket=Bucket.AVAILABLE,
                points=redemption.points,
                reason=Reason.REDEMPTION_REVERSAL,
                redemption_id=redemption.pk,
                created_at=now,
            )
        ]
    )
    redemption.refresh_from_db()
    return redemption
