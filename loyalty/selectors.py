"""Reads for loyalty pages, the API and the campaigns app. Every one takes the merchant."""

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from loyalty.models import (
    EARNING_REASONS,
    Account,
    EarnRule,
    LedgerEntry,
    LedgerMonth,
    Offer,
    OfferAward,
    PartnerAgreement,
    Program,
    Reason,
    Redemption,
    RedemptionStatus,
    Reward,
    Tier,
)
from loyalty.services.expiry import Expiring, points_due
from loyalty.services.ledger import current_month_start
from loyalty.services.rates import points_value_minor
from merchants.models import Merchant
from profiles.models import Shopper, ShopperRollup, ShopperStatus

LEDGER_PAGE = 50


def program_get(*, merchant: Merchant) -> Program | None:
    return Program.objects.for_merchant(merchant).first()


def rule_list(*, merchant: Merchant) -> QuerySet[EarnRule]:
    return EarnRule.objects.for_merchant(merchant).select_related("store").order_by("-is_active", "kind", "name")


def rule_get(*, merchant: Merchant, rule_id: int) -> EarnRule:
    return get_object_or_404(EarnRule.objects.for_merchant(merchant), pk=rule_id)


def tier_list(*, merchant: Merchant) -> QuerySet[Tier]:
    return Tier.objects.for_merchant(merchant).order_by("threshold")


def reward_list(*, merchant: Merchant) -> QuerySet[Reward]:
    return Reward.objects.for_merchant(merchant).order_by("points_cost", "pk")


def offer_list(*, merchant: Merchant) -> QuerySet[Offer]:
    return (
        Offer.objects.for_merchant(merchant)
        .select_related("store")
        .annotate(award_count=Count("awards"), spent_minor=Sum("awards__cost_minor", default=0))
        .order_by("-ends_at", "pk")
    )


def rewards_redeemable(*, merchant: Merchant, shopper: Shopper, now: datetime | None = None) -> dict[str, Any]:
    """What this shopper can redeem now: available rewards they have the points for, and their balance."""
    moment = now or timezone.now()
    account = Account.objects.for_merchant(merchant).filter(shopper=shopper).first()
    balance = account.points_balance if account else 0
    rewards = list(
        Reward.objects.for_merchant(merchant)
        .filter(is_active=True, points_cost__lte=balance)
        .filter(Q(available_from__isnull=True) | Q(available_from__lte=moment))
        .filter(Q(available_until__isnull=True) | Q(available_until__gt=moment))
        .order_by("points_cost", "pk")
    )
    return {
        "points_balance": balance,
        "points_pending": account.points_pending if account else 0,
        "tier": account.tier.name if account and account.tier else None,
        "rewards": rewards,
        "credits": list(
            OfferAward.objects.for_merchant(merchant)
            .filter(shopper=shopper, credit_minor__gt=0)
            .select_related("offer")
            .order_by("-created_at")
        ),
    }


def points_summary(*, merchant: Merchant, shopper: Shopper, now: datetime | None = None) -> dict[str, Any] | None:
    """For the shopper's own page: the active program, their balance, tier and the rewards they can have now; None
    without an active program or an account. One query, and one more for the rewards when there are points."""
    account = (
        Account.objects.for_merchant(merchant)
        .filter(shopper=shopper, program__is_active=True)
        .select_related("program", "tier")
        .first()
    )
    if account is None:
        return None
    program = account.program
    moment = now or timezone.now()
    rewards = (
        list(
            Reward.objects.for_merchant(merchant)
            .filter(is_active=True, points_cost__lte=account.points_balance)
            .filter(Q(available_from__isnull=True) | Q(available_from__lte=moment))
            .filter(Q(available_until__isnull=True) | Q(available_until__gt=moment))
            .order_by("points_cost", "pk")
        )
        if account.points_balance > 0
        else []
    )
    return {
        "program": program,
        "points_balance": account.points_balance,
        "points_pending": account.points_pending,
        "tier": account.tier.name if account.tier else None,
        "rewards": rewards,
    }


def redemption_get(*, merchant: Merchant, public_id: Any) -> Redemption:
    return get_object_or_404(
        Redemption.objects.for_merchant(merchant).select_related("reward", "account"), public_id=public_id
    )


# The shopper panel on the profile page


@dataclass(frozen=True)
class ShopperLoyalty:
    shopper: Shopper
    program: Program | None
    account: Account | None
    entries: list[LedgerEntry]

    @property
    def unit(self) -> str:
        return "stamps" if self.program is not None and self.program.kind == "stamps" else "points"


def shopper_loyalty(*, merchant: Merchant, shopper: Shopper) -> ShopperLoyalty:
    """Balance, tier and the latest ledger entries of one shopper, in a fixed number of queries."""
    if shopper.merchant_id != merchant.pk:
        raise Http404
    account = Account.objects.for_merchant(merchant).filter(shopper=shopper).select_related("tier").first()
    entries = (
        list(
            LedgerEntry.objects.for_merchant(merchant)
            .filter(account=account)
            .select_related("rule", "actor", "purchase")
            .order_by("-created_at", "-pk")[:LEDGER_PAGE]
        )
        if account
        else []
    )
    return ShopperLoyalty(
        shopper=shopper,
        program=program_get(merchant=merchant),
        account=account,
        entries=entries,
    )


