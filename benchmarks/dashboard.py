"""Insight pages at scale: server time of every page against the same figures in plain SQL over raw rows.

    python manage.py seed_demo --scale        # once: merchant "megastore", 1,000,000 shoppers, 10,000,000 purchases
    python -m benchmarks.dashboard [--merchant megastore] [--requests 20] [--refresh]

Unlike the ingest benchmarks this one reads the database DATABASE_URL names (the
scale data takes minutes to load, so it is not rebuilt per run) and writes nothing
there but the merchant's insight snapshot, computed first if it is missing (its time
is reported). Each page is requested in-process through Django's test client as the
merchant's owner (middleware, view, queries, template: the server's time, without a
network), after warm-up. The baseline is a plain SQL query over the raw purchase (or
line-item, visit, consent) rows computing the figures that page shows, run in the
same process. One JSON line per page:

    {"bench": "dashboard", "page": "overview", "p50_ms": …, "p95_ms": …, "raw_sql_ms": …, "ratio_p95": …}


With `--refresh` it also times the snapshot refresh three ways, one JSON line each:

    {"bench": "dashboard", "figure": "snapshot_refresh", "case": "full" | "after_new_purchases" | "quiet",
     "seconds": …, "sections": [...]}

"full" recomputes every section; "after_new_purchases" follows 10,000 new purchases by existing shoppers
(recorded through the batch ingest service, today, in its stores; they stay in the database, with
external ids "bench-refresh-…"); "quiet" follows no change at all.

Targets: p95 ≤ 200 ms and ratio_p95 ≤ 0.25 (the home page, opened every morning: p95 ≤ 100 ms).
"""

import argparse
import statistics
import time
from datetime import timedelta
from typing import Any

from benchmarks.common import django_setup_existing, emit, note, percentile

PAGES = {
    "overview": "/insights/",
    "overview_store": "/insights/?period=90d&scope={store}",
    "overview_year": "/insights/?period=365d",
    "lifecycle": "/insights/lifecycle/",
    "channels": "/insights/channels/",
    "traffic": "/insights/traffic/",
    "traffic_store": "/insights/traffic/?period=90d&scope={store}",
    "reach": "/insights/reach/",
    "stores": "/insights/stores/",
    "products": "/insights/products/",
    "home": "/",
}
# The mall network page reads the same snapshot; megastore is in no mall, so it is not timed here.

_LOCAL_DAY = "(p.occurred_at AT TIME ZONE COALESCE(s.timezone, m.timezone))::date"
_RAW_FROM = """
    FROM profiles_purchase p JOIN merchants_merchant m ON m.id = p.merchant_id
    LEFT JOIN merchants_store s ON s.id = p.store_id
   WHERE p.merchant_id = %(merchant)s AND p.amount_minor > p.refunded_minor
"""

