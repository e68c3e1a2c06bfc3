"""ingest_batch: purchases per second through the batch path against raw COPY of the same rows.

    python -m benchmarks.ingest_batch [--rows 40000] [--http-rows 20000] [--concurrency 2]

Three measurements in one run, on one scratch database:
- service: `purchase_record_batch` called directly with chunks of 1,000 rows, one transaction each;
- http: POST /api/v1/purchases/batch (1,000 rows a request, an Idempotency-Key each) to gunicorn;
- baseline: COPY of the same purchases and their line items (text built from the same rows) into
  scratch tables shaped like profiles_purchase and profiles_lineitem, without indexes — the
  fastest a row can reach PostgreSQL. Three loads right before and three right after each path,
  so a machine that speeds up or slows down during the run (they do, here) weighs on both sides
  alike. A path's ratio is taken against the faster of the two medians (the loads after a path may
  meet its leftover work: autovacuum, checkpoints), and both medians are printed.
40 % of rows carry the token of a linked card. Prints one JSON line per path, and one more
("path": "purchase_build"): building a chunk's 1,000 Purchase instances with the ingest path's
shortcut against Purchase.from_db, and what the shortcut saves as a share of a chunk's time.
"""

import argparse
import gc
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from benchmarks.common import (
    PurchaseBodies,
    bench_merchant_seed,
    django_setup,
    emit,
    gunicorn,
    note,
    scratch_database_url,
)
from benchmarks.load import post_load

NAME = "ingest_batch"
CHUNK = 1000


def _inputs(bodies: list[dict[str, Any]], merchant: Any) -> list[Any]:
    """The service's input for each body, built as the API's serializer would."""
    from merchants.models import Store
    from profiles.services.purchases import LineItemInput, PurchaseInput

    stores = {store.pk: store for store in Store.objects.for_merchant(merchant)}
    return [
        PurchaseInput(
            external_id=body["external_id"],
            amount_minor=body["amount_minor"],
            currency=body["currency"],
            occurred_at=datetime.fromisoformat(body["occurred_at"]),
            channel=body["channel"],
            store=stores.get(body["store"]),
            card_token=body.get("card_id"),
            line_items=tuple(LineItemInput(**item) for item in body["line_items"]),
        )
        for body in bodies
    ]


def _copy_text(rows: list[Any], merchant_id: int) -> tuple[str, str]:
    """COPY text for the purchases and their line items: ids and values the loader supplies itself."""
    purchases, items = [], []
    for number, row in enumerate(rows, start=1):
        store = row.store.pk if row.store else "\\N"
        purchases.append(
            f"{number}\t{uuid.uuid4()}\t{merchant_id}\t{store}\t\\N\t\\N\t{row.channel}\t{row.amount_minor}\t0\t"
            f"{row.currency}\t{row.occurred_at.isoformat()}\t{row.source}\t{row.external_id}\t{row.state}\t"
            f"{row.occurred_at.isoformat()}\t{row.occurred_at.isoformat()}\n"
        )
        items.extend(
            f"{merchant_id}\t{number}\t{item.sku}\t{item.name}\t{item.category}\t{item.quantity}\t"
            f"{item.unit_price_minor}\n"
            for item in row.line_items
        )
    return "".join(purchases), "".join(items)


def _copy_timings(rows: list[Any], merchant_id: int, repeats: int = 3) -> list[float]:
    """Seconds for each of `repeats` COPY loads of these rows (text building included) into index-free tables."""
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
                purchases, items = _copy_text(rows, merchant_id)
                with raw.cursor() as copier:
                    with copier.copy(
                        "COPY bench_copy_purchase (id, public_id, merchant_id, store_id, shopper_id, card_id, "
                        "channel, amount_minor, refunded_minor, currency, occurred_at, source, external_id, state, "
                        "created_at, updated_at) FROM STDIN"
                    ) as copy:
                        copy.write(purchases)
                    with copier.copy(
                        "COPY bench_copy_lineitem (merchant_id, purchase_id, sku, name, category, quantity, "
                        "unit_price_minor) FROM STDIN"
                    ) as copy:
                        copy.write(items)
            timings.append(time.perf_counter() - began)
        cursor.execute("DROP TABLE bench_copy_purchase, bench_copy_lineitem")
    return timings


