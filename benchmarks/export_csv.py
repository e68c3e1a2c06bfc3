"""The purchases export (one row per line item) against COPY TO STDOUT of the same rows, in the same run.

    python -m benchmarks.export_csv [--purchases 30000] [--rounds 3]

Seeds the bench merchant (demo history with line items) in the scratch database, then alternates
rounds of: our export as the view streams it (the ORM query over a server-side cursor, each row
formatted: times in the merchant's zone, major units, formula-safe cells, csv.writer), and psycopg 3's
`COPY (SELECT … the same joins and order …) TO STDOUT WITH CSV`, read to the end. One JSON line:

    {"bench": "export_csv", "rows": …, "ours_rows_per_s": …, "copy_rows_per_s": …, "ratio": …}

The ratio says what streaming through Python costs over the database's own CSV; it also sets the size
of exports the page streams at once (exports.services.STREAM_LIMIT_ROWS).
"""

import argparse
import statistics
import time

from benchmarks.common import bench_merchant_seed, django_setup, emit, note, scratch_database_url


def _ours(merchant, filters) -> tuple[int, float]:
    from core.csv_export import csv_lines
    from exports.selectors import export_rows

    started = time.perf_counter()
    rows = -1  # the header
    for _line in csv_lines(export_rows(merchant=merchant, filters=filters)):
        rows += 1
    return rows, time.perf_counter() - started


def _copy(merchant, start, end) -> tuple[int, float]:
    from django.db import connection

    from merchants.models import Store
    from profiles.models import Card, LineItem, Purchase, Shopper

    sql = f"""
        COPY (
            SELECT p.public_id, p.occurred_at, s.name, p.channel, p.state, p.source, p.external_id, p.currency,
                   p.amount_minor, p.refunded_minor, p.amount_minor - p.refunded_minor, sh.public_id,
                   c.scheme, c.last_four, li.sku, li.name, li.category, li.quantity, li.unit_price_minor,
                   li.quantity * li.unit_price_minor
              FROM {Purchase._meta.db_table} p
              LEFT JOIN {Store._meta.db_table} s ON s.id = p.store_id
              LEFT JOIN {Shopper._meta.db_table} sh ON sh.id = p.shopper_id
              LEFT JOIN {Card._meta.db_table} c ON c.id = p.card_id
              LEFT JOIN {LineItem._meta.db_table} li ON li.purchase_id = p.id
             WHERE p.merchant_id = {int(merchant.pk)} AND p.occurred_at >= '{start.isoformat()}'
               AND p.occurred_at < '{end.isoformat()}'
             ORDER BY p.occurred_at, p.id, li.id
        ) TO STDOUT WITH (FORMAT csv, HEADER)
    """  # noqa: S608 - table names from the models, values from this process
    started = time.perf_counter()
    lines = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for block in copy:
            lines += bytes(block).count(b"\n")
    return lines - 1, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--purchases", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    django_setup(scratch_database_url())
    note(f"seeding {options.purchases:,} purchases")
    bench = bench_merchant_seed(shoppers=max(1000, options.purchases // 10), purchases=options.purchases)

    from datetime import date

    from exports.selectors import ExportFilters, period_bounds

    filters = ExportFilters(kind="purchases", date_from=date(2000, 1, 1), date_to=date(2100, 1, 1))
    start, end = period_bounds(bench.merchant, filters.date_from, filters.date_to)
    ours, baseline = [], []
    for round_number in range(options.rounds):
        rows, seconds = _ours(bench.merchant, filters)
        copied, copy_seconds = _copy(bench.merchant, start, end)
        if rows != copied:
            raise SystemExit(f"the two exports differ: {rows} rows against {copied}")
        ours.append(rows / seconds)
        baseline.append(copied / copy_seconds)
        note(f"round {round_number + 1}: {rows:,} rows, ours {seconds:.2f} s, COPY {copy_seconds:.2f} s")
    ours_rate, copy_rate = statistics.median(ours), statistics.median(baseline)
    emit(
        bench="export_csv",
        rows=rows,
        ours_rows_per_s=round(ours_rate),
        copy_rows_per_s=round(copy_rate),
        ratio=round(ours_rate / copy_rate, 3),
    )


if __name__ == "__main__":
    main()
