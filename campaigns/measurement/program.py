"""Program lift: the shoppers held out of all marketing for a quarter against the rest (see
campaigns.models.holdouts), on spend per shopper and conversion, with the campaign report's interval.

Everything a quarter's draw holds is compared, whatever campaigns ran: the pooled lift of the whole
program. Spend is net of refunds, from the draw until the quarter's end (or now); a purchase counts for the
shopper it belonged to when made (merges since do not move it). The comparison is adjusted for each
shopper's spend over the 90 days before the draw (CUPED, as the campaign report) and, before the quarter
ends, judged by the confidence sequence (valid however often the page is opened).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaigns.measurement.selectors import GroupResult, Schedule, group_result_of_row, judged_interval, merge_results
from campaigns.models import ProgramHoldoutDraw, ProgramHoldoutMember
from core import statistics
from core.statistics import AdjustedDifference, Difference
from core.templatetags.money import money
from merchants.models import Merchant
from profiles.models import MergeEvent, Purchase

_PROGRAM_SUMS_SQL = f"""
    WITH moved AS (
        SELECT DISTINCT ON (purchase_id) purchase_id, shopper_id
          FROM (
                SELECT merge.id, merge.merged_id AS shopper_id,
                       jsonb_array_elements_text(merge.moved -> 'purchases')::bigint AS purchase_id
                  FROM {MergeEvent._meta.db_table} merge
                 WHERE merge.merchant_id = %(merchant)s AND merge.undone_at IS NULL AND merge.created_at > %(starts_at)s
          ) AS moves
         ORDER BY purchase_id, id
    ),
    spent AS (
        SELECT COALESCE(moved.shopper_id, p.shopper_id) AS shopper_id, SUM(p.amount_minor - p.refunded_minor) AS net,
               COUNT(*) FILTER (WHERE p.amount_minor - p.refunded_minor > 0) AS purchases
          FROM {Purchase._meta.db_table} p
          LEFT JOIN moved ON moved.purchase_id = p.id
         WHERE p.merchant_id = %(merchant)s AND p.shopper_id IS NOT NULL
           AND p.occurred_at > %(starts_at)s AND p.occurred_at <= %(until)s
         GROUP BY 1
    ),
    per_member AS (
        SELECT member.is_held_out, member.spend_before_minor::numeric AS before,
               COALESCE(spent.net, 0)::numeric AS revenue, COALESCE(spent.purchases, 0) AS purchases,
               (COALESCE(spent.purchases, 0) > 0)::int AS converted
          FROM {ProgramHoldoutMember._meta.db_table} member
          LEFT JOIN spent ON spent.shopper_id = member.shopper_id
         WHERE member.merchant_id = %(merchant)s AND member.draw_id = %(draw)s
    )
    SELECT is_held_out, NULL, COUNT(*), SUM(converted),
           SUM(revenue), SUM(revenue * revenue), SUM(revenue * revenue * revenue), SUM(purchases), NULL,
           SUM(before), SUM(before * before), SUM(before * before * before),
           SUM(before * revenue), SUM(before * before * revenue), SUM(before * revenue * revenue),
           SUM(before * converted), SUM(before * before * converted)
      FROM per_member
     GROUP BY is_held_out
