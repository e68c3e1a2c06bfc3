"""import_csv: purchases with line items per second through the CSV import, against raw COPY of the same rows.

    python -m benchmarks.import_csv [--orders 20000] [--items 2]

One run, one scratch database: a generated purchase file (one row per line item, the order's own
cells on its first row, as Shopify's export writes them) goes through the whole import as the page
and `manage.py import_csv` run it — scan for card numbers, store the file, stage with COPY, check in
SQL, load in chunks with the rollups — and, three times before and three times after, the same
purchases and line items are COPYed into index-free tables shaped like profiles_purchase and
profiles_lineitem (text built from the same rows): the fastest a row can reach PostgreSQL. The ratio
is taken against the faster of the two medians. Prints one JSON line with the rates and the phases.

Bar: ratio ≥ 0.3.
"""

import argparse
import gc
import io
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from benchmarks.common import bench_merchant_seed, django_setup, emit, note, scratch_database_url

NAME = "import_csv"


def purchase_file(orders: int, items: int) -> tuple[bytes, list[tuple[str, datetime, int, list[tuple[str, int, int]]]]]:
    """The CSV, and the same orders as (order id, time, amount minor, [(item name, quantity, unit price minor)])."""
    import csv

    start = datetime(2023, 1, 1, 9, 0, tzinfo=UTC)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Name",
            "Created at",
            "Total",
            "Currency",
            "Email",
            "Lineitem name",
            "Lineitem sku",
            "Lineitem quantity",
            "Lineitem price",
            "Financial Status",
        ]
    )
    orders_made = []
    for number in range(orders):
        occurred = start + timedelta(seconds=97 * number)
        lines = [(f"Item {item}", 1 + (number + item) % 3, 995 + 250 * item) for item in range(items)]
        total = sum(quantity * price for _name, quantity, price in lines)
        order_id = f"#{100000 + number}"
        for index, (name, quantity, price) in enumerate(lines):
            first = index == 0
            writer.writerow(
                [
                    order_id,
                    occurred.strftime("%Y-%m-%d %H:%M:%S +0000") if first else "",
                    f"{total / 100:.2f}" if first else "",
                    "EUR" if first else "",
                    f"customer{number % 5000}@example.com" if first else "",
                    name,
                    f"SKU-{index}",
                    quantity,
                    f"{price / 100:.2f}",
                    "paid" if first else "",
                ]
            )
        orders_made.append((order_id, occurred, total, lines))
    return out.getvalue().encode(), orders_made


def _copy_timings(orders: list, merchant_id: int, repeats: int = 3) -> list[float]:
    """Seconds for each of `repeats` COPY loads of the orders and their items (text building included)."""
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_purchase, bench_copy_lineitem")
        cursor.execute("CREATE TABLE bench_copy_purchase (LIKE profiles_purchase INCLUDING DEFAULTS)")
        cursor.execute(
            "CREATE TABLE bench_copy_lineitem (LIKE profiles_lineitem INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        raw = cursor.connection
        for _repeat in range(repeats):
            cursor.execute("TRUNCATE bench_copy_purchase, bench_copy_lineitem")
            began = time.perf_counter()
            with raw.transaction():
                purchases, items = [], []
                for number, (order_id, occurred, total, lines) in enumerate(orders, start=1):
                    moment = occurred.isoformat()
                    purchases.append(
                        f"{number}\t{uuid.uuid4()}\t{merchant_id}\t\\N\t\\N\t\\N\tonline\t{total}\t0\tEUR\t{moment}\t"
                        f"import\t{order_id}\tcleared\t{moment}\t{moment}\n"
                    )
                    items.extend(
                        f"{merchant_id}\t{number}\tSKU\t{name}\t\t{quantity}\t{price}\n"
                        for name, quantity, price in lines
                    )
                with raw.cursor() as copier:
                    with copier.copy(
                        "COPY bench_copy_purchase (id, public_id, merchant_id, store_id, shopper_id, card_id, "
                        "channel, amount_minor, refunded_minor, currency, occurred_at, source, external_id, state, "
                        "created_at, updated_at) FROM STDIN"
                    ) as copy:
                        copy.write("".join(purchases))
                    with copier.copy(
                        "COPY bench_copy_lineitem (merchant_id, purchase_id, sku, name, category, quantity, "
                        "unit_price_minor) FROM STDIN"
                    ) as copy:
                        copy.write("".join(items))
            timings.append(time.perf_counter() - began)
        cursor.execute("DROP TABLE bench_copy_purchase, bench_copy_lineitem")
    return timings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20_000, help="orders in the file (default 20,000)")
    parser.add_argument("--items", type=int, default=2, help="line items per order (default 2)")
    args = parser.parse_args(argv)

    note(f"{NAME}: preparing the scratch database")
    django_setup(scratch_database_url())
    from imports.models import ImportStatus
    from imports.services.jobs import job_check, job_create, job_load, job_start
    from profiles.models import LineItem, Purchase

    bench = bench_merchant_seed(shoppers=2000, purchases=5000)
    merchant = bench.merchant
    data, orders = purchase_file(args.orders, args.items)
    gc.collect()
    gc.freeze()

    note(f"{NAME}: baseline, COPY of {len(orders):,} purchases")
    before = _copy_timings(orders, merchant.pk)

    note(f"{NAME}: the import, {len(orders):,} purchases in {args.orders * args.items:,} rows")
    phases = {}
    began = time.perf_counter()
    job = job_create(merchant=merchant, actor=None, kind="purchases", upload=io.BytesIO(data), file_name="orders.csv")
    phases["scan_s"] = time.perf_counter() - began
    mark = time.perf_counter()
    job = job_check(job=job)
    phases["stage_check_s"] = time.perf_counter() - mark
    if job.status != ImportStatus.CHECKED:
        note(f"{NAME}: the file did not pass its check ({job.error_count} errors)")
        return 1
    mark = time.perf_counter()
    job = job_load(job=job_start(job=job, actor=None))
    phases["load_s"] = time.perf_counter() - mark
    seconds = time.perf_counter() - began
    made = Purchase.objects.for_merchant(merchant).filter(source="import").count()
    items = LineItem.objects.for_merchant(merchant).filter(purchase__source="import").count()
    if made != len(orders):
        note(f"{NAME}: only {made:,} of {len(orders):,} purchases were imported")

    after = _copy_timings(orders, merchant.pk)
    rate = made / seconds
    before_rate, after_rate = len(orders) / statistics.median(before), len(orders) / statistics.median(after)
    baseline = max(before_rate, after_rate)
    emit(
        bench=NAME,
        purchases=made,
        line_items=items,
        ours_purchases_per_s=round(rate),
        baseline_purchases_per_s=round(baseline),
        ratio=round(rate / baseline, 3),
        baseline_before_per_s=round(before_rate),
        baseline_after_per_s=round(after_rate),
        **{name: round(value, 2) for name, value in phases.items()},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
