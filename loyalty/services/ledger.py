"""The points ledger: appending entries, the balance cache, settlement against purchases, reconciliation.

Every change of points is a `LedgerEntry`; `Account.points_balance` and
`points_pending` are caches of the sums of its entries per bucket, moved in the
same statement as the entries are written. `ledger_reconcile` checks the caches
against the ledger.

Clearing and refunds. `profiles` sends one signal, when a purchase is recorded,
and again as a change when a recorded purchase is completed (matched with its
twin, or cleared at another amount: earning books the difference, then settles
that purchase at once with `earning_settle`). A clearing that keeps the amount
and refunds (API or network) change the purchase's `state` and `refunded_minor`
without telling anyone: loyalty keeps, per purchase that earned, the amount and
state it last settled against (`PurchaseEarning`) and `earnings_settle` books the
difference: pending points become available on clearing, and a refund takes
back its share. It runs every few minutes for everyone, and for one shopper
before anything spends their points (redemptions, negative adjustments), so
points of a refunded purchase cannot be spent in the gap.

Locks: the accounts first, then their earnings (in primary-key order), as earning does.

The sweep costs a primary-key join per open earning; an earning closes once its
purchase is fully refunded, or `REFUND_WINDOW` after it cleared (a later refund
no longer takes points back). At a scale where that window holds millions of
purchases, the cheaper design is a documented hook called by
`profiles.services.purchases.purchase_change_value`; it was left out here to keep
the ingest code, which is being tuned, untouched.
"""

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from core.errors import ApplicationError
from core.instances import stored_instance
from loyalty.models import (
    Account,
    Bucket,
    LedgerEntry,
    LedgerMonth,
    Program,
    PurchaseEarning,
    Reason,
    ReconciliationRun,
)
from loyalty.services.rates import expiry_for, proportion
from loyalty.signals import points_changed
from merchants.models import Merchant, User
from merchants.services import audit_event_record
from profiles.models import Purchase, PurchaseState

_ENTRY_COLUMNS = (
    ("merchant_id", "bigint"),
    ("account_id", "bigint"),
    ("bucket", "text"),
    ("points", "bigint"),
    ("reason", "text"),
    ("qualifying_spend_minor", "bigint"),
    ("purchase_id", "bigint"),
    ("rule_id", "bigint"),
    ("redemption_id", "bigint"),
    ("offer_id", "bigint"),
    ("actor_id", "bigint"),
    ("note", "text"),
    ("expires_at", "timestamptz"),
    ("created_at", "timestamptz"),
)
_INSERT_SQL = f"""
    INSERT INTO loyalty_ledgerentry ({", ".join(c for c, _ in _ENTRY_COLUMNS)})
    SELECT * FROM unnest({", ".join(f"%({c})s::{t}[]" for c, t in _ENTRY_COLUMNS)})
"""  # noqa: S608 - fixed SQL; values are bound
_BALANCES_SQL = """
    totals AS (
        SELECT account_id,
               coalesce(sum(points) FILTER (WHERE bucket = 'available'), 0) AS available,
               coalesce(sum(points) FILTER (WHERE bucket = 'pending'), 0) AS pending
          FROM inserted GROUP BY account_id
    ),
    moved AS (
        UPDATE loyalty_account AS account
           SET points_balance = account.points_balance + totals.available,
               points_pending = account.points_pending + totals.pending
          FROM totals
         WHERE account.id = totals.account_id
        RETURNING account.id, account.merchant_id, account.shopper_id, account.points_balance
    )
"""
_POST_SQL = f"""
    WITH inserted AS ({_INSERT_SQL} RETURNING account_id, bucket, points),
    {_BALANCES_SQL}
    SELECT id, merchant_id, shopper_id, points_balance FROM moved
"""  # noqa: S608 - fixed SQL; values are bound
# The accounts whose balance the caller moved itself (move_balances=False), as the announcement needs them.
_ACCOUNTS_SQL = "SELECT id, merchant_id, shopper_id, points_balance FROM loyalty_account WHERE id = ANY(%s)"
_ACCOUNT_FIELDS = ("id", "merchant_id", "shopper_id", "points_balance")
# A purchase's earning row, its entries and the balance in one statement; the entries only if the row is new.
_EARN_SQL = f"""
    WITH earning AS (
        INSERT INTO loyalty_purchaseearning
            (merchant_id, purchase_id, account_id, earned_amount_minor, points_earned, points_held, bucket,
             seen_amount_minor, seen_refunded_minor, is_open, created_at)
        VALUES (%(earning_merchant)s, %(earning_purchase)s, %(earning_account)s, %(earning_amount)s,
                %(earning_points)s, %(earning_points)s, %(earning_bucket)s, %(earning_amount)s,
                %(earning_refunded)s, true, now())
        ON CONFLICT (purchase_id) DO NOTHING
        RETURNING id
    ),
    inserted AS ({_INSERT_SQL} WHERE EXISTS (SELECT 1 FROM earning) RETURNING account_id, bucket, points),
    {_BALANCES_SQL}
    SELECT (SELECT count(*) FROM earning), moved.id, moved.merchant_id, moved.shopper_id, moved.points_balance
      FROM (SELECT 1) AS one LEFT JOIN moved ON true
"""  # noqa: S608 - fixed SQL; values are bound


