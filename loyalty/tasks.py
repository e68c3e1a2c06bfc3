"""Celery entry points for loyalty: thin, per merchant with a program, safe to run twice."""

import structlog
from celery import shared_task

from loyalty.services import expiry, ledger, merges, partners, tiers
from merchants.models import Merchant

logger = structlog.get_logger(__name__)


def _merchants_with_programs() -> list[Merchant]:
    return list(Merchant.objects.filter(loyalty_program__isnull=False).order_by("pk"))


@shared_task(name="loyalty.settle_earnings")
def settle_earnings() -> int:
    """Clearing and refunds since the last run: pending points become available or are taken back,
    and partner bonuses of refunded purchases are taken back at the partner."""
    settled = 0
    for merchant in _merchants_with_programs():
        while batch := ledger.earnings_settle(merchant=merchant):
            settled += batch
        ledger.earnings_close_settled(merchant=merchant)
        settled += partners.partner_awards_settle(merchant=merchant)
    return settled


@shared_task(name="loyalty.reconcile_ledgers")
def reconcile_ledgers() -> dict[str, int]:
    """Nightly: points of merged profiles move to their survivors (and back when a merge was undone);
    then every account's cached balance is checked against its ledger, and any difference repaired and reported."""
    found: dict[str, int] = {}
    for merchant in _merchants_with_programs():
        merges.accounts_follow_merges(merchant=merchant)
        merges.accounts_follow_undone_merges(merchant=merchant)
        run = ledger.ledger_reconcile(merchant=merchant)
        found[merchant.slug] = len(run.mismatches)
        if run.mismatches:
            logger.warning("loyalty_ledger_mismatch", merchant=merchant.slug, accounts=len(run.mismatches))
    return found


@shared_task(name="loyalty.expire_points")
def expire_points() -> dict[str, int]:
    return {merchant.slug: expiry.points_expire(merchant=merchant) for merchant in _merchants_with_programs()}


@shared_task(name="loyalty.review_tiers")
def review_tiers() -> dict[str, dict[str, int]]:
    return {merchant.slug: tiers.tiers_review(merchant=merchant) for merchant in _merchants_with_programs()}