# The same figures each page shows, straight from raw rows.
RAW_SQL = {
    "overview": f"""
        WITH firsts AS (
            SELECT shopper_id, MIN(occurred_at) AS first_at FROM profiles_purchase
             WHERE merchant_id = %(merchant)s AND amount_minor > refunded_minor AND shopper_id IS NOT NULL
             GROUP BY shopper_id
        ), scoped AS (
            SELECT {_LOCAL_DAY} AS day, p.shopper_id, p.store_id, p.amount_minor - p.refunded_minor AS net
              {_RAW_FROM} AND p.occurred_at >= %(previous_start)s::date - interval '1 day'
        )
        SELECT day >= %(start)s, COUNT(*), SUM(net), COUNT(DISTINCT scoped.shopper_id),
               COUNT(DISTINCT scoped.shopper_id) FILTER (WHERE f.first_at >= %(previous_start)s::date),
               SUM(net) FILTER (WHERE scoped.shopper_id IS NOT NULL), SUM(net) FILTER (WHERE store_id IS NOT NULL)
          FROM scoped LEFT JOIN firsts f ON f.shopper_id = scoped.shopper_id
         WHERE day BETWEEN %(previous_start)s AND %(end)s GROUP BY 1
    """,  # noqa: S608 - fixed SQL; values are bound
    "lifecycle": """
        WITH s AS (
            SELECT shopper_id, MIN(occurred_at) AS first_at, MAX(occurred_at) AS last_at, COUNT(*) AS frequency,
                   SUM(amount_minor - refunded_minor) AS monetary
              FROM profiles_purchase
             WHERE merchant_id = %(merchant)s AND amount_minor > refunded_minor AND shopper_id IS NOT NULL
             GROUP BY shopper_id
        )
        SELECT CASE WHEN first_at >= now() - interval '30 days' THEN 'new'
                    WHEN last_at < now() - interval '180 days' THEN 'lapsed'
                    WHEN last_at < now() - interval '90 days' THEN 'at_risk'
                    WHEN frequency >= 4 THEN 'regular' ELSE 'active' END, COUNT(*), SUM(monetary)
          FROM s GROUP BY 1
    """,
    "channels": """
        SELECT online > 0 AS online, in_store > 0 AS in_store, COUNT(*) FROM (
            SELECT shopper_id, COUNT(*) FILTER (WHERE channel = 'online') AS online,
                   COUNT(*) FILTER (WHERE channel = 'in_store') AS in_store
              FROM profiles_purchase
             WHERE merchant_id = %(merchant)s AND amount_minor > refunded_minor AND shopper_id IS NOT NULL
             GROUP BY shopper_id) per_shopper
         GROUP BY 1, 2
    """,
    "traffic": f"""
        SELECT EXTRACT(ISODOW FROM p.occurred_at AT TIME ZONE s.timezone),
               EXTRACT(HOUR FROM p.occurred_at AT TIME ZONE s.timezone), COUNT(*)
          {_RAW_FROM} AND p.store_id IS NOT NULL AND {_LOCAL_DAY} BETWEEN %(start)s AND %(end)s
           AND p.occurred_at >= %(start)s::date - interval '1 day'
         GROUP BY 1, 2
    """,  # noqa: S608
    "reach": """
        WITH consent AS (
            SELECT DISTINCT ON (shopper_id, channel) shopper_id, channel, is_granted FROM profiles_consentevent
             WHERE merchant_id = %(merchant)s AND purpose = 'marketing'
             ORDER BY shopper_id, channel, occurred_at DESC, id DESC)
        SELECT channel, COUNT(*) FILTER (WHERE is_granted) FROM consent GROUP BY channel
    """,
    "stores": f"""
        SELECT p.store_id, COUNT(*), SUM(p.amount_minor - p.refunded_minor), COUNT(DISTINCT p.shopper_id)
          {_RAW_FROM} AND {_LOCAL_DAY} BETWEEN %(start)s AND %(end)s
           AND p.occurred_at >= %(start)s::date - interval '1 day'
         GROUP BY p.store_id
    """,
    "products": """
        SELECT li.category, SUM(li.quantity), SUM(li.quantity * li.unit_price_minor)
          FROM profiles_lineitem li JOIN profiles_purchase p ON p.id = li.purchase_id
         WHERE p.merchant_id = %(merchant)s AND p.amount_minor > p.refunded_minor
           AND p.occurred_at >= %(end)s::date - interval '89 days'
         GROUP BY li.category
    """,
}
# The home page: today and this week (the merchant's time zone, weeks from Monday) against a week before, from the
# purchases, the new shoppers and the points ledger.
RAW_SQL["home"] = """
    WITH bounds AS (
        SELECT (date_trunc('week', now() AT TIME ZONE timezone) AT TIME ZONE timezone) - interval '7 days' AS since
          FROM merchants_merchant WHERE id = %(merchant)s
    )
    SELECT (SELECT json_agg(sales) FROM (
               SELECT p.occurred_at >= b.since + interval '7 days' AS this_week,
                      COUNT(*) FILTER (WHERE p.amount_minor > p.refunded_minor) AS purchases,
                      SUM(p.amount_minor - p.refunded_minor) AS net,
                      COUNT(DISTINCT p.shopper_id) FILTER (WHERE p.amount_minor > p.refunded_minor) AS shoppers
                 FROM profiles_purchase p CROSS JOIN bounds b
                WHERE p.merchant_id = %(merchant)s AND p.occurred_at >= b.since GROUP BY 1) sales),
           (SELECT COUNT(*) FROM profiles_shopper sh, bounds b
             WHERE sh.merchant_id = %(merchant)s AND sh.created_at >= b.since),
           (SELECT SUM(points) FROM loyalty_ledgerentry le, bounds b
             WHERE le.merchant_id = %(merchant)s AND le.created_at >= b.since)
"""
RAW_SQL["overview_year"] = RAW_SQL["overview"]
RAW_SQL["overview_store"] = RAW_SQL["overview"].replace("GROUP BY 1", "AND store_id = %(store)s GROUP BY 1")
RAW_SQL["traffic_store"] = RAW_SQL["traffic"].replace("GROUP BY 1, 2", "AND p.store_id = %(store)s GROUP BY 1, 2")