@dataclass(frozen=True)
class Earning:
    """What a purchase earned: the row settlement later compares the purchase with."""

    merchant_id: int
    purchase_id: int
    account_id: int
    amount_minor: int
    refunded_minor: int
    points: int
    bucket: str


@dataclass
class Entry:
    """A ledger entry to append (plain data, so a list of them goes in one statement)."""

    merchant_id: int
    account_id: int
    bucket: str
    points: int
    reason: str
    qualifying_spend_minor: int = 0
    purchase_id: int | None = None
    rule_id: int | None = None
    redemption_id: int | None = None
    offer_id: int | None = None
    actor_id: int | None = None
    note: str = ""
    expires_at: datetime | None = None
    created_at: datetime = field(default_factory=timezone.now)


def _values(entries: Sequence[Entry]) -> dict[str, list[Any]]:
    return {column: [getattr(entry, column) for entry in entries] for column, _ in _ENTRY_COLUMNS}


def entries_post(*, entries: Sequence[Entry], move_balances: bool = True) -> None:
    """Append entries and move their accounts' balance caches, in one statement.

    `move_balances=False` when the caller already moved the balance itself (a conditional
    UPDATE that refused to overdraw). Call inside a transaction.
    """
    entries = [entry for entry in entries if entry.points or entry.qualifying_spend_minor]
    if not entries:
        return
    with connection.cursor() as cursor:
        cursor.execute(_POST_SQL if move_balances else _INSERT_SQL, _values(entries))
        if move_balances:
            accounts = cursor.fetchall()
        elif any(entry.points for entry in entries):
            cursor.execute(_ACCOUNTS_SQL, [sorted({entry.account_id for entry in entries})])
            accounts = cursor.fetchall()
        else:
            accounts = []
    _announce(entries, accounts)


def _announce(entries: Sequence[Entry], accounts: Sequence[tuple[Any, ...]]) -> None:
    """`points_changed` once per account and reason the entries moved points for, with the balance after."""
    deltas: dict[tuple[int, str], int] = {}
    for entry in entries:
        if entry.points:
            key = (entry.account_id, entry.reason)
            deltas[key] = deltas.get(key, 0) + entry.points
    if not deltas:
        return
    by_id = {
        row[0]: stored_instance(Account, connection.alias, dict(zip(_ACCOUNT_FIELDS, row, strict=True)))
        for row in accounts
        if row[0] is not None
    }
    for (account_id, reason), delta in deltas.items():
        account = by_id.get(account_id)
        if account is None or not delta:
            continue
        points_changed.send(
            sender=Account,
            merchant=account.merchant_id,
            account=account,
            delta=delta,
            reason=reason,
            balance=account.points_balance,
        )


