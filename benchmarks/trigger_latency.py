"""trigger_latency: from the API's 201 for a purchase to its thank-you handed to the email backend.

    python -m benchmarks.trigger_latency [--rate 20] [--seconds 30] [--worker-concurrency 2] [--broker URL]

A real stack: gunicorn (sync workers, DEBUG off) for the API, a real Celery worker (prefork) on a real
Redis broker (`--broker`, else CELERY_BROKER_URL, else redis://127.0.0.1:6379/5), and the scratch
database. The merchant has one active real-time "thank you" campaign (no holdout, so every purchase
is messaged; no quiet hours; frequency cap high enough not to stop it, but checked). Purchases on
linked cards of consenting shoppers are posted at a steady rate; for each, the time from the 201
to the message's `sent_at` (stamped right after the backend accepted it) is measured.

The baseline, in the same run and on the same worker and broker: a trivial task sent at the same rate
straight from the client, timed from `apply_async` to the task's start. It is what any design that
reacts through Celery pays; the rest is ours (ingest's after-commit hook, the evaluation, the guard
rails, rendering, the hand-off).

Prints one JSON line: ours_p50/p95/p99_ms, baseline_p50/p95/p99_ms, messages, ratio_p95.
"""

import argparse
import os
import random
import threading
import time
from typing import Any

from celery import shared_task

from benchmarks import common
from benchmarks.common import (
    bench_merchant_seed,
    broker_environment,
    celery_worker,
    django_setup,
    emit,
    gunicorn,
    note,
    percentile,
)

NAME = "trigger_latency"
DEFAULT_BROKER = "redis://127.0.0.1:6379/5"
BASELINE_KEY = "storeloop:bench:trigger-baseline"


_clients: dict[str, Any] = {}


@shared_task(name="benchmarks.trigger_baseline")
def trigger_baseline(sent_at: float, broker_url: str) -> None:
    """The baseline's task: records how long it took to start after it was sent."""
    started = time.time()
    if broker_url not in _clients:
        import redis

        _clients[broker_url] = redis.Redis.from_url(broker_url)
    _clients[broker_url].rpush(BASELINE_KEY, started - sent_at)


def reachable_everyone(merchant_id: int) -> None:
    """Every shopper of the merchant gets a confirmed email address and marketing consent (SQL, set-based)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO profiles_contactpoint
                (merchant_id, shopper_id, kind, value, is_verified, verified_at, created_at)
            SELECT merchant_id, id, 'email', 'bench' || id || '@example.com', true, now(), now()
              FROM profiles_shopper WHERE merchant_id = %(merchant)s
            ON CONFLICT DO NOTHING
            """,
            {"merchant": merchant_id},
        )
        cursor.execute(
            """
            INSERT INTO profiles_consentevent
                (merchant_id, shopper_id, channel, purpose, is_granted, occurred_at, source, source_ref,
                 wording_version, created_at)
            SELECT merchant_id, id, 'email', 'marketing', true, now() - interval '1 day',
                   'import', 'bench', '', now()
              FROM profiles_shopper WHERE merchant_id = %(merchant)s
            """,
            {"merchant": merchant_id},
        )
        cursor.execute("ANALYZE profiles_contactpoint; ANALYZE profiles_consentevent")


def no_quiet_hours(merchant: Any, *, cap: int) -> None:
    from campaigns.models import CampaignSettings

    CampaignSettings.objects.update_or_create(
        merchant=merchant,
        defaults={
            "quiet_hours_start": "00:00",
            "quiet_hours_end": "00:00",
            "frequency_cap_messages": cap,
            "frequency_cap_days": 7,
        },
    )


def campaign_with_message(merchant: Any, **fields: Any) -> Any:
    from campaigns.models import Campaign, MessageTemplate, Variant

    campaign = Campaign.objects.create(
        merchant=merchant, name=f"Bench {fields.get('kind')}", holdout_percent=0, **fields
    )
    variant = Variant.objects.create(merchant=merchant, campaign=campaign, key="A", weight=100)
    MessageTemplate.objects.create(
        merchant=merchant,
        variant=variant,
        language="en",
        subject="Thank you, {{ first_name }}",
        body="Hi {{ first_name }}, thanks for shopping with {{ merchant_name }}. You have {{ points_balance }} points.",
    )
    return campaign


