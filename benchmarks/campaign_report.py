"""campaign_report: the report of a campaign with 100,000 assigned shoppers, against plain SQL.

Seeds a merchant with 100,000 shoppers and 1,000,000 purchases (the demo generator), assigns every
shopper to one campaign (10 % held out, half of the rest to variant B) a month ago, then times
`campaigns.measurement.selectors.campaign_report` — window join, per-group sums and sums of squares,
variants, messages, offer — against a baseline: the plain SQL one would write by hand, each group's
shoppers and net revenue within the window (no sums of squares, variants or other figures). Median
of five runs each, after a warm-up.

    python -m benchmarks.campaign_report [--shoppers N] [--purchases N]

    {"bench": "campaign_report", "assigned": 100000, "ours_ms": …, "baseline_ms": …, "ratio": …}
"""

import argparse
import statistics
import time

from benchmarks.common import bench_merchant_seed, django_setup, emit, note, scratch_database_url

# What one would write by hand: each group's shoppers and net revenue within the window after assignment.
BASELINE_SQL = """
    SELECT a."group", COUNT(DISTINCT a.id), COALESCE(SUM(p.amount_minor - p.refunded_minor), 0)
      FROM campaigns_assignment a
      LEFT JOIN profiles_purchase p
        ON p.shopper_id = a.shopper_id AND p.merchant_id = a.merchant_id
       AND p.occurred_at > a.assigned_at AND p.occurred_at <= a.assigned_at + interval '14 days'
     WHERE a.campaign_id = %s
     GROUP BY a."group"
"""


def _timed(function, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    options = parser.parse_args()
    django_setup(scratch_database_url())
    note(f"seeding {options.shoppers:,} shoppers and {options.purchases:,} purchases")
    bench = bench_merchant_seed(shoppers=options.shoppers, purchases=options.purchases)

    from django.db import connection

    from campaigns.measurement.selectors import campaign_report
    from campaigns.models import Campaign, Variant

    merchant = bench.merchant
    campaign = Campaign.objects.create(merchant=merchant, name="Bench broadcast", kind="broadcast", attribution_days=14)
    variant_a = Variant.objects.create(merchant=merchant, campaign=campaign, key="A", weight=50)
    variant_b = Variant.objects.create(merchant=merchant, campaign=campaign, key="B", weight=50)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO campaigns_assignment (merchant_id, campaign_id, shopper_id, dedupe_key, "group", variant_id,
                                              assigned_at)
            SELECT %(merchant)s, %(campaign)s, s.id, 'broadcast',
                   CASE WHEN random() < 0.1 THEN 'holdout' ELSE 'treatment' END,
                   CASE WHEN random() < 0.5 THEN %(a)s ELSE %(b)s END,
                   now() - interval '30 days'
              FROM profiles_shopper s WHERE s.merchant_id = %(merchant)s
            """,
            {"merchant": merchant.pk, "campaign": campaign.pk, "a": variant_a.pk, "b": variant_b.pk},
        )
        assigned = cursor.rowcount
        cursor.execute("ANALYZE campaigns_assignment")

    def ours() -> None:
        campaign_report(merchant=merchant, campaign=campaign)

    def baseline() -> None:
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [campaign.pk])
            cursor.fetchall()

    ours_ms, baseline_ms = _timed(ours), _timed(baseline)
    emit(
        bench="campaign_report",
        assigned=assigned,
        purchases=options.purchases,
        ours_ms=round(ours_ms, 1),
        baseline_ms=round(baseline_ms, 1),
        ratio=round(baseline_ms / ours_ms, 2),
    )


if __name__ == "__main__":
    main()
