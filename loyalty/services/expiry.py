"""Expiry of points under the program's policy, run by a scheduled task; safe to run twice.

Dated policies (N days after earning, end of year) stamp each credit with its
`expires_at` when it is written. Points are spent oldest-first, so what is due
to expire is the credits already past their date less everything ever taken
from the balance (redemptions, refunds, earlier expiries):
`max(0, credits due − debits)`, capped at the balance. An expiry entry is itself
a debit, so a second run finds nothing more. The inactivity policy lets the
whole balance lapse after N months without a purchase.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from loyalty.models import Account, Bucket, ExpiryPolicy, Program, Reason
from loyalty.services import ledger
from merchants.models import Merchant

_DUE_SQL = """
    SELECT account.id, account.shopper_id,
           LEAST(account.points_balance, GREATEST(0, sums.due - sums.debits))::bigint AS expiring,
           sums.next_expiry
      FROM loyalty_account AS account
      JOIN (
            SELECT account_id,
                   coalesce(sum(points) FILTER (WHERE points > 0 AND expires_at <= %(moment)s), 0) AS due,
                   coalesce(-sum(points) FILTER (WHERE points < 0), 0) AS debits,
                   min(expires_at) FILTER (WHERE points > 0 AND expires_at > %(now)s) AS next_expiry
              FROM loyalty_ledgerentry
             WHERE merchant_id = %(merchant)s AND bucket = 'available'
             GROUP BY account_id
      ) AS sums ON sums.account_id = account.id
     WHERE account.merchant_id = %(merchant)s AND account.points_balance > 0
       AND sums.due - sums.debits > 0
     ORDER BY account.id
"""


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
        cursor.execute(_DUE_SQL, {"merchant": merchant.pk, "moment": moment, "now": now})
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
