"""broadcast: a campaign to a 100,000-shopper segment, messages handed to the email backend per second.

    python -m benchmarks.broadcast [--shoppers 100000] [--worker-concurrency 3] [--baseline 10000] [--broker URL]

The scratch database gets a merchant whose shoppers all have a confirmed address and marketing
consent (a tenth of them also had a message from another campaign this week, and the frequency cap is one
a week, so the cap stops those). A broadcast to a segment of all of them (no holdout) is launched; a real Celery
worker (prefork) on Redis claims the run, writes the chunks (assignments and outbox rows) and sends
them with every guard rail on (consent, confirmed contact, erased contacts, quiet hours, frequency
cap, the offer), rendering each message and handing it to Django's console email backend (output
discarded). Measured: from the launch to the last hand-off, messages per second.

The baseline, in the same run on the same worker: one Celery task per message (`--baseline` of them),
each handing one pre-written message to the same backend, with no database at all: the design
BENCHMARKS.md warns caps near 1,000/s.

Three worker processes by default on two cores: each spends part of its time waiting on the database.

Prints one JSON line: ours_messages_per_s, baseline_messages_per_s, ratio, sent, fan_out_s.
"""

import argparse
import os
import time
from typing import Any

from celery import shared_task

from benchmarks import common
from benchmarks.common import django_setup, emit, note
from benchmarks.trigger_latency import (
    DEFAULT_BROKER,
    broker_environment,
    campaign_with_message,
    celery_worker,
    no_quiet_hours,
    reachable_everyone,
)

NAME = "broadcast"
BASELINE_KEY = "storeloop:bench:broadcast-baseline"


_clients: dict[str, Any] = {}


def _redis(url: str) -> Any:
    """One client per worker process, so the baseline pays no connection per task."""
    import redis

    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url)
    return _clients[url]


