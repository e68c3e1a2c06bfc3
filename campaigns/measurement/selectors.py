"""Campaign reports: recipients against the holdout, from Assignment rows and real purchases.

Every figure comes from a few set-based queries: one pass over the campaign's assignments joined
to the purchases each shopper made within the attribution window after being assigned, summed
per (group, variant) into n, buyers, Σrevenue, Σrevenue² and Σrevenue³ (see
`core.statistics`): no per-shopper row leaves the database.

The same pass sums each shopper's spend over the LOOKBACK_DAYS before being assigned (for a broadcast,
the 90 days before the campaign started) and its cross sums with the outcomes, so the report can
adjust the lift for what shoppers spent before (CUPED): the same answer from fewer shoppers.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaigns.models import (
    Assignment,
    AssignmentGroup,
    Campaign,
    CampaignKind,
    CampaignRun,
    CampaignStatus,
    FeedbackResponse,
    OfferKind,
    OutboxMessage,
    OutboxStatus,
    Trigger,
    Variant,
)
from campaigns.segments.selectors import audience_queryset
from campaigns.services import guards
from core import statistics
from core.statistics import AdjustedDifference, Difference, GroupSums, PairedSums, SampleHint
from core.templatetags.money import money
from loyalty.models import OfferAward
from merchants.models import Merchant
from profiles.models import ConsentPurpose, MergeEvent, Purchase, Shopper, ShopperRollup, ShopperStatus

# Per assignment: the net revenue of the shopper's purchases in (assigned_at, assigned_at + window], each
# purchase counted for the shopper it belonged to when made (merges since do not move it).
# The purchase_shopper_history index (shopper, -occurred_at) serves each shopper's range.
_PURCHASES_IN_REACH_SQL = f"""
    WITH assigned AS MATERIALIZED (
        SELECT id, shopper_id, campaign_id, "group", variant_id, assigned_at
          FROM {Assignment._meta.db_table}
         WHERE merchant_id = %(merchant)s AND campaign_id = ANY(%(campaigns)s)
    ),
    -- Only purchases between the first assignment and the last one's window end are read, through the
    -- (merchant, occurred_at) index: a broadcast's report reads two weeks of purchases, not the year.
    -- (Bounds per campaign read less for a list of campaigns far apart, but the planner then sizes its
    -- hash join blindly and the one-campaign report, the common case, runs three times slower.)
    bounds AS (
        SELECT MIN(assigned_at) AS first_at, MAX(assigned_at) + make_interval(days => %(days)s) AS last_at,
               MIN(assigned_at) - make_interval(days => %(lookback)s) AS lookback_at
          FROM assigned
    ),
    -- A merge moves the merged profile's purchases to the survivor while its assignments stay, so a
    -- purchase counts for the shopper it belonged to before any merge: the earliest merge still in force
    -- that moved it names that shopper. Merges before the first assignment moved only earlier purchases.
    moved AS (
        SELECT DISTINCT ON (purchase_id) purchase_id, shopper_id
          FROM (
                SELECT merge.id, merge.merged_id AS shopper_id,
                       jsonb_array_elements_text(merge.moved -> 'purchases')::bigint AS purchase_id
                  FROM {MergeEvent._meta.db_table} merge, bounds
                 WHERE merge.merchant_id = %(merchant)s AND merge.undone_at IS NULL
                   AND merge.created_at > bounds.first_at
          ) AS moves
         ORDER BY purchase_id, id
    ),
    in_window AS (
        SELECT COALESCE(moved.shopper_id, p.shopper_id) AS shopper_id, p.occurred_at,
               p.amount_minor - p.refunded_minor AS net
          FROM {Purchase._meta.db_table} p
         CROSS JOIN bounds
          LEFT JOIN moved ON moved.purchase_id = p.id
         WHERE p.merchant_id = %(merchant)s AND p.shopper_id IS NOT NULL
           AND p.occurred_at > bounds.lookback_at AND p.occurred_at <= bounds.last_at
    ),
"""  # noqa: S608 - table names from the models; values are bound

_GROUP_SUMS_SQL = (
    _PURCHASES_IN_REACH_SQL  # noqa: S608 - table names from the models; values are bound
    + """
    per_assignment AS (
        SELECT a.id, a.campaign_id, a."group" AS grp, a.variant_id, a.assigned_at,
               COALESCE(SUM(p.net) FILTER (WHERE p.occurred_at > a.assigned_at), 0)::numeric AS revenue,
               COUNT(*) FILTER (WHERE p.net > 0 AND p.occurred_at > a.assigned_at) AS purchases,
               -- Spend before the campaign reached the shopper: the covariate of the CUPED adjustment.
               COALESCE(SUM(p.net) FILTER (WHERE p.occurred_at <= a.assigned_at), 0)::numeric AS before
          FROM assigned a
          LEFT JOIN in_window p
            ON p.shopper_id = a.shopper_id
           AND p.occurred_at > a.assigned_at - make_interval(days => %(lookback)s)
           AND p.occurred_at <= a.assigned_at + make_interval(days => %(days)s)
         GROUP BY a.id, a.campaign_id, a."group", a.variant_id, a.assigned_at
    ),
    per_shopper AS (
        SELECT *, (purchases > 0)::int AS converted FROM per_assignment
    )
    SELECT campaign_id, grp, variant_id, COUNT(*), SUM(converted),
           SUM(revenue), SUM(revenue * revenue), SUM(revenue * revenue * revenue), SUM(purchases), MIN(assigned_at),
           SUM(before), SUM(before * before), SUM(before * before * before),
           SUM(before * revenue), SUM(before * before * revenue), SUM(before * revenue * revenue),
           SUM(before * converted), SUM(before * before * converted)
      FROM per_shopper
     GROUP BY campaign_id, grp, variant_id