def earning_post(*, earning: Earning, entries: Sequence[Entry]) -> bool:
    """Record what a purchase earned with its entries and balance, in one statement.

    False, and nothing written, if the purchase had already earned. Call inside a transaction.
    """
    entries = [entry for entry in entries if entry.points or entry.qualifying_spend_minor]
    params: dict[str, Any] = {
        **_values(entries),
        "earning_merchant": earning.merchant_id,
        "earning_purchase": earning.purchase_id,
        "earning_account": earning.account_id,
        "earning_amount": earning.amount_minor,
        "earning_refunded": earning.refunded_minor,
        "earning_points": earning.points,
        "earning_bucket": earning.bucket,
    }
    with connection.cursor() as cursor:
        cursor.execute(_EARN_SQL, params)
        rows = cursor.fetchall()
    if not rows[0][0]:
        return False
    _announce(entries, [row[1:] for row in rows])
    return True


# Settlement: clearing and refunds


_SETTLE_SQL = f"""
    SELECT earning.id
      FROM loyalty_purchaseearning AS earning
      JOIN {Purchase._meta.db_table} AS purchase ON purchase.id = earning.purchase_id
     WHERE earning.merchant_id = %(merchant)s AND earning.is_open {{account_filter}}
       AND (purchase.amount_minor <> earning.seen_amount_minor
            OR purchase.refunded_minor <> earning.seen_refunded_minor
            OR (earning.bucket = 'pending' AND purchase.state <> 'authorised'))
     ORDER BY earning.id
     LIMIT %(limit)s
"""  # noqa: S608 - table names from the models; values are bound


@transaction.atomic
def earnings_settle(*, merchant: Merchant, account_ids: Iterable[int] | None = None, limit: int = 5000) -> int:
    """Book what clearing and refunds changed since each purchase last settled. Safe to run twice.

    Returns how many purchases were settled.
    """
    account_filter = ""
    params: dict[str, Any] = {"merchant": merchant.pk, "limit": limit}
    if account_ids is not None:
        account_filter = "AND earning.account_id = ANY(%(accounts)s)"
        params["accounts"] = list(account_ids)
    with connection.cursor() as cursor:
        cursor.execute(_SETTLE_SQL.format(account_filter=account_filter), params)
        earning_ids = [row[0] for row in cursor.fetchall()]
    if not earning_ids:
        return 0
    # The accounts before their earnings, as the ingest path takes them (a purchase completed later
    # locks its shopper's account, then the purchase's earning): the other order could deadlock.
    list(
        Account.objects.filter(
            merchant=merchant,
            pk__in=PurchaseEarning.objects.filter(merchant=merchant, pk__in=earning_ids).values("account_id"),
        )
        .order_by("pk")
        .select_for_update()
        .values_list("pk", flat=True)
    )
    earnings = list(
        PurchaseEarning.objects.filter(merchant=merchant, pk__in=earning_ids)
        .select_for_update(of=("self",))
        .select_related("purchase")
        .order_by("pk")
    )
    program = Program.objects.get(merchant=merchant)
    now = timezone.now()
    entries: list[Entry] = []
    for earning in earnings:
        entries.extend(_settle_one(earning, earning.purchase, program, now))
    entries_post(entries=entries)
    PurchaseEarning.objects.bulk_update(
        earnings, ["points_held", "bucket", "seen_amount_minor", "seen_refunded_minor", "is_open"]
    )
    return len(earnings)


