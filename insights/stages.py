"""Lifecycle stages, defined once: their keys, their labels and the SQL that assigns them.

The dashboard stages shoppers from raw purchases, campaign segments from the per-shopper
rollup; both take `stage_sql` with their own source, so the two always agree.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from insights.models import InsightSettings

STAGES = ("new", "active", "regular", "top", "at_risk", "lapsed")
STAGE_LABELS = {
    "new": "New",
    "active": "Active",
    "regular": "Regular",
    "top": "Top spenders",
    "at_risk": "At risk",
    "lapsed": "Lapsed (win back)",
    "none": "Not yet a shopper",
}


def stage_sql(shoppers_as_of: str) -> str:
    """Each shopper's lifecycle stage as of %(cutoff)s, from a query of their figures as of then
    (shopper_id, first_at, last_at, frequency, monetary, online_minor): the dashboard reads raw
    purchases, campaign segments the per-shopper rollup. Parameters: `stage_parameters`.

    First rule that holds: new, lapsed, at risk, then among the recent rest the top spenders (the
    highest-spending top_percent), regulars (enough purchases), and otherwise active.
    """
    return f"""
    WITH s AS ({shoppers_as_of}),
    recent AS (
        SELECT s.*, CUME_DIST() OVER (ORDER BY monetary DESC) AS spend_rank
          FROM s
         WHERE first_at < %(cutoff)s - make_interval(days => %(new_days)s)
           AND last_at >= %(cutoff)s - make_interval(days => %(at_risk_days)s)
    )
    SELECT s.shopper_id, s.frequency, s.monetary, s.online_minor,
           CASE WHEN s.first_at >= %(cutoff)s - make_interval(days => %(new_days)s) THEN 'new'
                WHEN s.last_at < %(cutoff)s - make_interval(days => %(lapsed_days)s) THEN 'lapsed'
                WHEN s.last_at < %(cutoff)s - make_interval(days => %(at_risk_days)s) THEN 'at_risk'
                WHEN r.spend_rank <= %(top_share)s THEN 'top'
                WHEN s.frequency >= %(regular_min)s THEN 'regular'
                ELSE 'active' END AS stage
      FROM s LEFT JOIN recent r ON r.shopper_id = s.shopper_id
"""  # noqa: S608 - fixed SQL; values are bound


def stage_case_sql(alias: str, *, top_min: str) -> str:
    """The stage of one shopper row `alias` (first_at, last_purchase_at, purchase_count, total_minor) as of
    %(cutoff)s, given `top_min`: the smallest spend that makes a recent shopper a top spender (NULL: none).

    The same rules as `stage_sql`, with its spend ranking replaced by the threshold it implies: a recent
    shopper's CUME_DIST over spend (descending) is within the top share exactly when their spend is at
    least the smallest spend whose share is. Campaign scores use it to stage one shopper at a time.
    """
    return f"""CASE WHEN {alias}.first_at >= %(cutoff)s - make_interval(days => %(new_days)s) THEN 'new'
                WHEN {alias}.last_purchase_at < %(cutoff)s - make_interval(days => %(lapsed_days)s) THEN 'lapsed'
                WHEN {alias}.last_purchase_at < %(cutoff)s - make_interval(days => %(at_risk_days)s) THEN 'at_risk'
                WHEN {alias}.total_minor >= {top_min} THEN 'top'
                WHEN {alias}.purchase_count >= %(regular_min)s THEN 'regular'
                ELSE 'active' END"""


def stage_parameters(settings: "InsightSettings", cutoff: datetime) -> dict[str, Any]:
    return {
        "cutoff": cutoff,
        "new_days": settings.new_days,
        "at_risk_days": settings.at_risk_days,
        "lapsed_days": settings.lapsed_days,
        "top_share": settings.top_spender_percent / 100,
        "regular_min": settings.regular_min_purchases,
    }