"""
)

# The same sums as the report would have shown at the end of each day since the first assignment
# (day k ends k × 24 hours after it), for the date the confidence sequence first excluded zero. Most
# shoppers buy nothing: they count by the day they entered (a running total over at most a few hundred
# days), and only buyers are summed look by look, so the query grows with purchases × days, not shoppers × days.
_DAILY_SUMS_SQL = (
    _PURCHASES_IN_REACH_SQL  # noqa: S608 - table names from the models; values are bound
    + """
    per_assignment AS (
        SELECT a.id, a.shopper_id, a."group" AS grp, a.assigned_at,
               GREATEST(1, CEIL(EXTRACT(EPOCH FROM a.assigned_at - bounds.first_at) / 86400))::int AS entered_day,
               COALESCE(SUM(p.net), 0)::numeric AS before
          FROM assigned a
         CROSS JOIN bounds
          LEFT JOIN in_window p
            ON p.shopper_id = a.shopper_id
           AND p.occurred_at > a.assigned_at - make_interval(days => %(lookback)s)
           AND p.occurred_at <= a.assigned_at
         GROUP BY a.id, a.shopper_id, a."group", a.assigned_at, bounds.first_at
    ),
    looks AS (
        SELECT day, bounds.first_at + make_interval(days => day) AS look_at
          FROM bounds, generate_series(1, %(looks)s) AS day
    ),
    entered_by_day AS (
        SELECT grp, entered_day, COUNT(*) AS shoppers, SUM(before) AS x, SUM(before * before) AS xx,
               SUM(before * before * before) AS xxx
          FROM per_assignment
         GROUP BY grp, entered_day
    ),
    entered AS (
        SELECT looks.day, e.grp, SUM(e.shoppers) AS shoppers, SUM(e.x) AS x, SUM(e.xx) AS xx, SUM(e.xxx) AS xxx
          FROM looks
          JOIN entered_by_day e ON e.entered_day <= looks.day
         GROUP BY looks.day, e.grp
    ),
    spent AS (
        SELECT looks.day, a.grp, a.before, SUM(p.net)::numeric AS revenue,
               (COUNT(*) FILTER (WHERE p.net > 0) > 0)::int AS converted, COUNT(*) FILTER (WHERE p.net > 0) AS purchases
          FROM per_assignment a
          JOIN in_window p
            ON p.shopper_id = a.shopper_id
           AND p.occurred_at > a.assigned_at
           AND p.occurred_at <= a.assigned_at + make_interval(days => %(days)s)
          JOIN looks ON p.occurred_at <= looks.look_at
         GROUP BY looks.day, a.id, a.grp, a.before
    )
    SELECT e.day, e.grp, NULL, e.shoppers, COALESCE(SUM(s.converted), 0),
           COALESCE(SUM(s.revenue), 0), COALESCE(SUM(s.revenue * s.revenue), 0),
           COALESCE(SUM(s.revenue * s.revenue * s.revenue), 0), COALESCE(SUM(s.purchases), 0), NULL,
           e.x, e.xx, e.xxx,
           COALESCE(SUM(s.before * s.revenue), 0), COALESCE(SUM(s.before * s.before * s.revenue), 0),
           COALESCE(SUM(s.before * s.revenue * s.revenue), 0),
           COALESCE(SUM(s.before * s.converted), 0), COALESCE(SUM(s.before * s.before * s.converted), 0)
      FROM entered e
      LEFT JOIN spent s ON s.day = e.day AND s.grp = e.grp
     GROUP BY e.day, e.grp, e.shoppers, e.x, e.xx, e.xxx
     ORDER BY e.day