def _settle_one(earning: PurchaseEarning, purchase: Purchase, program: Program, now: datetime) -> list[Entry]:
    def entry(bucket: str, points: int, reason: str, spend: int = 0, expires_at: datetime | None = None) -> Entry:
        return Entry(
            merchant_id=earning.merchant_id,
            account_id=earning.account_id,
            purchase_id=purchase.pk,
            bucket=bucket,
            points=points,
            reason=reason,
            qualifying_spend_minor=spend,
            expires_at=expires_at,
            created_at=now,
        )

    entries: list[Entry] = []
    bucket = Bucket.PENDING if purchase.state == PurchaseState.AUTHORISED else Bucket.AVAILABLE
    expires_at = expiry_for(program, purchase.occurred_at)
    if earning.bucket == Bucket.PENDING and bucket == Bucket.AVAILABLE and earning.points_held:
        entries += [
            entry(Bucket.PENDING, -earning.points_held, Reason.CLEARING),
            entry(Bucket.AVAILABLE, earning.points_held, Reason.CLEARING, expires_at=expires_at),
        ]
    net = purchase.amount_minor - purchase.refunded_minor
    target = proportion(earning.points_earned, net, earning.earned_amount_minor)
    delta = target - earning.points_held
    spend_delta = net - (earning.seen_amount_minor - earning.seen_refunded_minor)
    if delta or spend_delta:
        refunded = purchase.refunded_minor > earning.seen_refunded_minor
        reason = Reason.REFUND if refunded else Reason.CLEARING
        entries.append(entry(bucket, delta, reason, spend_delta, expires_at if delta > 0 else None))
    earning.points_held = target
    earning.bucket = bucket
    earning.seen_amount_minor = purchase.amount_minor
    earning.seen_refunded_minor = purchase.refunded_minor
    earning.is_open = net > 0
    return entries


def earning_settle(*, merchant: Merchant, purchase: Purchase, program: Program) -> None:
    """Settle one purchase's earning now, as `earnings_settle` would later, if it needs it.

    Call inside the purchase's transaction, holding the account its earning belongs to."""
    earning = PurchaseEarning.objects.select_for_update().filter(merchant=merchant, purchase_id=purchase.pk).first()
    if earning is None or not earning.is_open:
        return
    unsettled = (
        purchase.amount_minor != earning.seen_amount_minor
        or purchase.refunded_minor != earning.seen_refunded_minor
        or (earning.bucket == Bucket.PENDING and purchase.state != PurchaseState.AUTHORISED)
    )
    if not unsettled:
        return
    entries_post(entries=_settle_one(earning, purchase, program, timezone.now()))
    earning.save(update_fields=["points_held", "bucket", "seen_amount_minor", "seen_refunded_minor", "is_open"])


REFUND_WINDOW = timedelta(days=180)


def earnings_close_settled(*, merchant: Merchant, now: datetime | None = None) -> int:
    """Stop watching cleared purchases older than the refund window. Call after settling them."""
    cutoff = (now or timezone.now()) - REFUND_WINDOW
    return PurchaseEarning.objects.filter(
        merchant=merchant, is_open=True, bucket=Bucket.AVAILABLE, created_at__lt=cutoff
    ).update(is_open=False)


# Staff adjustments


@transaction.atomic
def points_adjust(*, merchant: Merchant, account: Account, points: int, reason: str, actor: User | None) -> Account:
    """Add (or take away, never below zero) points by hand, with the reason and who did it."""
    if account.merchant_id != merchant.pk:
        raise ApplicationError("No such account.", code="not_found")
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Say why the points are adjusted.", code="reason_required", field="reason")
    if points == 0:
        raise ApplicationError("Give a number of points other than zero.", code="invalid", field="points")
    if points < 0:
        earnings_settle(merchant=merchant, account_ids=[account.pk])
        taken = Account.objects.filter(merchant=merchant, pk=account.pk, points_balance__gte=-points).update(
            points_balance=F("points_balance") + points
        )
        if not taken:
            raise ApplicationError(
                "The shopper has fewer points than that; take away at most their balance.",
                code="insufficient_points",
                field="points",
            )
    program = Program.objects.get(merchant=merchant, pk=account.program_id)
    now = timezone.now()
    entries_post(
        entries=[
            Entry(
                merchant_id=merchant.pk,
                account_id=account.pk,
                bucket=Bucket.AVAILABLE,
                points=points,
                reason=Reason.ADJUSTMENT,
                actor_id=actor.pk if actor else None,
                note=reason[:300],
                expires_at=expiry_for(program, now) if points > 0 else None,
                created_at=now,
            )
        ],
        move_balances=points > 0,
    )
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="loyalty.points_adjusted",
        subject=str(account.shopper_id),
        points=points,
        reason=reason,
    )
    account.refresh_from_db()
    return account


