"""Who a segment reaches: audiences, their counts, and the rows of an export.

Audiences hold only the merchant's active shoppers (never erased or merged
profiles). A dynamic segment is its rules compiled into one query at the moment
of use; a snapshot is the list of shoppers frozen when it was taken.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaigns.models import Segment, SegmentSnapshot
from campaigns.models.segments import ShopperScoreRefresh
from campaigns.segments.compiler import rules_condition
from core.errors import NotFoundError
from insights.models import InsightSnapshot
from merchants.models import Merchant
from profiles.models import ContactKind, ContactPoint, Shopper, ShopperStatus

# Memory for the hash joins of one audience statement (per process of a parallel plan).
AUDIENCE_WORK_MEM = "64MB"


def active_shoppers(*, merchant: Merchant) -> QuerySet[Shopper]:
    return Shopper.objects.filter(merchant=merchant, status=ShopperStatus.ACTIVE)


def audience_queryset(
    *, merchant: Merchant, segment: Segment | None = None, snapshot: SegmentSnapshot | None = None
) -> QuerySet[Shopper]:
    """The merchant's active shoppers in the segment (or snapshot); every active shopper when neither is given.

    Another merchant's segment or snapshot is a NotFoundError, never an audience.
    """
    shoppers = active_shoppers(merchant=merchant)
    if snapshot is not None:
        if snapshot.merchant_id != merchant.pk:
            raise NotFoundError("No such snapshot.")
        return shoppers.filter(pk__in=snapshot.members.values("shopper_id"))
    if segment is not None:
        if segment.merchant_id != merchant.pk:
            raise NotFoundError("No such segment.")
        return rules_audience(merchant=merchant, rules=segment.rules)
    return shoppers


def rules_audience(*, merchant: Merchant, rules: dict[str, Any], now: datetime | None = None) -> QuerySet[Shopper]:
    """Active shoppers matching normalised rules (see compiler.rules_check), as one query."""
    condition = rules_condition(merchant=merchant, rules=rules, now=now or timezone.now())
    return active_shoppers(merchant=merchant).filter(condition)


def shopper_in_audience(
    *, merchant: Merchant, shopper_id: int, segment: Segment | None = None, snapshot: SegmentSnapshot | None = None
) -> bool:
    """Whether one shopper is in the audience: the rules narrowed to that shopper, a few index lookups."""
    if segment is not None and snapshot is None:
        if segment.merchant_id != merchant.pk:
            raise NotFoundError("No such segment.")
        condition = rules_condition(merchant=merchant, rules=segment.rules, now=timezone.now(), shopper_id=shopper_id)
        return active_shoppers(merchant=merchant).filter(condition, pk=shopper_id).exists()
    return audience_queryset(merchant=merchant, segment=segment, snapshot=snapshot).filter(pk=shopper_id).exists()


@contextmanager
def audience_statement() -> Iterator[None]:
    """Settings for one statement over every shopper of a large merchant (a count, a snapshot), in a transaction.

    JIT compilation costs 100–200 ms on these plans, which run once and in well under a second
    without it; the hash joins over a million shoppers (the consent ledger's anti-join above all) spill
    to disk at the default work_mem. Measured in benchmarks/segments.py.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"SET LOCAL work_mem = '{AUDIENCE_WORK_MEM}'")
        yield


def audience_count(*, merchant: Merchant, rules: dict[str, Any], now: datetime | None = None) -> int:
    """How many active shoppers the rules reach: one query."""
    with audience_statement():
        return rules_audience(merchant=merchant, rules=rules, now=now).count()


# Pages


def segment_list(*, merchant: Merchant, now: datetime | None = None) -> list[Segment]:
    """The merchant's segments by name, each with `audience` (its live count): one query for all the counts."""
    segments = list(Segment.objects.for_merchant(merchant).order_by("name", "pk"))
    if not segments:
        return segments
    now = now or timezone.now()
    counts = active_shoppers(merchant=merchant).aggregate(
        **{
            f"segment_{segment.pk}": Count(
                "pk", filter=rules_condition(merchant=merchant, rules=segment.rules, now=now)
            )
            for segment in segments
        }
    )
    for segment in segments:
        segment.audience = counts[f"segment_{segment.pk}"]  # type: ignore[attr-defined]
    return segments


def segment_get(*, merchant: Merchant, segment_id: int) -> Segment:
    return get_object_or_404(Segment.objects.for_merchant(merchant), pk=segment_id)


def snapshot_list(*, merchant: Merchant, segment: Segment) -> QuerySet[SegmentSnapshot]:
    return (
        SegmentSnapshot.objects.for_merchant(merchant)
        .filter(segment=segment)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def snapshot_get(*, merchant: Merchant, snapshot_id: int) -> SegmentSnapshot:
    return get_object_or_404(SegmentSnapshot.objects.for_merchant(merchant).select_related("segment"), pk=snapshot_id)


def category_suggestions(*, merchant: Merchant) -> list[str]:
    """Categories sold in the last 90 days, from the insight snapshot (one row; nothing when not computed yet)."""
    snapshot = InsightSnapshot.objects.for_merchant(merchant).filter(section="products").first()
    by_scope = (snapshot.data.get("categories") or {}) if snapshot else {}
    return sorted({row["category"] for rows in by_scope.values() for row in rows if row.get("category")})


def scores_as_of(*, merchant: Merchant) -> datetime | None:
    """How fresh the scores are: the last incremental pass, or the last sweep when later (None: never computed)."""
    refresh = ShopperScoreRefresh.objects.for_merchant(merchant).first()
    if refresh is None:
        return None
    return max(moment for moment in (refresh.refreshed_at, refresh.updated_at) if moment is not None)


def scores_sweep_progress(*, merchant: Merchant) -> float | None:
    """How far a sweep under way has come, 0–1 (None: no sweep running)."""
    refresh = ShopperScoreRefresh.objects.for_merchant(merchant).first()
    if refresh is None or refresh.sweep_started_at is None:
        return None
    return min(1.0, refresh.scored_shoppers / max(1, refresh.cuts.get("scored", 0)))


# Export

EXPORT_HEADER = (
    "public_id",
    "name",
    "email",
    "phone",
    "language",
    "lifecycle_stage",
    "last_purchase_at",
    "total_spend_minor",
    "currency",
)


def _contact(kind: str) -> Subquery:
    # The verified address first, then the oldest one given.
    return Subquery(
        ContactPoint.objects.filter(shopper=OuterRef("pk"), kind=kind)
        .order_by("-is_verified", "pk")
        .values("value")[:1]
    )


def export_rows(*, merchant: Merchant, audience: QuerySet[Shopper]) -> QuerySet[Any]:
    """The export's columns for each shopper of the audience, in id order (stream it with `.iterator()`)."""
    return (
        audience.filter(merchant=merchant)
        .annotate(
            email=_contact(ContactKind.EMAIL),
            phone=_contact(ContactKind.PHONE),
            stage=F("score__lifecycle_stage"),
            last_purchase_at=F("rollup__last_purchase_at"),
            total_minor=F("rollup__total_minor"),
        )
        .order_by("pk")
        .values_list(
            "public_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "language",
            "stage",
            "last_purchase_at",
            "total_minor",
        )
    )