def _paced(rate: float, seconds: float, action: Any) -> int:
    """Call action(number) `rate` times a second for `seconds`, on a fixed schedule (late calls catch up)."""
    interval = 1.0 / rate
    began = time.monotonic()
    count = int(rate * seconds)
    for number in range(count):
        delay = began + number * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        action(number)
    return count


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="purchases per second (default 20)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER)
    args = parser.parse_args(argv)

    common.SCRATCH_DATABASE = os.environ.get("BENCH_DATABASE", "storeloop_bench_campaigns")
    os.environ["LOG_LEVEL"] = "WARNING"  # stdout carries the JSON line only
    note(f"{NAME}: preparing the scratch database {common.SCRATCH_DATABASE}")
    env = broker_environment(django_setup(common.scratch_database_url()), args.broker)
    import http.client
    import json

    import redis
    from django.db import connection

    from campaigns.models import CampaignKind, OutboxMessage, Trigger
    from campaigns.services.launch import campaign_launch
    from profiles.models import Purchase

    bench = bench_merchant_seed(shoppers=3000, purchases=30_000)
    reachable_everyone(bench.merchant.pk)
    no_quiet_hours(bench.merchant, cap=1000)
    campaign = campaign_with_message(bench.merchant, kind=CampaignKind.REALTIME, trigger=Trigger.THANK_YOU)
    campaign_launch(campaign=campaign, actor=None)
    connection.close()
    redis.Redis.from_url(args.broker).delete(BASELINE_KEY)

    rng = random.Random(7)
    answered: dict[str, float] = {}
    failures = 0
    lock = threading.Lock()

    with (
        gunicorn(env, workers=args.workers) as port,
        celery_worker(env, concurrency=args.worker_concurrency, include="benchmarks.trigger_latency"),
    ):

        def post(number: int, prefix: str = "latency") -> None:
            nonlocal failures
            external_id = f"{prefix}-{number}"
            body = {
                "external_id": external_id,
                "amount_minor": 4200,
                "currency": "EUR",
                "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "channel": "in_store",
                "store": bench.store_ids[number % len(bench.store_ids)],
                "card_id": rng.choice(bench.card_tokens),
            }
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                client.request(
                    "POST",
                    "/api/v1/purchases",
                    json.dumps(body).encode(),
                    {
                        "Content-Type": "application/json",
                        "Host": "localhost",
                        "Authorization": f"Api-Key {bench.api_key}",
                    },
                )
                response = client.getresponse()
                response.read()
                if response.status == 201:
                    with lock:
                        answered[external_id] = time.time()
                else:
                    failures += 1
            finally:
                client.close()

        def post_async(number: int) -> None:
            # Requests overlap when the server is slow, as a steady stream of checkouts would.
            threading.Thread(target=post, args=(number,), daemon=True).start()

        # The baseline first, on an idle worker; then ours (whose backlog, if any, would delay the baseline).
        note(f"{NAME}: baseline, {args.rate:g} trivial tasks/s for {min(args.seconds, 15):g} s")
        _paced(args.rate, min(args.seconds, 15), lambda _number: trigger_baseline.delay(time.time(), args.broker))
        note(f"{NAME}: warming up")
        # Every gunicorn worker and worker process loads its code and connections before timing starts.
        _paced(args.rate, 5, lambda number: post(number, prefix="warm-up"))
        time.sleep(2)
        note(f"{NAME}: {args.rate:g} purchases/s for {args.seconds:g} s")
        _paced(args.rate, args.seconds, post_async)
        deadline = time.monotonic() + 60
        measured = [key for key in answered if key.startswith("latency-")]
        while time.monotonic() < deadline:
            done = OutboxMessage.objects.filter(campaign=campaign, status="sent").count()
            if done >= len(answered):
                break
            time.sleep(0.5)
        connection.close()

    purchase_by_external = dict(
        Purchase.objects.filter(merchant=bench.merchant, external_id__in=measured).values_list("pk", "external_id")
    )
    latencies = []
    for key, sent_at in OutboxMessage.objects.filter(campaign=campaign, status="sent").values_list(
        "dedupe_key", "sent_at"
    ):
        external_id = purchase_by_external.get(int(key.split(":")[1]))
        if external_id in answered:
            latencies.append((sent_at.timestamp() - answered[external_id]) * 1000)
    baseline = [float(value) * 1000 for value in redis.Redis.from_url(args.broker).lrange(BASELINE_KEY, 0, -1)]
    figure = emit(
        bench=NAME,
        ours_p50_ms=round(percentile(latencies, 0.50), 1),
        ours_p95_ms=round(percentile(latencies, 0.95), 1),
        ours_p99_ms=round(percentile(latencies, 0.99), 1),
        messages=len(latencies),
        purchases=len(measured),
        errors=failures,
        baseline_p50_ms=round(percentile(baseline, 0.50), 1),
        baseline_p95_ms=round(percentile(baseline, 0.95), 1),
        baseline_p99_ms=round(percentile(baseline, 0.99), 1),
        ratio_p95=round(percentile(latencies, 0.95) / percentile(baseline, 0.95), 2) if baseline else None,
        rate=args.rate,
        seconds=args.seconds,
        worker_concurrency=args.worker_concurrency,
    )
    return [figure]


if __name__ == "__main__":
    main()