"""  # noqa: S608 - table names from the models; values are bound


@dataclass
class ProgramLift:
    draw: ProgramHoldoutDraw
    currency: str
    marketed: GroupResult
    held_out: GroupResult
    until: datetime
    is_sequential: bool
    revenue_lift: Difference | None  # per shopper, minor units
    conversion_lift: Difference | None  # rate, 0..1
    revenue_adjustment: AdjustedDifference | None

    @property
    def interval_name(self) -> str:
        return "95 % always-valid interval" if self.is_sequential else "95 % interval"

    @property
    def incremental_revenue(self) -> Difference | None:
        """The lift per shopper × the marketed shoppers: what the program added in the quarter so far."""
        return self.revenue_lift.scaled(self.marketed.shoppers) if self.revenue_lift is not None else None

    @property
    def shoppers_to_settle(self) -> int | None:
        return statistics.shoppers_to_settle(self.marketed.revenue, self.held_out.revenue)

    @property
    def sentence(self) -> str:
        if self.held_out.shoppers == 0:
            return "Nobody was held out this quarter, so the program's lift cannot be measured."
        lift = self.revenue_lift
        if lift is None:
            rule = f"each group needs {statistics.MINIMUM_BUYERS} shoppers who bought"
            return (
                f"Not enough data yet: {self.marketed.conversions:,} of {self.marketed.shoppers:,} marketed and "
                f"{self.held_out.conversions:,} of {self.held_out.shoppers:,} held-out shoppers have bought since the "
                f"draw; {rule}."
            )
        interval = f"{self.interval_name} {self._money(lift.low)} to {self._money(lift.high)} per shopper"
        per_shopper = self._money(abs(lift.estimate))
        if lift.is_significant and lift.estimate > 0:
            return (
                f"Marketing works: shoppers who got the program's messages spent {per_shopper} more each than "
                f"those held out ({interval})."
            )
        if lift.is_significant:
            return (
                f"Shoppers who got the program's messages spent {per_shopper} less each than those held out "
                f"({interval})."
            )
        if self.is_sequential:
            return (
                f"Not settled yet: the difference of {self._money(lift.estimate)} per shopper so far could be chance "
                f"({interval}, which includes zero; it allows for this page being opened every day)."
            )
        return (
            f"No lift shown: the difference of {self._money(lift.estimate)} per shopper could be chance ({interval}, "
            "which includes zero)."
        )

    def _money(self, minor: float) -> str:
        return money(round(minor), self.currency)


def program_holdout_draws(*, merchant: Merchant) -> QuerySet[ProgramHoldoutDraw]:
    """The merchant's quarterly draws, newest first (kept after their quarter for this report)."""
    return ProgramHoldoutDraw.objects.for_merchant(merchant).order_by("-quarter_start")


def program_holdout_draw_get(*, merchant: Merchant, draw_id: int) -> ProgramHoldoutDraw:
    return get_object_or_404(ProgramHoldoutDraw.objects.for_merchant(merchant), pk=draw_id)


def program_lift(*, merchant: Merchant, draw: ProgramHoldoutDraw, now: datetime | None = None) -> ProgramLift:
    """Held out against marketed over the draw's quarter, up to now. `draw` must be the merchant's."""
    if draw.merchant_id != merchant.pk:
        raise ValueError("The draw belongs to another merchant.")
    now = now or timezone.now()
    until = min(now, draw.ends_at)
    with connection.cursor() as cursor:
        cursor.execute(
            _PROGRAM_SUMS_SQL, {"merchant": merchant.pk, "draw": draw.pk, "starts_at": draw.starts_at, "until": until}
        )
        rows = cursor.fetchall()
    marketed = merge_results("Marketed", (group_result_of_row("Marketed", row) for row in rows if not row[0]))
    held_out = merge_results("Held out", (group_result_of_row("Held out", row) for row in rows if row[0]))
    revenue = statistics.adjusted_difference_of_means(marketed.revenue_paired, held_out.revenue_paired)
    conversion = statistics.adjusted_difference_of_means(marketed.converted_paired, held_out.converted_paired)
    schedule = Schedule(draw.starts_at, draw.ends_at, draw.ends_at - draw.starts_at)
    return ProgramLift(
        draw=draw,
        currency=merchant.currency,
        marketed=marketed,
        held_out=held_out,
        until=until,
        is_sequential=schedule.is_before_end(now),
        revenue_lift=judged_interval(revenue, schedule, now),
        conversion_lift=judged_interval(conversion, schedule, now),
        revenue_adjustment=revenue,
    )