def _build_timings(merchant: Any, repeats: int = 7) -> tuple[float, float]:
    """Seconds to build one chunk's purchases (median of `repeats`): the ingest path's shortcut, and
    Purchase.from_db. What keeps the shortcut (core.instances), or not."""
    from django.db import connection

    from core import instances
    from profiles.models import Purchase
    from profiles.services.purchases import bulk

    now = datetime.now(UTC)
    fields = [
        {
            **dict.fromkeys(bulk._PURCHASE_ATTNAMES),
            "id": number,
            "public_id": uuid.uuid4(),
            "merchant_id": merchant.pk,
            "channel": "online",
            "amount_minor": 1000 + number,
            "currency": merchant.currency,
            "occurred_at": now,
            "source": "api",
            "external_id": f"build-{number}",
            "state": "cleared",
            "refunded_minor": 0,
            "created_at": now,
            "updated_at": now,
        }
        for number in range(CHUNK)
    ]
    related = {bulk._MERCHANT_CACHE: merchant, bulk._STORE_CACHE: None, bulk._SHOPPER_CACHE: None}

    def timed(build: Any) -> float:
        timings = []
        for _ in range(repeats):
            began = time.perf_counter()
            for row in fields:
                build(Purchase, connection.alias, row)._state.fields_cache.update(related)
            timings.append(time.perf_counter() - began)
        return statistics.median(timings)

    return timed(instances.instance_built), timed(instances.instance_from_db)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=40_000, help="rows through the service (default 40,000)")
    parser.add_argument("--http-rows", type=int, default=20_000, help="rows through the HTTP API (default 20,000)")
    parser.add_argument("--concurrency", type=int, default=2, help="concurrent batch requests (default 2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    args = parser.parse_args(argv)

    note(f"{NAME}: preparing the scratch database")
    env = django_setup(scratch_database_url())
    from profiles.services.batch import purchase_record_batch

    bench = bench_merchant_seed()
    env["BENCH_MERCHANT_ID"] = str(bench.merchant.pk)
    bodies = PurchaseBodies(prefix="batch", store_ids=bench.store_ids, card_tokens=bench.card_tokens)
    rng = random.Random(7)
    rows = _inputs([bodies.body(rng, f"service-{number}") for number in range(args.rows)], bench.merchant)
    # Everything this process holds so far (Django, the seeded merchant, the 40,000 prepared rows: the
    # benchmark's, where a real batch holds 1,000) is frozen out of garbage collection, as a web worker
    # freezes what it loaded (config.workers), so the service does not pay for scanning it.
    gc.collect()
    gc.freeze()

    def copy_rates(before: list[float], after: list[float]) -> tuple[float, float]:
        return len(rows) / statistics.median(before), len(rows) / statistics.median(after)

    note(f"{NAME}: baseline, COPY of {len(rows):,} rows")
    before_service = _copy_timings(rows, bench.merchant.pk)

    note(f"{NAME}: purchase_record_batch, {len(rows):,} rows in chunks of {CHUNK:,}")
    began = time.perf_counter()
    created = 0
    for start in range(0, len(rows), CHUNK):
        results = purchase_record_batch(merchant=bench.merchant, rows=rows[start : start + CHUNK])
        # A row matched onto a card-network purchase of the seeded history is stored too, as that purchase's basket.
        created += sum(result.status in ("created", "basket_matched") for result in results)
    service_seconds = time.perf_counter() - began
    if created != len(rows):
        note(f"{NAME}: only {created:,} of {len(rows):,} rows were created")
    service_rate = created / service_seconds
    service_before, service_after = copy_rates(before_service, _copy_timings(rows, bench.merchant.pk))
    service_baseline = max(service_before, service_after)
    figures = [
        emit(
            bench=NAME,
            path="service",
            ours_rows_per_s=round(service_rate),
            baseline_rows_per_s=round(service_baseline),
            ratio=round(service_rate / service_baseline, 3),
            baseline_before_rows_per_s=round(service_before),
            baseline_after_rows_per_s=round(service_after),
            rows=len(rows),
            chunk=CHUNK,
        )
    ]
    shortcut_seconds, from_db_seconds = _build_timings(bench.merchant)
    chunk_seconds = service_seconds * CHUNK / max(created, 1)
    figures.append(
        emit(
            bench=NAME,
            path="purchase_build",
            shortcut_ms_per_chunk=round(shortcut_seconds * 1000, 2),
            from_db_ms_per_chunk=round(from_db_seconds * 1000, 2),
            # what the shortcut saves, as a share of one chunk's time through the service
            saved_share_of_chunk=round((from_db_seconds - shortcut_seconds) / chunk_seconds, 3),
            chunk=CHUNK,
        )
    )

    requests = max(1, args.http_rows // CHUNK)
    authorization = f"Api-Key {bench.api_key}"

    def make_request(request_rng: Any, number: str) -> tuple[dict[str, Any], dict[str, str]]:
        batch = [bodies.body(request_rng, f"{number}-{index}") for index in range(CHUNK)]
        return {"purchases": batch}, {"Authorization": authorization, "Idempotency-Key": f"batch-{number}"}

    note(f"{NAME}: POST /api/v1/purchases/batch, {requests * CHUNK:,} rows")
    with gunicorn(env, workers=args.workers) as port:
        # Bodies are built before the clock starts: the client's JSON is not the server's work.
        prepared = {}
        prepare_rng = random.Random(11)
        for number in range(requests):
            prepared[f"http-{number}"] = make_request(prepare_rng, f"http-{number}")
        numbers = iter(sorted(prepared))

        def next_prepared(_rng: Any, _number: str) -> tuple[dict[str, Any], dict[str, str]]:
            return prepared[next(numbers)]

        # Each worker's first request imports the URLconf and opens its database connection.
        post_load(
            port=port,
            path="/api/v1/purchases/batch",
            make_request=lambda request_rng, number: make_request(request_rng, f"warm-{number}"),
            concurrency=args.workers,
            seconds=60,
            label="warm",
            max_requests=args.workers,
        )

        before_http = _copy_timings(rows, bench.merchant.pk)
        result = post_load(
            port=port,
            path="/api/v1/purchases/batch",
            make_request=next_prepared,
            concurrency=args.concurrency,
            seconds=600,
            label="http",
            max_requests=requests,
        )
    from profiles.models import Purchase

    stored = Purchase.objects.for_merchant(bench.merchant).filter(external_id__startswith="batch-http-").count()
    stored += Purchase.objects.for_merchant(bench.merchant).filter(basket_external_id__startswith="batch-http-").count()
    http_rate = stored / result.seconds if result.seconds else 0.0
    http_before, http_after = copy_rates(before_http, _copy_timings(rows, bench.merchant.pk))
    http_baseline = max(http_before, http_after)
    figures.append(
        emit(
            bench=NAME,
            path="http",
            ours_rows_per_s=round(http_rate),
            baseline_rows_per_s=round(http_baseline),
            ratio=round(http_rate / http_baseline, 3),
            baseline_before_rows_per_s=round(http_before),
            baseline_after_rows_per_s=round(http_after),
            rows=stored,
            errors=result.errors,
            p50_ms=round(sorted(result.latencies_ms)[len(result.latencies_ms) // 2], 1)
            if result.latencies_ms
            else None,
            concurrency=args.concurrency,
        )
    )
    if result.errors:
        note(f"{NAME}: non-2xx batch responses: {dict(result.statuses)}")
    return figures


if __name__ == "__main__":
    main()