# Reconciliation


@dataclass(frozen=True)
class Mismatch:
    account_id: int
    cached_balance: int
    ledger_balance: int
    cached_pending: int
    ledger_pending: int


_RECONCILE_SQL = """
    SELECT account.id, account.points_balance, coalesce(sums.available, 0)::bigint,
           account.points_pending, coalesce(sums.pending, 0)::bigint
      FROM loyalty_account AS account
      LEFT JOIN (
            SELECT account_id,
                   sum(points) FILTER (WHERE bucket = 'available') AS available,
                   sum(points) FILTER (WHERE bucket = 'pending') AS pending
              FROM loyalty_ledgerentry WHERE merchant_id = %(merchant)s GROUP BY account_id
      ) AS sums ON sums.account_id = account.id
     WHERE account.merchant_id = %(merchant)s
"""


@transaction.atomic
def ledger_reconcile(*, merchant: Merchant) -> ReconciliationRun:
    """Compare every account's cached balance with its ledger; the ledger wins, and the run records what differed."""
    with connection.cursor() as cursor:
        # One statement, one snapshot: a committed change is seen in both the ledger and the cache, or in neither.
        cursor.execute(_RECONCILE_SQL, {"merchant": merchant.pk})
        rows = cursor.fetchall()
    mismatches = [Mismatch(*row) for row in rows if row[1] != row[2] or row[3] != row[4]]
    for mismatch in mismatches:
        # By the difference, not to the value read: writers since the snapshot moved the cache correctly.
        Account.objects.filter(merchant=merchant, pk=mismatch.account_id).update(
            points_balance=F("points_balance") + (mismatch.ledger_balance - mismatch.cached_balance),
            points_pending=F("points_pending") + (mismatch.ledger_pending - mismatch.cached_pending),
        )
    ledger_months_rebuild(merchant=merchant)
    return ReconciliationRun.objects.create(
        merchant=merchant,
        accounts_checked=len(rows),
        mismatches=[mismatch.__dict__ for mismatch in mismatches],
    )


_MONTHS_SQL = """
    INSERT INTO loyalty_ledgermonth (merchant_id, month, reason, points)
    SELECT %(merchant)s, date_trunc('month', created_at AT TIME ZONE %(zone)s)::date, reason, sum(points)
      FROM loyalty_ledgerentry
     WHERE merchant_id = %(merchant)s AND created_at < %(month_start)s
     GROUP BY 2, 3
"""


def ledger_months_rebuild(*, merchant: Merchant) -> None:
    """Rebuild the closed months' totals per reason (the insights' trend) from the ledger."""
    month_start = current_month_start(merchant)
    LedgerMonth.objects.filter(merchant=merchant).delete()
    with connection.cursor() as cursor:
        cursor.execute(_MONTHS_SQL, {"merchant": merchant.pk, "zone": merchant.timezone, "month_start": month_start})


def current_month_start(merchant: Merchant) -> datetime:
    """Midnight on the first of this month, in the merchant's time zone."""
    local = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(merchant.timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def ledger_balance(*, account: Account) -> tuple[int, int]:
    """(available, pending) as the ledger says: the truth the cache is checked against."""
    sums = LedgerEntry.objects.filter(account=account).aggregate(
        available=Sum("points", filter=Q(bucket=Bucket.AVAILABLE), default=0),
        pending=Sum("points", filter=Q(bucket=Bucket.PENDING), default=0),
    )
    return sums["available"], sums["pending"]
