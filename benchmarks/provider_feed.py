"""provider_feed: signed provider events through the webhook to purchase rows, each provider against our own feed.

    python -m benchmarks.provider_feed [--requests 200] [--rounds 3] [--concurrency 4] [--providers stripe,square]
                                       [--workers 2] [--worker-concurrency 2] [--broker URL]

A real stack: gunicorn (sync workers, DEBUG off) for the webhook, a real Celery worker (prefork) running
`payments.process_events` on a real Redis broker (`--broker`, else CELERY_BROKER_URL, else
redis://127.0.0.1:6379/6), and the scratch database with the seeded bench merchant. Each provider has a
payment source as `simulate_network` makes one (secret, account, the stores' locations mapped) and the
merchant's linked cards carry the provider's identity for them, as a checkout enrolment would give them.

Traffic is the simulator's (`demo.provider_feeds`): authorisations, captures that follow them (a few for
another amount), the odd refund; 70 % on linked cards, some online. Each round's requests are built and
signed just before the round (signing is the provider's work, so it stays out of the timing, and every
signature is fresh for the providers' five-minute tolerance), then posted `--concurrency` at a time.

For each round: (a) accepted requests per second at the webhook; (b) events fully processed per second,
from the round's first request to the last of its events' `processed_at` (the worker's stamp), the
round's events all finished before the next round starts; (c) from each event's `received_at` to its
purchase row: the purchase's `created_at` when the event created it, else the event's `processed_at`
(a capture or refund changing an existing purchase). The baseline is our own (generic) feed through the
same webhook, in rounds of the same size alternating with each provider's (who goes first alternates
too), after a warm-up round of every feed.

Prints one JSON line per provider: ours_eps, baseline_eps (events processed per second), ratio,
p50/p95_ms (receipt → purchase row), baseline_p95_ms, accepted_rps, events, failed (events ending in
any status but processed or ignored, by status in `statuses`), http_errors.
"""

import argparse
import http.client
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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

NAME = "provider_feed"
BASELINE = "generic"
PROVIDERS = ("stripe", "square", "fidel", "adyen", "shopify")
DEFAULT_BROKER = "redis://127.0.0.1:6379/6"
FINISHED = ("processed", "ignored")  # what a sound event ends as; any other final status is counted as failed
ROUND_TIMEOUT_S = 120.0
STALL_S = 15.0  # no event of the round finished for this long: the rest are stuck

SignedRequest = tuple[bytes, dict[str, str]]


@dataclass
class Feed:
    """One provider's payment source at the bench merchant and the simulated payments it reports."""

    provider: str
    source: Any  # payments.models.PaymentSource
    secret: str
    signed_url: str  # what the provider signs (Square and Fidel sign the URL): webhook_url(source)
    path: str
    simulator: Any  # demo.provider_feeds.PaymentSimulator
    rng: random.Random

    def requests(self, count: int) -> list[SignedRequest]:
        """The next `count` webhook requests, in the provider's format, signed now."""
        from demo.provider_feeds import FORMATS, signed

        now = datetime.now(UTC)
        built = []
        for _number in range(count):
            step, payment = self.simulator.next_step()
            message = FORMATS[self.provider](step, payment, self.source.account, self.rng)
            built.append(
                signed(
                    self.provider,
                    message,
                    url=self.signed_url,
                    secret=self.secret,
                    account=self.source.account,
                    now=now,
                )
            )
        return built


def feed_prepare(*, merchant: Any, provider: str, cards: int, seed: int = 1) -> Feed:
    """The merchant's source for `provider` (made as `simulate_network` makes it) and a simulator over its
    stores and up to `cards` linked cards, each given the provider's identity."""
    from demo.management.commands.simulate_network import simulated_cards, simulated_source, store_location_id
    from demo.provider_feeds import PaymentSimulator
    from merchants.models import Store
    from payments.api import webhook_url
    from payments.services import sources

    stores = list(Store.objects.for_merchant(merchant).filter(is_active=True).order_by("pk"))
    source = simulated_source(merchant, provider, stores)
    rng = random.Random(f"{provider}-{seed}")
    simulator = PaymentSimulator(
        # The merchant's own currency, which every provider's payload then carries and every purchase accepts.
        currency=merchant.currency,
        locations=[(store_location_id(store), store.timezone) for store in stores],
        cards=simulated_cards(merchant, provider, source.account, limit=cards),
        rng=rng,
    )
    return Feed(
        provider=provider,
        source=source,
        secret=sources.secrets_valid(source=source)[0],
        signed_url=webhook_url(source),
        path=f"/api/v1/webhooks/{source.public_id}",
        simulator=simulator,
        rng=rng,
    )