"""
)

# Days of spend before each shopper's assignment that the CUPED adjustment learns from.
LOOKBACK_DAYS = 90


# A campaign without a planned end (a triggered one with no end date) is taken to run this many days plus its
# attribution window when its confidence sequence is tuned; looking later only widens the band a little.
OPEN_ENDED_DAYS = 28
# The daily looks read for the date the answer settled stop after this many days.
MOST_DAILY_LOOKS = 400


@dataclass(frozen=True)
class Schedule:
    """When a campaign's measurement started and when its planned end is (None: open-ended): the report judges
    by the confidence sequence before that end and by the fixed interval from then on."""

    started_at: datetime
    planned_end: datetime | None
    period: timedelta

    def elapsed_share(self, at: datetime) -> float:
        """The share of the planned period gone by at `at` (no more than 1 once a planned end has passed)."""
        share = (at - self.started_at) / self.period
        return min(share, 1.0) if self.planned_end is not None else share

    def is_before_end(self, at: datetime) -> bool:
        return self.planned_end is None or at < self.planned_end


def campaign_schedule(campaign: Campaign, first_assigned_at: datetime | None) -> Schedule | None:
    """A broadcast ends one attribution window after it went out; a triggered campaign one window after its end
    date, or never without one. None before anybody entered the campaign."""
    if first_assigned_at is None:
        return None
    window = timedelta(days=campaign.attribution_days)
    if campaign.kind in (CampaignKind.BROADCAST, CampaignKind.GREETING):
        end: datetime | None = first_assigned_at + window
    elif campaign.ends_at is not None:
        end = max(campaign.ends_at, first_assigned_at) + window
    else:
        end = None
    period = end - first_assigned_at if end is not None else timedelta(days=OPEN_ENDED_DAYS) + window
    return Schedule(first_assigned_at, end, period)


@dataclass(frozen=True)
class GroupResult:
    label: str
    revenue: GroupSums  # per shopper: net revenue in minor units
    converted: GroupSums  # per shopper: 1 if they bought within the window
    purchases: int
    first_assigned_at: datetime | None = None
    # The same outcomes with each shopper's spend over the lookback before assignment (the CUPED covariate).
    revenue_paired: PairedSums = field(default_factory=PairedSums.empty)
    converted_paired: PairedSums = field(default_factory=PairedSums.empty)

    @property
    def shoppers(self) -> int:
        return self.revenue.count

    @property
    def conversions(self) -> int:
        return int(self.converted.total)

    @property
    def conversion_rate(self) -> float | None:
        return self.converted.mean

    @property
    def revenue_minor(self) -> int:
        return int(self.revenue.total)

    @property
    def revenue_per_shopper_minor(self) -> int | None:
        mean = self.revenue.mean
        return round(mean) if mean is not None else None


def _empty(label: str) -> GroupResult:
    return GroupResult(label, GroupSums(0, 0, 0, 0, 0), GroupSums(0, 0, 0, 0, 0), 0)


def merge_results(label: str, results: Iterable[GroupResult]) -> GroupResult:
    merged = _empty(label)
    for result in results:
        firsts = [at for at in (merged.first_assigned_at, result.first_assigned_at) if at is not None]
        merged = GroupResult(
            label,
            merged.revenue + result.revenue,
            merged.converted + result.converted,
            merged.purchases + result.purchases,
            min(firsts) if firsts else None,
            merged.revenue_paired + result.revenue_paired,
            merged.converted_paired + result.converted_paired,
        )
    return merged


@dataclass(frozen=True)
class VariantResult:
    key: str
    result: GroupResult
    # Against variant A (revenue per shopper), None for A itself.
    versus_first: Difference | None


@dataclass
class CampaignReport:
    campaign: Campaign
    currency: str
    treatment: GroupResult
    holdout: GroupResult
    # Adjusted for each shopper's spend before the campaign (CUPED), per shopper in minor units / in rate (0..1).
    revenue_lift: Difference | None
    conversion_lift: Difference | None
    variants: list[VariantResult]
    messages_by_status: dict[str, int]
    offer_kind: str | None
    offers_given: int
    redemptions: int
    message_cost_minor: int
    offer_cost_minor: int
    feedback: "FeedbackSummary | None" = None
    notes: list[str] = field(default_factory=list)
    revenue_adjustment: AdjustedDifference | None = None
    schedule: Schedule | None = None
    # Before the planned end the lifts above are the confidence sequence's bands, valid however often the report
    # is opened; from the end on, the fixed 95 % intervals of the planned analysis.
    is_sequential: bool = False
    # The first daily look at which the sequence's revenue band excluded zero; None if it has not.
    settled_at: datetime | None = None

    @property
    def fewer_shoppers_percent(self) -> int | None:
        """How many fewer shoppers (in %) the adjustment needs for the same interval on revenue; None
        when it buys nothing (no spend before the campaign, or none that predicts spend in it)."""
        if self.revenue_adjustment is None or self.revenue_adjustment.fewer_shoppers_percent < 1:
            return None
        return self.revenue_adjustment.fewer_shoppers_percent

    @property
    def lookback_days(self) -> int:
        return LOOKBACK_DAYS

    @property
    def adjustment_sentence(self) -> str:
        fewer = self.fewer_shoppers_percent
        if fewer is None:
            return ""
        return (
            f"Taking into account what each shopper spent in the {LOOKBACK_DAYS} days before the campaign "
            f"reached them narrows the interval: the same answer with {fewer} % fewer shoppers."
        )

    @property
    def messages_sent(self) -> int:
        return self.messages_by_status.get(OutboxStatus.SENT, 0)

    @property
    def message_statuses(self) -> list[tuple[str, int]]:
        """(what happened, how many), in the outbox's order of statuses."""
        return [
            (str(status.label), self.messages_by_status[status])
            for status in OutboxStatus
            if self.messages_by_status.get(status)
        ]

    @property
    def redemption_rate(self) -> float | None:
        return self.redemptions / self.offers_given if self.offers_given else None

    @property
    def cost_minor(self) -> int:
        return self.message_cost_minor + self.offer_cost_minor

    @property
    def incremental_revenue(self) -> Difference | None:
        """(treatment − holdout revenue per shopper) × shoppers in the treatment group."""
        if self.revenue_lift is None:
            return None
        return self.revenue_lift.scaled(self.treatment.shoppers)

    @property
    def incremental_revenue_minor(self) -> int | None:
        incremental = self.incremental_revenue
        return round(incremental.estimate) if incremental is not None else None

    @property
    def roi(self) -> Difference | None:
        """(incremental revenue − cost) / cost, with the interval of the incremental revenue carried over
        (cost is known, not estimated)."""
        incremental = self.incremental_revenue
        if incremental is None or self.cost_minor <= 0:
            return None
        cost = self.cost_minor
        return Difference(
            (incremental.estimate - cost) / cost,
            (incremental.low - cost) / cost,
            (incremental.high - cost) / cost,
            incremental.standard_error / cost,
            incremental.confidence,
        )

    @property
    def is_measurable(self) -> bool:
        """Both groups have enough buyers, and variation, for the lift to be judged."""
        return self.revenue_lift is not None

    @property
    def minimum_buyers(self) -> int:
        return statistics.MINIMUM_BUYERS

    @property
    def shoppers_to_settle(self) -> int | None:
        """About how many more shoppers (split as now) would let the report judge the lift."""
        return statistics.shoppers_to_settle(self.treatment.revenue, self.holdout.revenue)

    @property
    def days_to_settle(self) -> int | None:
        """At the rate shoppers have entered so far, the days until `shoppers_to_settle` more have; None for
        a campaign that takes no more shoppers (a one-off broadcast, or one no longer active)."""
        more = self.shoppers_to_settle
        firsts = [at for at in (self.treatment.first_assigned_at, self.holdout.first_assigned_at) if at is not None]
        if (
            not more
            or not firsts
            or self.campaign.kind == CampaignKind.BROADCAST
            or self.campaign.status != CampaignStatus.ACTIVE
        ):
            return None
        days = max(1.0, (timezone.now() - min(firsts)).total_seconds() / 86400)
        per_day = (self.treatment.shoppers + self.holdout.shoppers) / days
        return max(1, round(more / per_day))

    @property
    def interval_name(self) -> str:
        return "95 % always-valid interval" if self.is_sequential else "95 % interval"

    @property
    def planned_end(self) -> datetime | None:
        return self.schedule.planned_end if self.schedule is not None else None

    def _not_enough_data(self) -> str:
        counts = (
            f"{self.treatment.conversions:,} of {self.treatment.shoppers:,} messaged and "
            f"{self.holdout.conversions:,} of {self.holdout.shoppers:,} held-out shoppers have bought so far"
        )
        rule = f"the lift can be judged once each group has {statistics.MINIMUM_BUYERS} buyers"
        more = self.shoppers_to_settle
        if more is None:
            shoppers = self.treatment.shoppers + self.holdout.shoppers
            return f"Not enough data yet: none of the {shoppers:,} shoppers has bought so far; {rule}."
        if more == 0:
            return (
                f"Not enough data yet: {counts}, but their spend does not vary enough to measure; "
                "more shoppers will settle it."
            )
        days = self.days_to_settle
        when = (
            f", about {days:,} more day{'s' if days != 1 else ''} at the rate shoppers have entered so far"
            if days is not None
            else " (a larger audience or holdout next time)"
        )
        return f"Not enough data yet: {counts}; {rule}: about {more:,} more shoppers would settle it{when}."

    @property
    def sentence(self) -> str:
        """Whether the lift is significant, in words a merchant can act on."""
        if self.treatment.shoppers == 0 and self.holdout.shoppers == 0:
            return "No shoppers have entered this campaign yet: results appear as they do."
        if self.holdout.shoppers == 0:
            return "No shoppers were held out, so this campaign's lift cannot be measured."
        if self.revenue_lift is None:
            return self._not_enough_data()
        lift = self.revenue_lift
        per_shopper = self._money(lift.estimate)
        interval = f"{self.interval_name} {self._money(lift.low)} to {self._money(lift.high)} per shopper"
        if self.is_sequential:
            return self._sequential_sentence(lift, per_shopper, interval)
        if lift.is_significant and lift.estimate > 0:
            return (
                f"The lift is significant: shoppers who got the message spent {per_shopper} more each than the "
                f"held-out group ({interval})."
            )
        if lift.is_significant:
            return (
                f"Shoppers who got the message spent significantly less: {self._money(-lift.estimate)} less each "
                f"than the held-out group ({interval})."
            )
        return (
            f"The lift is not significant: the difference of {per_shopper} per shopper could be chance "
            f"({interval}, which includes zero)."
        )

    def _sequential_sentence(self, lift: Difference, per_shopper: str, interval: str) -> str:
        if lift.is_significant and lift.estimate > 0:
            return (
                f"The lift is settled, however often this report is opened: shoppers who got the message have "
                f"spent {per_shopper} more each so far than the held-out group ({interval})."
            )
        if lift.is_significant:
            return (
                f"It is settled that shoppers who got the message spent less: {self._money(-lift.estimate)} less "
                f"each so far than the held-out group ({interval})."
            )
        return (
            f"Not settled yet: the difference of {per_shopper} per shopper so far could be chance ({interval}, "
            "which includes zero). The interval allows for this report being opened every day, and narrows as "
            "purchases come in."
        )

    def _money(self, minor: float) -> str:
        return money(round(minor), self.currency)