@shared_task(name="benchmarks.broadcast_baseline")
def broadcast_baseline(number: int, broker_url: str) -> None:
    """One message, one task: hand a ready message to the email backend and record the moment."""
    from django.core.mail import EmailMessage

    EmailMessage(
        subject="Hello",
        body=f"Hi shopper {number}, see our new season.",
        to=[f"shopper{number}@example.com"],
        headers={"List-Unsubscribe": "<https://example.com/u>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    ).send()
    _redis(broker_url).rpush(BASELINE_KEY, time.time())


def shoppers_seed(*, merchant_id: int, count: int) -> None:
    """`count` reachable shoppers, written with set-based SQL (the generator is not what is measured)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO profiles_shopper
                (merchant_id, public_id, first_name, last_name, language, joined_via, status, created_at, updated_at)
            SELECT %(merchant)s, gen_random_uuid(), 'Shopper' || n, 'Bench', (ARRAY['en', 'ko', 'ar'])[1 + n %% 3],
                   'import', 'active', now(), now()
              FROM generate_series(1, %(count)s) AS n
            """,
            {"merchant": merchant_id, "count": count},
        )
        cursor.execute("ANALYZE profiles_shopper")
    reachable_everyone(merchant_id)  # a confirmed email and marketing consent each


def earlier_messages_seed(*, merchant: Any, share: int) -> None:
    """One shopper in `share` was messaged by another campaign two days ago (the frequency cap counts them)."""
    from django.db import connection

    other = campaign_with_message(merchant, kind="broadcast", status="completed")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH assigned AS (
                INSERT INTO campaigns_assignment
                    (merchant_id, campaign_id, shopper_id, dedupe_key, "group", assigned_at)
                SELECT merchant_id, %(campaign)s, id, 'broadcast', 'treatment', now() - interval '2 days'
                  FROM profiles_shopper WHERE merchant_id = %(merchant)s AND id %% %(share)s = 0
                RETURNING id, shopper_id
            )
            INSERT INTO campaigns_outboxmessage
                (merchant_id, campaign_id, shopper_id, dedupe_key, assignment_id, channel, status, reason, not_before,
                 attempts, "to", subject, body, provider_id, created_at, sent_at)
            SELECT %(merchant)s, %(campaign)s, shopper_id, 'broadcast', id, 'email', 'sent', '',
                   now() - interval '2 days', 1, '', 'Earlier', '', '',
                   now() - interval '2 days', now() - interval '2 days'
              FROM assigned
            """,
            {"merchant": merchant.pk, "campaign": other.pk, "share": share},
        )
        cursor.execute("ANALYZE campaigns_outboxmessage; ANALYZE campaigns_assignment")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n")[0])
    parser.add_argument("--shoppers", type=int, default=100_000, help="shoppers in the segment (default 100,000)")
    parser.add_argument("--baseline", type=int, default=10_000, help="one-task-per-message baseline size")
    parser.add_argument("--worker-concurrency", type=int, default=3, help="worker processes (default 3)")
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER)
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    args = parser.parse_args(argv)

    common.SCRATCH_DATABASE = os.environ.get("BENCH_DATABASE", "storeloop_bench_campaigns")
    os.environ["LOG_LEVEL"] = "WARNING"  # stdout carries the JSON line only
    note(f"{NAME}: preparing the scratch database {common.SCRATCH_DATABASE}")
    env = broker_environment(django_setup(common.scratch_database_url()), args.broker)
    import redis
    from django.db import connection
    from django.db.models import Max, Min

    from campaigns.models import CampaignKind, OutboxMessage, Segment
    from campaigns.services.launch import campaign_launch
    from merchants import services
    from merchants.models import User

    owner = User.objects.create_user(email="owner@bench.test", password=None)
    merchant = services.merchant_create(
        name="Bench", slug="bench", owner=owner, currency="EUR", timezone_name="Europe/Amsterdam"
    )
    note(f"{NAME}: {args.shoppers:,} reachable shoppers")
    shoppers_seed(merchant_id=merchant.pk, count=args.shoppers)
    earlier_messages_seed(merchant=merchant, share=10)
    no_quiet_hours(merchant, cap=1)
    segment = Segment.objects.create(merchant=merchant, name="Everyone", rules={"match": "all", "conditions": []})
    campaign = campaign_with_message(merchant, kind=CampaignKind.BROADCAST, segment=segment)
    broker = redis.Redis.from_url(args.broker)
    broker.delete(BASELINE_KEY)
    connection.close()

    with celery_worker(env, concurrency=args.worker_concurrency, include="benchmarks.broadcast"):
        note(f"{NAME}: baseline, {args.baseline:,} tasks of one message each")
        began = time.time()
        for number in range(args.baseline):
            broadcast_baseline.delay(number, args.broker)
        deadline = time.monotonic() + args.timeout
        while broker.llen(BASELINE_KEY) < args.baseline and time.monotonic() < deadline:
            time.sleep(0.5)
        stamps = [float(value) for value in broker.lrange(BASELINE_KEY, 0, -1)]
        baseline_rate = len(stamps) / (max(stamps) - began) if stamps else 0.0

        note(f"{NAME}: launching the broadcast")
        launched_at = time.time()
        campaign_launch(campaign=campaign, actor=owner)
        connection.close()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            unfinished = ("queued", "sending", "handing")
            pending = OutboxMessage.objects.filter(campaign=campaign, status__in=unfinished).count()
            written = campaign.runs.filter(finished_at__isnull=False).exists()
            if written and pending == 0:
                break
            time.sleep(1)
        connection.close()

    sent = OutboxMessage.objects.filter(campaign=campaign, status="sent")
    span = sent.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    run = campaign.runs.get()
    fan_out_s = (run.finished_at.timestamp() - launched_at) if run.finished_at else None
    count = sent.count()
    ours_rate = count / (span["last"].timestamp() - launched_at) if count else 0.0
    figure = emit(
        bench=NAME,
        ours_messages_per_s=round(ours_rate, 1),
        baseline_messages_per_s=round(baseline_rate, 1),
        ratio=round(ours_rate / baseline_rate, 2) if baseline_rate else None,
        sent=count,
        suppressed_frequency_cap=OutboxMessage.objects.filter(campaign=campaign, reason="frequency_cap").count(),
        audience=run.audience_count,
        fan_out_s=round(fan_out_s, 1) if fan_out_s is not None else None,
        total_s=round(span["last"].timestamp() - launched_at, 1) if count else None,
        worker_concurrency=args.worker_concurrency,
    )
    return [figure]


if __name__ == "__main__":
    main()
