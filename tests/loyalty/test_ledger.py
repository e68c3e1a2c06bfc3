"""Provisional points, clearing and refunds; expiry; reconciliation; staff adjustments."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from loyalty import selectors
from loyalty.models import Account, LedgerEntry, PurchaseEarning, Reason, Redemption
from loyalty.services import expiry, ledger
from loyalty.services.redeem import reward_redeem
from loyalty.tasks import expire_points, reconcile_ledgers, settle_earnings
from merchants.models import AuditEvent
from profiles.services import purchases
from tests.loyalty.conftest import account_of
from tests.loyalty.factories import OfferFactory, RewardFactory
from tests.payments.helpers import make_source
from tests.payments.test_generic_feed import event, send


def test_network_auth_is_provisional_then_cleared_then_refunded(
    merchant, store, program, card, shopper, django_capture_on_commit_callbacks
):
    connection = make_source(merchant, "generic")
    # given an authorisation: the points are pending, not spendable
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-1", "auth", "txn-1", amount="45.99", card=card))
    account = account_of(shopper)
    assert (account.points_balance, account.points_pending) == (0, 45)

    # when it clears at a lower amount: the cleared amount is what the purchase earns on, at once
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-2", "clearing", "txn-1", amount="40.00", card=card))
    assert settle_earnings() == 0
    account.refresh_from_db()
    assert (account.points_balance, account.points_pending) == (40, 0)

    # when half is refunded, then the rest
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-3", "refund", "txn-r1", amount="20.00", card=card, refundTransactionId="txn-1"))
    settle_earnings()
    account.refresh_from_db()
    assert account.points_balance == 20  # 40 × 20.00 / 40.00
    with django_capture_on_commit_callbacks(execute=True):
        send(connection, event("evt-4", "refund", "txn-r2", amount="20.00", card=card, refundTransactionId="txn-1"))
    settle_earnings()
    account.refresh_from_db()
    assert (account.points_balance, account.points_pending) == (0, 0)
    reasons = list(LedgerEntry.objects.filter(account=account).order_by("pk").values_list("reason", "bucket", "points"))
    assert reasons == [
        (Reason.EARN, "pending", 45),
        (Reason.EARN, "pending", -5),
        (Reason.CLEARING, "pending", -40),
        (Reason.CLEARING, "available", 40),
        (Reason.CLEARING, "available", 0),  # the spend that counts toward tiers, 5.99 less
        (Reason.REFUND, "available", -20),
        (Reason.REFUND, "available", -20),
    ]
    # and a second run has nothing left to do
    assert settle_earnings() == 0


def test_refund_over_the_api_is_booked_before_a_redemption(merchant, program, buy, shopper):
    purchase = buy(10000)
    reward = RewardFactory(program=program, points_cost=60)
    purchases.purchase_refund(merchant=merchant, purchase_id=purchase.pk)
    # The scheduled settlement has not run yet; the redemption settles this shopper first.
    with pytest.raises(ApplicationError) as refused:
        reward_redeem(merchant=merchant, shopper=shopper, reward=reward)
    assert refused.value.code == "insufficient_points"
    assert not Redemption.all_merchants.exists()
    settle_earnings()
    assert account_of(shopper).points_balance == 0


def test_expiry_days_after_earning_is_idempotent(merchant, program, buy, shopper):
    program.expiry_policy, program.expiry_days = "days_after_earning", 30
    program.save()
    now = timezone.now()
    buy(5000, at=now - timedelta(days=40))  # 50 points, expired ten days ago
    buy(3000, at=now - timedelta(days=10))  # 30 points, expire in twenty days
    account = account_of(shopper)
    reward = RewardFactory(program=program, points_cost=20)
    reward_redeem(merchant=merchant, shopper=shopper, reward=reward)  # spends the oldest first

    # who expires when (campaigns warn them): in the next 25 days, the 30 points of the second
    # purchase (in twenty days) besides the 30 already due
    soon = selectors.points_expiring(merchant=merchant, within_days=25)
    assert [(item.shopper_id, item.points) for item in soon] == [(shopper.pk, 60)]
    assert soon[0].expires_at.date() == (now + timedelta(days=20)).date()
    assert selectors.points_expiring(merchant=merchant, within_days=5)[0].points == 30

    assert expire_points() == {merchant.slug: 30}
    assert expire_points() == {merchant.slug: 0}
    account.refresh_from_db()
    assert account.points_balance == 30
    assert LedgerEntry.objects.filter(account=account, reason=Reason.EXPIRY).count() == 1


def test_expiry_after_inactivity(merchant, program, buy, shopper):
    program.expiry_policy, program.inactivity_months = "inactivity", 6
    program.save()
    buy(5000, at=timezone.now() - timedelta(days=200))
    assert expiry.points_expire(merchant=merchant) == 50
    assert expiry.points_expire(merchant=merchant) == 0
    assert account_of(shopper).points_balance == 0


def test_reconciliation_finds_and_repairs_an_injected_inconsistency(merchant, program, buy, shopper):
    buy(5000)
    account = account_of(shopper)
    # given a cached balance that no longer matches the ledger
    Account.all_merchants.filter(pk=account.pk).update(points_balance=999)

    assert reconcile_ledgers() == {merchant.slug: 1}

    run = merchant_run = ledger.ledger_reconcile(merchant=merchant)
    assert run.mismatches == []  # repaired by the first run
    account.refresh_from_db()
    assert account.points_balance == 50
    assert merchant_run.accounts_checked == 1


def test_staff_adjustment_needs_a_reason_and_never_overdraws(merchant, program, buy, shopper, owner):
    buy(5000)
    account = account_of(shopper)
    with pytest.raises(ApplicationError):
        ledger.points_adjust(merchant=merchant, account=account, points=10, reason=" ", actor=owner)
    with pytest.raises(ApplicationError):
        ledger.points_adjust(merchant=merchant, account=account, points=-51, reason="Typo", actor=owner)
    ledger.points_adjust(merchant=merchant, account=account, points=-20, reason="Returned gift", actor=owner)
    account.refresh_from_db()
    assert account.points_balance == 30
    entry = LedgerEntry.objects.get(account=account, reason=Reason.ADJUSTMENT)
    assert (entry.actor, entry.note, entry.points) == (owner, "Returned gift", -20)
    assert AuditEvent.objects.filter(merchant=merchant, action="loyalty.points_adjusted").exists()


def test_refunds_after_the_refund_window_keep_the_points(merchant, program, buy, shopper):
    old = buy(5000)
    recent = buy(3000)
    PurchaseEarning.objects.filter(purchase=old).update(created_at=timezone.now() - ledger.REFUND_WINDOW)
    settle_earnings()  # closes the old one

    purchases.purchase_refund(merchant=merchant, purchase_id=old.pk)
    purchases.purchase_refund(merchant=merchant, purchase_id=recent.pk)
    settle_earnings()

    assert account_of(shopper).points_balance == 50


def test_offer_points_of_an_authorisation_clear_and_refund_with_the_purchase(merchant, store, program, buy, shopper):
    OfferFactory(program=program, minimum_spend_minor=5000, reward_points=200, budget_minor=10_000)
    purchase = buy(6000, state="authorised", source="network")
    account = account_of(shopper)
    assert (account.points_balance, account.points_pending) == (0, 260)

    purchases.purchase_change_value(purchase=purchase, state="cleared")
    settle_earnings()
    account.refresh_from_db()
    assert (account.points_balance, account.points_pending) == (260, 0)

    purchases.purchase_refund(merchant=merchant, purchase_id=purchase.pk)
    settle_earnings()
    account.refresh_from_db()
    assert (account.points_balance, account.points_pending) == (0, 0)