@dataclass
class Posted:
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0  # connection errors

    @property
    def accepted(self) -> int:
        return self.statuses[200]

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - self.accepted + self.failures


def post_all(*, port: int, path: str, requests: Sequence[SignedRequest], concurrency: int) -> Posted:
    """POST every prepared request, `concurrency` at a time, each on a kept-alive connection where allowed."""
    posted = Posted()
    pending = iter(requests)
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        while True:
            with lock:
                request = next(pending, None)
            if request is None:
                break
            body, headers = request
            try:
                connection.request(
                    "POST", path, body, {**headers, "Content-Type": "application/json", "Host": "localhost"}
                )
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                with lock:
                    posted.failures += 1
                connection.close()
                continue
            with lock:
                posted.statuses[response.status] += 1
            if response.will_close:
                connection.close()
        connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _thread in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(timeout=ROUND_TIMEOUT_S)
    posted.seconds = time.monotonic() - began
    return posted


@dataclass
class EventRow:
    status: str
    received_at: datetime
    processed_at: datetime | None
    purchase_created_at: datetime | None


@dataclass
class RoundResult:
    """What one round of one feed measured; rounds of a feed add up."""

    events: int = 0
    posted_seconds: float = 0.0
    processed_seconds: float = 0.0  # first request → last event processed
    accepted: int = 0
    http_errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def accepted_rps(self) -> float:
        return self.accepted / self.posted_seconds if self.posted_seconds else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.processed_seconds if self.processed_seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(count for status, count in self.statuses.items() if status not in FINISHED)

    def add(self, other: "RoundResult") -> None:
        self.events += other.events
        self.posted_seconds += other.posted_seconds
        self.processed_seconds += other.processed_seconds
        self.accepted += other.accepted
        self.http_errors += other.http_errors
        self.statuses.update(other.statuses)
        self.latencies_ms.extend(other.latencies_ms)


def round_figures(rows: Sequence[EventRow], *, began: datetime, posted: Posted) -> RoundResult:
    """A round's figures from its event rows. Receipt → purchase row is the purchase's creation when this
    event created it (the row did not exist when the event arrived), else the event's processing."""
    result = RoundResult(
        events=len(rows), posted_seconds=posted.seconds, accepted=posted.accepted, http_errors=posted.errors
    )
    result.statuses.update(row.status for row in rows)
    finished = [row.processed_at for row in rows if row.processed_at is not None]
    if finished:
        result.processed_seconds = (max(finished) - began).total_seconds()
    for row in rows:
        if row.purchase_created_at is None or row.processed_at is None:
            continue  # no purchase (ignored, a card seen), or never processed: counted by status, not timed
        landed = row.purchase_created_at if row.purchase_created_at >= row.received_at else row.processed_at
        result.latencies_ms.append((landed - row.received_at).total_seconds() * 1000)
    return result


def round_run(feed: Feed, *, port: int, requests: int, concurrency: int) -> RoundResult:
    """Post one round of `feed` and wait until every event it brought is finished; its figures."""
    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from payments.models import EventStatus, PaymentEvent

    events = PaymentEvent.objects.for_merchant(feed.source.merchant).filter(source=feed.source)
    floor = events.aggregate(last=Max("pk"))["last"] or 0
    prepared = feed.requests(requests)
    began = timezone.now()  # the webhook, the worker and this process read one clock
    posted = post_all(port=port, path=feed.path, requests=prepared, concurrency=concurrency)
    round_events = events.filter(pk__gt=floor)
    # A refund that overtook its payment waits, and is replayed once the payment is recorded: wait for that too.
    # An event whose task failed stays received (until the periodic safety net, which is not running here):
    # when nothing has finished for a while, the round is over and the event counted as failed.
    unfinished = round_events.filter(status__in=[EventStatus.RECEIVED, EventStatus.WAITING])
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    left, progressed = unfinished.count(), time.monotonic()
    while left and time.monotonic() < deadline and time.monotonic() - progressed < STALL_S:
        time.sleep(0.05)
        now_left = unfinished.count()
        if now_left < left:
            left, progressed = now_left, time.monotonic()
    rows = [
        EventRow(*values)
        for values in round_events.values_list("status", "received_at", "processed_at", "purchase__created_at")
    ]
    # A failed event is a finding: say what it was.
    for status, event_type, detail in round_events.exclude(status__in=FINISHED).values_list(
        "status", "event_type", "detail"
    )[:5]:
        note(f"{NAME}: {feed.provider} {event_type} ended {status}: {detail}")
    connection.close()  # no connection idles in a transaction-less session while the next round runs
    return round_figures(rows, began=began, posted=posted)


