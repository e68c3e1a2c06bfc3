"""The program of a merchant and its shoppers' accounts (the balance rows)."""

import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F

from loyalty.models import Program
from merchants.models import Merchant

# Only while the program is active and still at the version the caller read its rules at:
# otherwise nothing is written or returned, and the caller reloads the program.
ACCOUNT_UPSERT_SQL = """
    INSERT INTO loyalty_account
        (merchant_id, program_id, shopper_id, points_balance, points_pending, enrolled_at, enrolled_via,
         last_activity_at)
    SELECT %(merchant)s, %(program)s, %(shopper)s, 0, 0, now(), %(via)s, %(moment)s
     WHERE EXISTS (SELECT 1 FROM loyalty_program
                    WHERE id = %(program)s AND is_active AND rules_version = %(version)s)
    ON CONFLICT (shopper_id) DO UPDATE
        SET last_activity_at = GREATEST(loyalty_account.last_activity_at, EXCLUDED.last_activity_at)
    RETURNING id, tier_id
"""


def program_for(merchant: Merchant) -> Program | None:
    """The merchant's active program, or None."""
    program = Program.objects.filter(merchant=merchant, is_active=True).first()
    if program is not None:
        program.merchant = merchant
    return program


def account_upsert(
    *, program: Program, shopper_id: int, joined_via: str, moment: datetime
) -> tuple[int, int | None] | None:
    """The shopper's account, created on their first purchase and locked until commit; (account id, tier id).

    None if the program was paused or changed since `program` was read.

    Enrolment is automatic: a shopper who linked a card has joined the merchant's program.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            ACCOUNT_UPSERT_SQL,
            {
                "merchant": program.merchant_id,
                "program": program.pk,
                "shopper": shopper_id,
                "via": joined_via,
                "moment": moment,
                "version": program.rules_version,
            },
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row is not None else None


def rules_changed(*, merchant_id: int) -> None:
    """Every change to rules, tiers, offers or partner agreements bumps the version the earn cache is keyed by."""
    Program.objects.filter(merchant_id=merchant_id).update(rules_version=F("rules_version") + 1)
    program_absence_forget(merchant_id=merchant_id)


# That a merchant has no active program is kept in Django's cache for REQUEST_CACHE_SECONDS, as the
# API keys are (merchants/request_cache.py): purchases of merchants without loyalty then cost no query.
# Creating or activating a program drops it: at once in a shared cache, else within those seconds.
def _no_program_entry(merchant_id: int) -> str:
    return f"storeloop:loyalty:no-program:{merchant_id}"


def program_absent(*, merchant_id: int) -> bool:
    return bool(settings.REQUEST_CACHE_SECONDS) and bool(cache.get(_no_program_entry(merchant_id)))


# A batch asks once per purchase, so the answer is also kept in this process for a second: a batch of
# 1,000 purchases reads the shared cache once, not 1,000 times (a read each: the same per-purchase
# read in campaigns' receiver, unmemoised, was 7 % of a loaded batch's time, profiled). Keyed by
# merchant id, like the program cache in `earn`; a program created in another process is seen
# here at most that second later.
_ABSENCE_MEMO_SECONDS = 1.0
_absent_until: dict[int, float] = {}


def program_absent_for(merchant: Merchant) -> bool:
    if _absent_until.get(merchant.pk, 0.0) > time.monotonic():
        return True
    if program_absent(merchant_id=merchant.pk):
        _absent_until[merchant.pk] = time.monotonic() + _ABSENCE_MEMO_SECONDS
        return True
    return False


def program_absence_remember(*, merchant_id: int) -> None:
    if settings.REQUEST_CACHE_SECONDS:
        cache.set(_no_program_entry(merchant_id), True, settings.REQUEST_CACHE_SECONDS)


def program_absence_forget(*, merchant_id: int) -> None:
    _absent_until.pop(merchant_id, None)
    entry = _no_program_entry(merchant_id)
    cache.delete(entry)
    transaction.on_commit(lambda: cache.delete(entry))