def accounts_by_shopper(*, merchant: Merchant, shopper_ids: Sequence[int]) -> dict[int, Account]:
    """The accounts of these shoppers (those who have one), with their tiers, in one query."""
    accounts = Account.objects.for_merchant(merchant).filter(shopper_id__in=shopper_ids).select_related("tier")
    return {account.shopper_id: account for account in accounts}


def points_expiring(*, merchant: Merchant, within_days: int = 30) -> list[Expiring]:
    """Who will lose points in the next `within_days`, how many, and from when (campaigns warn them)."""
    now = timezone.now()
    return points_due(merchant=merchant, moment=now + timedelta(days=within_days), now=now)


# Partners


@dataclass(frozen=True)
class PartnerRow:
    agreement: PartnerAgreement
    other: Merchant
    direction: str  # "owed": our purchases, their points; "awarded": their purchases, our points
    points: int
    money_minor: int
    awards: int


def partner_summary(*, merchant: Merchant) -> list[PartnerRow]:
    """Both sides of every agreement this merchant is in: what it owes, and what it awarded."""
    agreements = (
        PartnerAgreement.objects.filter(Q(merchant=merchant) | Q(partner=merchant))
        .select_related("merchant", "partner")
        .annotate(
            # Net of what refunds took back since.
            awarded_points=Sum(F("awards__points") - F("awards__points_reversed"), default=0),
            owed=Sum("awards__owed_minor", default=0),
            award_count=Count("awards"),
        )
        .order_by("pk")
    )
    return [
        PartnerRow(
            agreement=agreement,
            other=agreement.partner if agreement.merchant_id == merchant.pk else agreement.merchant,
            direction="owed" if agreement.merchant_id == merchant.pk else "awarded",
            points=agreement.awarded_points,
            money_minor=agreement.owed,
            awards=agreement.award_count,
        )
        for agreement in agreements
    ]


def partner_agreement_get(*, merchant: Merchant, agreement_id: int) -> PartnerAgreement:
    return get_object_or_404(
        PartnerAgreement.objects.filter(Q(merchant=merchant) | Q(partner=merchant)), pk=agreement_id
    )


def partner_candidates(*, merchant: Merchant) -> QuerySet[Merchant]:
    """Merchants in the same mall network(s)."""
    return Merchant.objects.filter(networks__in=merchant.networks.all()).exclude(pk=merchant.pk).distinct()


# Insights


@dataclass(frozen=True)
class LoyaltyInsights:
    program: Program
    members: int
    points_outstanding: int
    points_pending: int
    liability_minor: int
    # (month, outstanding points at its end, liability in minor units)
    liability_trend: list[tuple[date, int, int]]
    earned_points: int
    redeemed_points: int
    expired_points: int
    redemption_rate: float | None
    breakage_rate: float | None
    # (month, {channel: enrolments})
    enrolments: list[tuple[date, dict[str, int]]]
    enrolment_channels: list[str]
    members_vs_others: dict[str, dict[str, float]]
    tiers: list[tuple[str, int]]