def _figures(provider: str, ours: RoundResult, baseline: RoundResult, rounds: int) -> dict[str, Any]:
    others = {status: count for status, count in ours.statuses.items() if status not in FINISHED}
    return emit(
        bench=NAME,
        provider=provider,
        ours_eps=round(ours.events_per_second, 1),
        baseline_eps=round(baseline.events_per_second, 1),
        ratio=round(ours.events_per_second / baseline.events_per_second, 2) if baseline.events_per_second else None,
        p50_ms=round(percentile(ours.latencies_ms, 0.50), 1),
        p95_ms=round(percentile(ours.latencies_ms, 0.95), 1),
        baseline_p50_ms=round(percentile(baseline.latencies_ms, 0.50), 1),
        baseline_p95_ms=round(percentile(baseline.latencies_ms, 0.95), 1),
        accepted_rps=round(ours.accepted_rps, 1),
        baseline_accepted_rps=round(baseline.accepted_rps, 1),
        events=ours.events,
        timed=len(ours.latencies_ms),
        failed=ours.failed,
        statuses=others,
        baseline_failed=baseline.failed,
        http_errors=ours.http_errors,
        baseline_http_errors=baseline.http_errors,
        rounds=rounds,
    )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="webhook requests per round (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per provider (default 3)")
    parser.add_argument("--warm-up", type=int, default=50, help="requests of each feed's warm-up round (default 50)")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    parser.add_argument("--providers", default=",".join(PROVIDERS), help=f"default {','.join(PROVIDERS)}")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--cards", type=int, default=1000, help="linked cards each provider knows (default 1000)")
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER)
    args = parser.parse_args(argv)
    providers = [name.strip() for name in args.providers.split(",") if name.strip()]
    unknown = sorted(set(providers) - set(PROVIDERS))
    if unknown:
        parser.error(f"unknown provider {', '.join(unknown)}; choose from {', '.join(PROVIDERS)}")

    common.SCRATCH_DATABASE = os.environ.get("BENCH_DATABASE", "storeloop_bench_provider_feed")
    os.environ["LOG_LEVEL"] = "WARNING"  # stdout carries the JSON lines only
    note(f"{NAME}: preparing the scratch database {common.SCRATCH_DATABASE}")
    env = broker_environment(django_setup(common.scratch_database_url()), args.broker)
    from django.db import connection

    bench = bench_merchant_seed(shoppers=3000, purchases=30_000)
    note(f"{NAME}: a payment source per provider, {args.cards} linked cards given each provider's identity")
    feeds = {
        provider: feed_prepare(merchant=bench.merchant, provider=provider, cards=args.cards)
        for provider in (BASELINE, *providers)
    }
    connection.close()

    ours = {provider: RoundResult() for provider in providers}
    baseline = {provider: RoundResult() for provider in providers}
    with gunicorn(env, workers=args.workers) as port, celery_worker(env, concurrency=args.worker_concurrency):
        note(f"{NAME}: warming up, {args.warm_up} requests of each feed")
        for feed in feeds.values():
            round_run(feed, port=port, requests=args.warm_up, concurrency=args.concurrency)
        for number in range(args.rounds):
            for provider in providers:
                # Each provider's rounds alternate with the baseline's, who goes first alternating too.
                pair = (BASELINE, provider) if number % 2 == 0 else (provider, BASELINE)
                for name in pair:
                    result = round_run(feeds[name], port=port, requests=args.requests, concurrency=args.concurrency)
                    (baseline if name == BASELINE else ours)[provider].add(result)
                    note(
                        f"{NAME}: round {number + 1}/{args.rounds} {name:8} {result.events} events, "
                        f"{result.events_per_second:.0f}/s processed, {result.accepted_rps:.0f}/s accepted, "
                        f"p95 {percentile(result.latencies_ms, 0.95):.0f} ms"
                        + (f", {result.failed} failed {dict(result.statuses)}" if result.failed else "")
                    )
    return [_figures(provider, ours[provider], baseline[provider], args.rounds) for provider in providers]


if __name__ == "__main__":
    main()
