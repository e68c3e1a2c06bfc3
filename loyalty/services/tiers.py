"""Tiers on qualifying spend or points over a rolling 12 months, never on the balance.

Upgrades happen on the purchase that earns them. Downgrades wait for the
scheduled review: a shopper who no longer qualifies keeps their tier for the
program's grace period, and keeps it for good if they qualify again meanwhile.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from loyalty.models import Account, Program, Reason, Tier, TierBasis
from loyalty.signals import tier_changed
from merchants.models import Merchant

ROLLING_WINDOW = timedelta(days=365)
# Entries that count toward a points-based tier: earning, net of refunds and clearing corrections.
_QUALIFYING_REASONS = [
    Reason.EARN,
    Reason.RULE,
    Reason.TIER,
    Reason.OFFER,
    Reason.PARTNER,
    Reason.REFUND,
    Reason.CLEARING,
]


def qualifying_values(*, program: Program, since: datetime, account_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Per account: spend (minor units) or points that count toward tiers since `since`."""
    measure = (
        "sum(qualifying_spend_minor)"
        if program.tier_basis == TierBasis.SPEND
        else "coalesce(sum(points) FILTER (WHERE reason = ANY(%(reasons)s)), 0)"
    )
    account_filter = "AND account_id = ANY(%(accounts)s)" if account_ids is not None else ""
    sql = (
        f"SELECT account_id, {measure} FROM loyalty_ledgerentry"  # noqa: S608 - fixed fragments; values bound
        f" WHERE merchant_id = %(merchant)s AND created_at >= %(since)s {account_filter} GROUP BY account_id"
    )
    params: dict[str, Any] = {
        "merchant": program.merchant_id,
        "since": since,
        "reasons": [str(reason) for reason in _QUALIFYING_REASONS],
        "accounts": list(account_ids or []),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {account_id: int(value or 0) for account_id, value in cursor.fetchall()}


def tier_for(tiers: Sequence[Tier], value: int) -> Tier | None:
    """The highest tier whose threshold `value` reaches (tiers sorted by threshold)."""
    reached = [tier for tier in tiers if value >= tier.threshold]
    return reached[-1] if reached else None


def _rank(tiers: Sequence[Tier], tier_id: int | None) -> int:
    for index, tier in enumerate(tiers):
        if tier.pk == tier_id:
            return index
    return -1


def tier_upgrade(*, program: Program, account_id: int, current_tier_id: int | None, tiers: Sequence[Tier]) -> None:
    """Move the shopper up at once if they now qualify for a higher tier. Call holding the account's row lock."""
    now = timezone.now()
    value = qualifying_values(program=program, since=now - ROLLING_WINDOW, account_ids=[account_id]).get(account_id, 0)
    best = tier_for(tiers, value)
    if best is not None and _rank(tiers, best.pk) > _rank(tiers, current_tier_id):
        Account.objects.filter(merchant=program.merchant_id, pk=account_id).update(
            tier=best, tier_since=now, tier_review_at=None
        )
        account = Account.objects.filter(merchant=program.merchant_id, pk=account_id).only("shopper_id").get()
        _announce(program.merchant_id, account, tiers, previous_id=current_tier_id, current_id=best.pk)


def _announce(
    merchant: Merchant | int,
    account: Account,
    tiers: Sequence[Tier],
    *,
    previous_id: int | None,
    current_id: int | None,
) -> None:
    """`tier_changed` with the tiers' names (None: no tier)."""
    names = {tier.pk: tier.name for tier in tiers}
    tier_changed.send(
        sender=Account,
        merchant=merchant,
        account=account,
        previous=names.get(previous_id) if previous_id else None,
        current=names.get(current_id) if current_id else None,
    )


@transaction.atomic
def tiers_review(*, merchant: Merchant, now: datetime | None = None) -> dict[str, int]:
    """Scheduled: upgrades missed, grace periods started or cancelled, and downgrades whose grace has run out."""
    now = now or timezone.now()
    program = Program.objects.filter(merchant=merchant).first()
    counts = {"upgraded": 0, "grace_started": 0, "grace_cancelled": 0, "downgraded": 0}
    if program is None:
        return counts
    tiers = list(Tier.objects.filter(program=program).order_by("threshold"))
    values = qualifying_values(program=program, since=now - ROLLING_WINDOW)
    candidates = Account.objects.filter(program=program).filter(pk__in=list(values)) | Account.objects.filter(
        program=program, tier__isnull=False
    )
    changed: list[Account] = []
    moved: list[tuple[Account, int | None]] = []  # accounts whose tier changed, with the tier before
    for account in candidates.select_for_update().order_by("pk"):
        previous_tier_id = account.tier_id
        best = tier_for(tiers, values.get(account.pk, 0))
        best_rank, current_rank = _rank(tiers, best.pk if best else None), _rank(tiers, account.tier_id)
        if best_rank > current_rank:
            account.tier, account.tier_since, account.tier_review_at = best, now, None
            counts["upgraded"] += 1
        elif best_rank == current_rank:
            if account.tier_review_at is None:
                continue
            account.tier_review_at = None
            counts["grace_cancelled"] += 1
        elif account.tier_review_at is None:
            account.tier_review_at = now + timedelta(days=program.tier_grace_days)
            counts["grace_started"] += 1
        elif account.tier_review_at <= now:
            account.tier, account.tier_since, account.tier_review_at = best, now, None
            counts["downgraded"] += 1
        else:
            continue
        changed.append(account)
        if account.tier_id != previous_tier_id:
            moved.append((account, previous_tier_id))
    Account.objects.bulk_update(changed, ["tier", "tier_since", "tier_review_at"])
    for account, previous_tier_id in moved:
        _announce(merchant, account, tiers, previous_id=previous_tier_id, current_id=account.tier_id)
    return counts