# Feedback


@dataclass(frozen=True)
class FeedbackSummary:
    responses: int
    average: float | None
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> int | None:
        """% promoters (9–10) − % detractors (0–6), from −100 to 100."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses)


_FEEDBACK_FIGURES = {
    "count": Count("id"),
    "total": Sum("score"),
    "promoters": Count("id", filter=Q(score__gte=9)),
    "detractors": Count("id", filter=Q(score__lte=6)),
}


def feedback_figures(row: dict[str, Any]) -> FeedbackSummary:
    """A summary from one row aggregated with `_FEEDBACK_FIGURES` (whole, or per group)."""
    count = row["count"] or 0
    return FeedbackSummary(
        responses=count,
        average=(row["total"] / count) if count else None,
        promoters=row["promoters"],
        passives=count - row["promoters"] - row["detractors"],
        detractors=row["detractors"],
    )


def feedback_summarize(responses: QuerySet[FeedbackResponse]) -> FeedbackSummary:
    return feedback_figures(responses.aggregate(**_FEEDBACK_FIGURES))


def feedback_summarize_by(responses: QuerySet[FeedbackResponse], field: str) -> list[tuple[Any, FeedbackSummary]]:
    """One summary per value of `field`, in one grouped query."""
    rows = responses.order_by().values(field).annotate(**_FEEDBACK_FIGURES)
    return [(row[field], feedback_figures(row)) for row in rows]


# The queries


def _group_rows(*, merchant: Merchant, campaigns: list[Campaign]) -> dict[int, list[tuple]]:  # type: ignore[type-arg]
    """campaign id → [(group, variant id, n, converted, Σrevenue, Σrevenue², Σrevenue³, purchases, first assigned,
    Σx, Σx², Σx³, Σx·revenue, Σx²·revenue, Σx·revenue², Σx·converted, Σx²·converted)], x the spend before."""
    rows: dict[int, list[tuple]] = {campaign.pk: [] for campaign in campaigns}  # type: ignore[type-arg]
    by_window: dict[int, list[int]] = {}
    for campaign in campaigns:
        by_window.setdefault(campaign.attribution_days, []).append(campaign.pk)
    with connection.cursor() as cursor:
        for days, ids in by_window.items():
            cursor.execute(
                _GROUP_SUMS_SQL, {"merchant": merchant.pk, "campaigns": ids, "days": days, "lookback": LOOKBACK_DAYS}
            )
            for campaign_id, *row in cursor.fetchall():
                rows[campaign_id].append(tuple(row))
    return rows


def _result(label: str, rows: list[tuple]) -> GroupResult:  # type: ignore[type-arg]
    return merge_results(
        label,
        (group_result_of_row(label, row) for row in rows),
    )


def group_result_of_row(label: str, row: tuple) -> GroupResult:  # type: ignore[type-arg]
    (_group, _variant, n, converted, revenue, squares, cubes, purchases, first_assigned_at,
     x, xx, xxx, x_revenue, xx_revenue, x_revenue_revenue, x_converted, xx_converted) = row  # fmt: skip
    revenue_sums = GroupSums(int(n), int(converted), int(revenue), Decimal(squares), Decimal(cubes))
    converted_sums = GroupSums.conversions(int(n), int(converted))
    return GroupResult(
        label,
        revenue_sums,
        converted_sums,
        int(purchases),
        first_assigned_at,
        PairedSums(revenue_sums, Decimal(x), Decimal(xx), Decimal(xxx), x_revenue, xx_revenue, x_revenue_revenue),
        PairedSums(converted_sums, Decimal(x), Decimal(xx), Decimal(xxx), x_converted, xx_converted, x_converted),
    )


def _groups(rows: list[tuple]) -> tuple[GroupResult, GroupResult]:  # type: ignore[type-arg]
    treatment = _result("Messaged", [row for row in rows if row[0] == AssignmentGroup.TREATMENT])
    holdout = _result("Held out", [row for row in rows if row[0] == AssignmentGroup.HOLDOUT])
    return treatment, holdout


def _offer_figures(campaign: Campaign) -> tuple[str | None, int, int, int]:
    """(offer kind, offers given, redemptions, offer cost in minor units)."""
    offer = campaign.offer
    if offer is None:
        return None, 0, 0, 0
    treated = Assignment.objects.filter(
        merchant_id=campaign.merchant_id, campaign=campaign, group=AssignmentGroup.TREATMENT
    )
    if offer.kind == OfferKind.CARD_LINKED:
        given = OutboxMessage.objects.filter(
            merchant_id=campaign.merchant_id, campaign=campaign, status=OutboxStatus.SENT
        ).count()
        # Card-linked offers apply themselves to a linked-card purchase: the award is the redemption.
        awards = OfferAward.objects.filter(
            merchant_id=campaign.merchant_id,
            offer_id=offer.card_linked_offer_id or 0,
            shopper_id__in=treated.values("shopper_id"),
        ).aggregate(count=Count("id"), cost=Sum("cost_minor"))
        return offer.kind, given, awards["count"] or 0, int(awards["cost"] or 0)
    # Driven from the campaign's messages (its unique key leads with the campaign), then each coupon by id.
    messages = OutboxMessage.objects.filter(
        merchant_id=campaign.merchant_id, campaign=campaign, coupon__isnull=False, coupon__offer=offer
    )
    redeemed_filter = Q(coupon__redeemed_at__isnull=False)
    figures = messages.aggregate(
        given=Count("coupon_id", distinct=True),
        redeemed=Count("coupon_id", distinct=True, filter=redeemed_filter),
        purchase_net=Sum(
            F("coupon__purchase__amount_minor") - F("coupon__purchase__refunded_minor"), filter=redeemed_filter
        ),
    )
    redeemed = figures["redeemed"] or 0
    cost = redeemed * offer.amount_off_minor + round((figures["purchase_net"] or 0) * offer.percent_off / 100)
    return offer.kind, figures["given"] or 0, redeemed, cost


def _first_assigned_at(*groups: GroupResult) -> datetime | None:
    firsts = [group.first_assigned_at for group in groups if group.first_assigned_at is not None]
    return min(firsts) if firsts else None


def judged_interval(adjusted: AdjustedDifference | None, schedule: Schedule | None, at: datetime) -> Difference | None:
    """The interval the report judges by at `at`: the confidence sequence's band before the planned end, the
    fixed interval of the planned analysis from then on (see `statistics.always_valid`)."""
    if adjusted is None:
        return None
    if schedule is None or not schedule.is_before_end(at):
        return adjusted.difference
    return statistics.always_valid(adjusted.difference, elapsed_share=schedule.elapsed_share(at))


def _settled_at(
    *,
    merchant: Merchant,
    campaign: Campaign,
    schedule: Schedule | None,
    now: datetime,
    latest: AdjustedDifference | None,
) -> datetime | None:
    """The end of the first day (24 hours from the first assignment) at which the confidence sequence's revenue
    band excluded zero, up to the planned end; the latest look (now, or the planned end) if only it does."""
    if schedule is None:
        return None
    until = min(now, schedule.planned_end) if schedule.planned_end is not None else now
    looks = min(MOST_DAILY_LOOKS, int((until - schedule.started_at) / timedelta(days=1)))
    if looks >= 1:
        by_day: dict[int, list[tuple]] = {}  # type: ignore[type-arg]
        with connection.cursor() as cursor:
            cursor.execute(
                _DAILY_SUMS_SQL,
                {
                    "merchant": merchant.pk,
                    "campaigns": [campaign.pk],
                    "days": campaign.attribution_days,
                    "lookback": LOOKBACK_DAYS,
                    "looks": looks,
                },
            )
            for day, *row in cursor.fetchall():
                by_day.setdefault(day, []).append(tuple(row))
        for day in sorted(by_day):
            treatment, holdout = _groups(by_day[day])
            adjusted = statistics.adjusted_difference_of_means(treatment.revenue_paired, holdout.revenue_paired)
            look_at = schedule.started_at + timedelta(days=day)
            band = _band(adjusted, schedule, look_at)
            if band is not None and band.is_significant:
                return look_at
    band = _band(latest, schedule, until)
    return until if band is not None and band.is_significant else None


def _band(adjusted: AdjustedDifference | None, schedule: Schedule, at: datetime) -> Difference | None:
    if adjusted is None:
        return None
    return statistics.always_valid(adjusted.difference, elapsed_share=schedule.elapsed_share(at))


def campaign_report(*, merchant: Merchant, campaign: Campaign) -> CampaignReport:
    """Everything the report page shows. `campaign` must be the merchant's (fetch it with campaign_get)."""
    if campaign.merchant_id != merchant.pk:
        raise ValueError("The campaign belongs to another merchant.")
    rows = _group_rows(merchant=merchant, campaigns=[campaign])[campaign.pk]
    treatment, holdout = _groups(rows)
    variant_keys = dict(Variant.objects.filter(merchant=merchant, campaign=campaign).values_list("pk", "key"))
    per_variant: dict[str, GroupResult] = {}
    for key in sorted(set(variant_keys.values())):
        per_variant[key] = _result(
            f"Variant {key}",
            [row for row in rows if row[0] == AssignmentGroup.TREATMENT and variant_keys.get(row[1]) == key],
        )
    variants: list[VariantResult] = []
    first: GroupResult | None = None
    for key, result in per_variant.items():
        versus = statistics.difference_of_means(result.revenue, first.revenue) if first is not None else None
        variants.append(VariantResult(key, result, versus))
        first = first or result
    statuses = dict(
        OutboxMessage.objects.filter(merchant=merchant, campaign=campaign)
        .values_list("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
    offer_kind, given, redemptions, offer_cost = _offer_figures(campaign)
    feedback = None
    if campaign.trigger == Trigger.FEEDBACK_REQUEST:
        feedback = feedback_summarize(FeedbackResponse.objects.for_merchant(merchant).filter(campaign=campaign))
    revenue_adjustment = statistics.adjusted_difference_of_means(treatment.revenue_paired, holdout.revenue_paired)
    conversion_adjustment = statistics.adjusted_difference_of_means(
        treatment.converted_paired, holdout.converted_paired
    )
    now = timezone.now()
    schedule = campaign_schedule(campaign, _first_assigned_at(treatment, holdout))
    return CampaignReport(
        campaign=campaign,
        currency=merchant.currency,
        treatment=treatment,
        holdout=holdout,
        revenue_lift=judged_interval(revenue_adjustment, schedule, now),
        conversion_lift=judged_interval(conversion_adjustment, schedule, now),
        revenue_adjustment=revenue_adjustment,
        schedule=schedule,
        is_sequential=schedule is not None and schedule.is_before_end(now),
        settled_at=_settled_at(
            merchant=merchant, campaign=campaign, schedule=schedule, now=now, latest=revenue_adjustment
        ),
        variants=variants if len(variants) > 1 else [],
        messages_by_status=statuses,
        offer_kind=offer_kind,
        offers_given=given,
        redemptions=redemptions,
        message_cost_minor=statuses.get(OutboxStatus.SENT, 0) * campaign.cost_per_message_minor,
        offer_cost_minor=offer_cost,
        feedback=feedback,
    )


@dataclass(frozen=True)
class CampaignHeadline:
    campaign: Campaign
    sent: int
    conversions: int
    incremental_revenue_minor: int | None
    roi: float | None
    is_significant: bool | None


def campaign_headlines(
    *, merchant: Merchant, campaigns: list[Campaign], with_cost: bool = True
) -> dict[int, CampaignHeadline]:
    """The list page's columns for many campaigns, in one grouped query per attribution window.

    `with_cost=False` leaves out the return on spend (roi None), and with it the few queries each campaign
    with an offer costs: the home page shows the lift only, in a fixed number of queries.
    """
    if not campaigns:
        return {}
    rows = _group_rows(merchant=merchant, campaigns=campaigns)
    sent = dict(
        OutboxMessage.objects.filter(merchant=merchant, campaign__in=campaigns, status=OutboxStatus.SENT)
        .values_list("campaign_id")
        .annotate(count=Count("id"))
        .values_list("campaign_id", "count")
    )
    headlines = {}
    now = timezone.now()
    for campaign in campaigns:
        treatment, holdout = _groups(rows[campaign.pk])
        # The report's figure: adjusted for spend before the campaign, judged by the sequence before the planned end.
        adjusted = statistics.adjusted_difference_of_means(treatment.revenue_paired, holdout.revenue_paired)
        lift = judged_interval(adjusted, campaign_schedule(campaign, _first_assigned_at(treatment, holdout)), now)
        incremental = lift.scaled(treatment.shoppers) if lift is not None else None
        # The same cost as the report's: messages, and the offer's cost (a few queries for a campaign with one).
        cost = sent.get(campaign.pk, 0) * campaign.cost_per_message_minor if with_cost else 0
        if with_cost and campaign.offer_id is not None:
            cost += _offer_figures(campaign)[3]
        headlines[campaign.pk] = CampaignHeadline(
            campaign=campaign,
            sent=sent.get(campaign.pk, 0),
            conversions=treatment.conversions,
            incremental_revenue_minor=round(incremental.estimate) if incremental is not None else None,
            roi=(incremental.estimate - cost) / cost if incremental is not None and cost > 0 else None,
            is_significant=lift.is_significant if lift is not None else None,
        )
    return headlines


# Before launch


def baseline_conversion_rate(*, merchant: Merchant, days: int, at: datetime | None = None) -> float:
    """The share of the merchant's active shoppers who bought within the last `days` (from the
    per-shopper rollup): what a held-out group is expected to do in an attribution window."""
    at = at or timezone.now()
    figures = ShopperRollup.objects.filter(merchant=merchant, shopper__status=ShopperStatus.ACTIVE).aggregate(
        shoppers=Count("shopper_id"),
        recent=Count("shopper_id", filter=Q(last_purchase_at__gt=at - timedelta(days=days))),
    )
    total = Shopper.objects.for_merchant(merchant).filter(status=ShopperStatus.ACTIVE).count()
    if not total:
        return 0.1
    rate = figures["recent"] / total
    return rate if rate > 0 else 0.1


def sample_hint(*, merchant: Merchant, audience: int, holdout_percent: int, attribution_days: int) -> SampleHint:
    return statistics.sample_hint(
        audience=audience,
        holdout_percent=holdout_percent,
        baseline_rate=baseline_conversion_rate(merchant=merchant, days=attribution_days),
    )


def campaigns_without_reachable_audience(*, merchant: Merchant, campaigns: list[Campaign]) -> list[Campaign]:
    """The campaigns among these that nobody in their audience could be sent now (no consent for the
    campaign's channel and purpose, or no confirmed contact), asked in one query whatever their number.

    Each campaign's segment and snapshot must be loaded with it (campaign_list does).
    """
    if not campaigns:
        return []
    checks = {}
    for campaign in campaigns:
        purpose = ConsentPurpose.FEEDBACK if campaign.trigger == Trigger.FEEDBACK_REQUEST else ConsentPurpose.MARKETING
        audience = audience_queryset(merchant=merchant, segment=campaign.segment, snapshot=campaign.snapshot)
        reachable = guards.reachable(audience, channel=campaign.channel, purpose=purpose)
        checks[f"campaign_{campaign.pk}"] = Exists(reachable.values("pk")[:1])
    row = Merchant.objects.filter(pk=merchant.pk).annotate(**checks).values_list(*checks).get()
    reachable_now = dict(zip(checks, row, strict=True))
    return [campaign for campaign in campaigns if not reachable_now[f"campaign_{campaign.pk}"]]


# Sending


@dataclass(frozen=True)
class BroadcastProgress:
    """Where the latest run of a broadcast stands: what its messages became, and how many are still to go."""

    started_at: datetime
    audience: int  # reachable shoppers when the run started, holdout included
    held_out: int
    sent: int
    suppressed: int
    failed: int  # failed or bounced
    remaining: int  # messages waiting for the channel, and shoppers whose messages are not written yet
    is_complete: bool


_IN_FLIGHT = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.HANDING)


def broadcast_progress(*, merchant: Merchant, campaign: Campaign) -> BroadcastProgress | None:
    """The latest run of the broadcast (None before its first run), in three queries whatever its size."""
    run = CampaignRun.objects.for_merchant(merchant).filter(campaign=campaign).order_by("-started_at", "-pk").first()
    if run is None:
        return None
    assigned = Assignment.objects.for_merchant(merchant).filter(campaign=campaign, dedupe_key=run.dedupe_key)
    groups = assigned.aggregate(total=Count("pk"), held_out=Count("pk", filter=Q(group=AssignmentGroup.HOLDOUT)))
    statuses = dict(
        OutboxMessage.objects.for_merchant(merchant)
        .filter(campaign=campaign, dedupe_key=run.dedupe_key)
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    in_flight = sum(statuses.get(status, 0) for status in _IN_FLIGHT)
    # Until every chunk is written, the shoppers not assigned yet are still to go (a shopper who withdrew
    # consent meanwhile is dropped when the chunk is written, so the figure settles at the end).
    unwritten = 0 if run.finished_at is not None else max(0, run.audience_count - groups["total"])
    return BroadcastProgress(
        started_at=run.started_at,
        audience=run.audience_count,
        held_out=groups["held_out"],
        sent=statuses.get(OutboxStatus.SENT, 0),
        suppressed=statuses.get(OutboxStatus.SUPPRESSED, 0),
        failed=statuses.get(OutboxStatus.FAILED, 0) + statuses.get(OutboxStatus.BOUNCED, 0),
        remaining=in_flight + unwritten,
        is_complete=run.finished_at is not None and in_flight == 0,
    )


# Campaigns as the staff pages list and open them


def campaign_get(*, merchant: Merchant, campaign_id: int) -> Campaign:
    """The merchant's campaign; 404 for anyone else's."""
    return get_object_or_404(
        Campaign.objects.for_merchant(merchant).select_related(
            "merchant", "segment", "snapshot", "store", "offer", "offer__card_linked_offer"
        ),
        pk=campaign_id,
    )


def campaign_list(*, merchant: Merchant, status: str | None = None) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.for_merchant(merchant).select_related("segment", "snapshot", "offer")
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns.order_by("-created_at")


def shopper_messages(*, merchant: Merchant, shopper: Shopper, limit: int = 50) -> QuerySet[OutboxMessage]:
    """What the shopper was sent (or what a guard rail stopped), newest first."""
    return (
        OutboxMessage.objects.for_merchant(merchant)
        .filter(shopper=shopper)
        .select_related("campaign", "variant", "coupon")
        .order_by("-created_at")[:limit]
    )


def shopper_assignments(*, merchant: Merchant, shopper: Shopper, limit: int = 50) -> QuerySet[Assignment]:
    return (
        Assignment.objects.for_merchant(merchant)
        .filter(shopper=shopper)
        .select_related("campaign", "variant")
        .order_by("-assigned_at")[:limit]
    )