def _month_totals(merchant: Merchant) -> dict[date, dict[str, int]]:
    """Points per month and reason: months rolled up by the nightly reconciliation from the rollup,
    the months since (this one, and the last one until the first night after it) live from the ledger."""
    months: dict[date, dict[str, int]] = {}
    for row in LedgerMonth.objects.for_merchant(merchant).values("month", "reason", "points"):
        months.setdefault(row["month"], {})[row["reason"]] = row["points"]
    live = LedgerEntry.objects.for_merchant(merchant)
    if months:
        latest = max(months)
        zone = zoneinfo.ZoneInfo(merchant.timezone)
        after = datetime(latest.year + latest.month // 12, latest.month % 12 + 1, 1, tzinfo=zone)
        live = live.filter(created_at__gte=after)
    rows = (
        live.annotate(month=TruncMonth("created_at", tzinfo=zoneinfo.ZoneInfo(merchant.timezone)))
        .values("month", "reason")
        .annotate(total=Sum("points"))
    )
    for row in rows:
        by_reason = months.setdefault(row["month"].date(), {})
        by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + row["total"]
    months.setdefault(current_month_start(merchant).date(), {})
    return dict(sorted(months.items()))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _members_vs_others(merchant: Merchant) -> dict[str, dict[str, float]]:
    rows = (
        ShopperRollup.objects.for_merchant(merchant)
        .filter(purchase_count__gt=0)
        .values(member=Q(shopper__loyalty_account__isnull=False))
        .annotate(shoppers=Count("pk"), spend=Sum("total_minor"), purchases=Sum("purchase_count"))
    )
    result = {"members": {"shoppers": 0, "spend_per_shopper_minor": 0, "purchases_per_shopper": 0.0}}
    result["others"] = dict(result["members"])
    for row in rows:
        key = "members" if row["member"] else "others"
        shoppers = row["shoppers"]
        result[key] = {
            "shoppers": shoppers,
            "spend_per_shopper_minor": round((row["spend"] or 0) / shoppers),
            "purchases_per_shopper": round((row["purchases"] or 0) / shoppers, 2),
        }
    return result


def loyalty_insights(*, merchant: Merchant) -> LoyaltyInsights | None:
    """The loyalty dashboard: reads accounts (O(members)) and monthly totals, never the whole ledger."""
    program = program_get(merchant=merchant)
    if program is None:
        return None
    program.merchant = merchant
    totals = Account.objects.for_merchant(merchant).aggregate(
        # A merged profile's account stays behind (its points move to the survivor) and an erased one's stays
        # for the ledger: neither is a member any more.
        members=Count("pk", filter=Q(shopper__status=ShopperStatus.ACTIVE)),
        balance=Sum("points_balance", default=0),
        pending=Sum("points_pending", default=0),
    )
    months = _month_totals(merchant)
    trend: list[tuple[date, int, int]] = []
    running = 0
    for month, by_reason in months.items():
        running += sum(by_reason.values())
        trend.append((month, running, points_value_minor(program, running)))
    earned = sum(by_reason.get(reason, 0) for by_reason in months.values() for reason in _EARNED)
    redeemed = sum(
        -by_reason.get(Reason.REDEMPTION, 0) - by_reason.get(Reason.REDEMPTION_REVERSAL, 0)
        for by_reason in months.values()
    )
    expired = sum(-by_reason.get(Reason.EXPIRY, 0) for by_reason in months.values())
    enrolments = _enrolments(merchant)
    channels = sorted({channel for _month, counts in enrolments for channel in counts})
    tiers = [
        (tier.name, tier.members)
        for tier in Tier.objects.for_merchant(merchant).annotate(members=Count("accounts")).order_by("threshold")
    ]
    no_tier = Account.objects.for_merchant(merchant).filter(tier__isnull=True).count()
    return LoyaltyInsights(
        program=program,
        members=totals["members"],
        points_outstanding=totals["balance"],
        points_pending=totals["pending"],
        liability_minor=points_value_minor(program, totals["balance"] + totals["pending"]),
        liability_trend=trend[-12:],
        earned_points=earned,
        redeemed_points=redeemed,
        expired_points=expired,
        redemption_rate=_rate(redeemed, earned),
        breakage_rate=_rate(expired, earned),
        enrolments=enrolments,
        enrolment_channels=channels,
        members_vs_others=_members_vs_others(merchant),
        tiers=[("No tier", no_tier), *tiers],
    )


_EARNED = (Reason.EARN, Reason.RULE, Reason.TIER, Reason.OFFER, Reason.PARTNER, Reason.CLEARING, Reason.REFUND)


def _enrolments(merchant: Merchant) -> list[tuple[date, dict[str, int]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('month', enrolled_at AT TIME ZONE %s)::date, enrolled_via, count(*)"
            "  FROM loyalty_account WHERE merchant_id = %s GROUP BY 1, 2 ORDER BY 1",
            [merchant.timezone, merchant.pk],
        )
        months: dict[date, dict[str, int]] = {}
        for month, channel, count in cursor.fetchall():
            months.setdefault(month, {})[channel or "unknown"] = count
    return list(months.items())[-12:]


def redemption_list(*, merchant: Merchant, limit: int = 20) -> QuerySet[Redemption]:
    return (
        Redemption.objects.for_merchant(merchant)
        .select_related("reward", "account__shopper")
        .filter(status__in=[RedemptionStatus.REDEEMED, RedemptionStatus.REVERSED])
        .order_by("-created_at")[:limit]
    )


@dataclass(frozen=True)
class PointsFlow:
    issued: int  # earned on purchases, rules, tiers, offers and partners
    redeemed: int  # spent on rewards, net of reversed redemptions


def points_by_window(*, merchant: Merchant, windows: dict[str, tuple[datetime, datetime]]) -> dict[str, PointsFlow]:
    """Points issued and redeemed in each [start, end) window, from the ledger, in one query."""
    if not windows:
        return {}
    redemptions = (Reason.REDEMPTION, Reason.REDEMPTION_REVERSAL)
    aggregates: dict[str, Any] = {}
    for key, (start, end) in windows.items():
        inside = Q(created_at__gte=start, created_at__lt=end)
        aggregates[f"{key}__issued"] = Sum("points", filter=inside & Q(reason__in=EARNING_REASONS))
        aggregates[f"{key}__redeemed"] = Sum("points", filter=inside & Q(reason__in=redemptions))
    row = (
        LedgerEntry.objects.for_merchant(merchant)
        .filter(
            created_at__gte=min(start for start, _end in windows.values()),
            created_at__lt=max(end for _start, end in windows.values()),
        )
        .aggregate(**aggregates)
    )
    return {
        key: PointsFlow(issued=int(row[f"{key}__issued"] or 0), redeemed=-int(row[f"{key}__redeemed"] or 0))
        for key in windows
    }
