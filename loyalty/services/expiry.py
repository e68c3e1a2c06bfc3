"""Expiry of points under the program's policy, run by a scheduled task; safe to run twice.

Dated policies (N days after earning, end of year) stamp each credit with its
`expires_at` when it is written, and points expire lot by lot, first in first out:

- each credit is a lot; lots are spent soonest-expiring first (under both dated
  policies that is the order the points were earned in);
- a refund's claw-back (or a clearing that lowered the amount) takes back the points
  of the purchase it reverses, from that purchase's own lots, newest first; only what
  those lots no longer hold comes from the oldest lots;
- every other debit (redemptions, staff adjustments, points moved out by a merge,
  earlier expiries) spends the oldest lots first;
- what is left of each lot past its date expires, capped at the balance.

Taking every debit, claw-backs included, from the oldest credits let a refund of
new points shield old points from expiry. An expiry entry is itself a debit, so a
second run finds nothing more. The inactivity policy lets the whole balance lapse
after N months without a purchase.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from loyalty.models import Account, Bucket, ExpiryPolicy, LedgerEntry, Program, Reason
from loyalty.services import ledger
from merchants.models import Merchant

# Spending in time order from the soonest-expiring lots is the same as spending, in one go, the whole
# of the untargeted debits from the front of the lots ordered that way (no debit ever overdraws), so
# each lot's unspent rest is a running sum: no replay in a loop. A purchase earns when it is recorded
# or cleared, before any claw-back of it, so a claw-back can take from all of its purchase's lots.
_DUE_SQL = f"""
    WITH candidates AS (
        -- Accounts with points left and with a credit past `moment`: the only ones that can owe any.
        SELECT account.id, account.shopper_id, account.points_balance
          FROM {Account._meta.db_table} AS account
         WHERE account.merchant_id = %(merchant)s AND account.points_balance > 0
           AND EXISTS (
                SELECT 1 FROM {LedgerEntry._meta.db_table} AS due
                 WHERE due.account_id = account.id AND due.merchant_id = %(merchant)s
                   AND due.bucket = %(available)s AND due.points > 0 AND due.expires_at <= %(moment)s
           )
    ),
    entries AS MATERIALIZED (
        SELECT entry.id, entry.account_id, entry.points, entry.purchase_id, entry.expires_at, entry.created_at,
               entry.points < 0 AND entry.purchase_id IS NOT NULL AND entry.reason = ANY(%(targeted)s)
                   AS is_claw_back
          FROM {LedgerEntry._meta.db_table} AS entry
          JOIN candidates ON candidates.id = entry.account_id
         WHERE entry.merchant_id = %(merchant)s AND entry.bucket = %(available)s
    ),
    claw_backs AS (
        SELECT account_id, purchase_id, -SUM(points) AS points
          FROM entries WHERE is_claw_back
         GROUP BY account_id, purchase_id
    ),
    credits AS (
        -- Each credit less what claw-backs of its purchase took from it (the purchase's newest lots first).
        SELECT entry.id, entry.account_id, entry.expires_at, entry.created_at, entry.points,
               LEAST(entry.points, GREATEST(0,
                   COALESCE(claw_backs.points, 0)
                   - (SUM(entry.points) OVER (PARTITION BY entry.account_id, entry.purchase_id
                                              ORDER BY entry.created_at DESC, entry.id DESC) - entry.points)
               )) AS clawed
          FROM entries AS entry
          LEFT JOIN claw_backs
            ON claw_backs.account_id = entry.account_id AND claw_backs.purchase_id = entry.purchase_id
         WHERE entry.points > 0
    ),
    spent AS (
        -- Every other debit, and what claw-backs took beyond their purchase's lots.
        SELECT candidates.id AS account_id,
               COALESCE((SELECT -SUM(points) FROM entries
                          WHERE entries.account_id = candidates.id AND points < 0 AND NOT is_claw_back), 0)
               + COALESCE((SELECT SUM(claw_backs.points) FROM claw_backs
                            WHERE claw_backs.account_id = candidates.id), 0)
               - COALESCE((SELECT SUM(clawed) FROM credits WHERE credits.account_id = candidates.id), 0)
                   AS points
          FROM candidates
    ),
    lots AS (
        SELECT credits.account_id, credits.expires_at,
               LEAST(credits.points - credits.clawed, GREATEST(0,
                   SUM(credits.points - credits.clawed) OVER (
                       PARTITION BY credits.account_id
                       ORDER BY credits.expires_at NULLS LAST, credits.created_at, credits.id
                   ) - spent.points
               )) AS unspent
          FROM credits
          JOIN spent ON spent.account_id = credits.account_id
    )
    SELECT candidates.id, candidates.shopper_id,
           LEAST(candidates.points_balance, SUM(lots.unspent) FILTER (WHERE lots.expires_at <= %(moment)s))::bigint
               AS expiring,
           MIN(lots.expires_at) FILTER (WHERE lots.unspent > 0 AND lots.expires_at > %(now)s) AS next_expiry
      FROM candidates
      JOIN lots ON lots.account_id = candidates.id
     GROUP BY candidates.id, candidates.shopper_id, candidates.points_balance
    HAVING SUM(lots.unspent) FILTER (WHERE lots.expires_at <= %(moment)s) > 0
     ORDER BY candidates.id
"""  # noqa: S608 - table names from the models; values are bound
# Debits that take back the points of one purchase (its refund, or a clearing that lowered its amount).
_CLAW_BACK_REASONS = [Reason.REFUND.value, Reason.CLEARING.value]


@dataclass(frozen=True)
class Expiring:
    account_id: int
    shopper_id: int
    points: int
    expires_at: datetime | None


def _months(months: int) -> str:
    return f"{int(months)} months"


def points_due(*, merchant: Merchant, moment: datetime, now: datetime | None = None) -> list[Expiring]:
    """Accounts with points whose expiry falls on or before `moment` and that are still unspent."""
    program = Program.objects.filter(merchant=merchant).first()
    if program is None:
        return []
    now = now or timezone.now()
    if program.expiry_policy == ExpiryPolicy.INACTIVITY and program.inactivity_months:
        interval = _months(program.inactivity_months)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, shopper_id, points_balance, last_activity_at + %(interval)s::interval"
                "  FROM loyalty_account WHERE merchant_id = %(merchant)s AND points_balance > 0"
                "   AND last_activity_at + %(interval)s::interval <= %(moment)s ORDER BY id",
                {"merchant": merchant.pk, "interval": interval, "moment": moment},
            )
            return [Expiring(*row) for row in cursor.fetchall()]
    if program.expiry_policy not in (ExpiryPolicy.DAYS_AFTER_EARNING, ExpiryPolicy.END_OF_YEAR):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _DUE_SQL,
            {
                "merchant": merchant.pk,
                "moment": moment,
                "now": now,
                "available": Bucket.AVAILABLE.value,
                "targeted": _CLAW_BACK_REASONS,
            },
        )
        return [Expiring(*row) for row in cursor.fetchall()]


@transaction.atomic
def points_expire(*, merchant: Merchant, now: datetime | None = None) -> int:
    """Book the expiry of every point past its date (or of inactive balances). Returns the points expired."""
    now = now or timezone.now()
    due = points_due(merchant=merchant, moment=now, now=now)
    if not due:
        return 0
    # Lock the accounts (in id order) and re-read what is due under the lock: a purchase or
    # redemption committing meanwhile changes the figures.
    list(
        Account.objects.filter(merchant=merchant, pk__in=[item.account_id for item in due])
        .select_for_update()
        .order_by("pk")
    )
    due = points_due(merchant=merchant, moment=now, now=now)
    ledger.entries_post(
        entries=[
            ledger.Entry(
                merchant_id=merchant.pk,
                account_id=item.account_id,
                bucket=Bucket.AVAILABLE,
                points=-item.points,
                reason=Reason.EXPIRY,
                created_at=now,
            )
            for item in due
            if item.points > 0
        ]
    )
    return sum(item.points for item in due)