def _refresh_figures(merchant: Any, *, new_purchases: int) -> None:
    """Full refresh, then the incremental one after new purchases, then after nothing changed."""
    import random

    from django.utils import timezone

    from insights import services
    from insights.models import InsightSnapshot
    from merchants.models import Store
    from profiles.models import Shopper
    from profiles.services.batch import purchase_record_batch
    from profiles.services.purchases import LineItemInput, PurchaseInput

    def timed(case: str, **options: Any) -> None:
        started = time.monotonic()
        done = services.insights_refresh(merchant=merchant, **options)
        seconds = round(time.monotonic() - started, 1)
        meta = InsightSnapshot.objects.for_merchant(merchant).filter(section="meta").first()
        sections = meta.data.get("refreshed", []) if (meta and done) else []
        emit(bench="dashboard", figure="snapshot_refresh", case=case, seconds=seconds, sections=sections)

    timed("full", force=True)
    rng = random.Random(18)
    stores = list(Store.objects.for_merchant(merchant).order_by("pk"))
    top = Shopper.objects.filter(merchant=merchant).order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = list(
        Shopper.objects.filter(
            merchant=merchant, pk__in=[rng.randint(1, top) for _ in range(new_purchases * 2)]
        ).values_list("pk", flat=True)[:new_purchases]
    )
    shoppers = Shopper.objects.filter(merchant=merchant, pk__in=ids).in_bulk()
    run = timezone.now().strftime("%Y%m%d%H%M%S")
    now = timezone.now()
    rows = [
        PurchaseInput(
            external_id=f"bench-refresh-{run}-{index}",
            amount_minor=rng.choice((1500, 4200, 9900)),
            currency=merchant.currency,
            occurred_at=now - timedelta(minutes=rng.randint(1, 600)),
            channel="in_store",
            store=rng.choice(stores),
            shopper=shoppers[shopper_id],
            line_items=(LineItemInput(name="Bench item", unit_price_minor=1500, category="Electronics"),),
        )
        for index, shopper_id in enumerate(list(shoppers)[:new_purchases])
    ]
    note(f"recording {len(rows):,} new purchases")
    for start in range(0, len(rows), 1000):
        purchase_record_batch(merchant=merchant, rows=rows[start : start + 1000])
    timed("after_new_purchases")
    timed("quiet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--merchant", default="megastore", help="slug of the merchant to read (default megastore)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page, after warm-up")
    parser.add_argument("--raw-runs", type=int, default=3, help="runs of each plain SQL query (median reported)")
    parser.add_argument("--pages", nargs="*", choices=list(PAGES), help="only these pages (default: all)")
    parser.add_argument("--refresh", action="store_true", help="also time the snapshot refresh: full, incremental")
    parser.add_argument("--new-purchases", type=int, default=10_000, help="purchases added before the incremental one")
    args = parser.parse_args()

    django_setup_existing()
    from django.db import connection
    from django.test import Client

    from insights import services
    from insights.periods import period_for
    from insights.selectors import page_end, snapshot_get
    from merchants.models import Merchant, StaffMembership, Store
    from merchants.permissions import Role

    merchant = Merchant.objects.filter(slug=args.merchant).first()
    if merchant is None:
        note(f"no merchant {args.merchant!r}: load it with `manage.py seed_demo --scale` first; nothing measured")
        return
    if snapshot_get(merchant=merchant, sections=()).end is None:
        note(f"{merchant.name}: computing the insight snapshot first")
        started = time.monotonic()
        services.insights_refresh(merchant=merchant, force=True)
        emit(bench="dashboard", figure="snapshot_refresh", seconds=round(time.monotonic() - started, 1))
    if args.refresh:
        _refresh_figures(merchant, new_purchases=args.new_purchases)
    owner = StaffMembership.objects.filter(merchant=merchant, role=Role.OWNER).select_related("user").first()
    store = Store.objects.for_merchant(merchant).order_by("pk").first()
    client = Client()
    client.force_login(owner.user)
    end = page_end(merchant=merchant, snapshot=snapshot_get(merchant=merchant, sections=()))
    period = period_for("28d", end=end)
    parameters = {
        "merchant": merchant.pk,
        "store": store.pk if store else 0,
        "start": period.current.start,
        "end": end,
        "previous_start": period.previous.start,
    }
    for page, path in PAGES.items():
        if args.pages and page not in args.pages:
            continue
        url = path.format(store=f"s{store.pk}" if store else "")
        wide_key = next((key for key in ("90d", "365d") if f"period={key}" in url), None)
        if wide_key:
            wide = period_for(wide_key, end=end)
            page_parameters = {**parameters, "start": wide.current.start, "previous_start": wide.previous.start}
        else:
            page_parameters = parameters
        for _ in range(3):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        raw = []
        with connection.cursor() as cursor:
            for _ in range(args.raw_runs):
                started = time.perf_counter()
                cursor.execute(RAW_SQL[page], page_parameters)
                cursor.fetchall()
                raw.append((time.perf_counter() - started) * 1000)
        raw_ms = statistics.median(raw)
        p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
        emit(
            bench="dashboard",
            page=page,
            merchant=merchant.slug,
            p50_ms=round(p50, 1),
            p95_ms=round(p95, 1),
            raw_sql_ms=round(raw_ms, 1),
            ratio_p50=round(p50 / raw_ms, 3),
            ratio_p95=round(p95 / raw_ms, 3),
        )


if __name__ == "__main__":
    main()
