"""Draining an endpoint's deliveries: signed POSTs, in order per shopper, retried with backoff for a day.

One worker drains an endpoint at a time (a PostgreSQL advisory lock). Each round takes the deliveries that
are due, at most `PER_SHOPPER` of each shopper's and only from the head of its queue, and sends the shoppers'
chains side by side on a thread pool: one shopper's deliveries go one after another and stop at the first
failure, which holds the rest of that shopper's queue (and no one else's) until the retry succeeds or a day has
passed. The HTTP pool is one per worker process.
"""

import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from itertools import groupby, repeat

import msgspec
import structlog
import urllib3
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.errors import ApplicationError
from merchants.services import audit_event_record
from outbound import signing
from outbound.addresses import url_check
from outbound.models import Attempt, Delivery, DeliveryStatus, Endpoint, Event

logger = structlog.get_logger(__name__)

RETRY_FOR = timedelta(hours=24)
PAUSE_AFTER_FAILING_FOR = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=2)
ROUND_SIZE = 1000
PER_SHOPPER = 50
USER_AGENT = "Storeloop-Webhooks/1"


@cache
def http_pool() -> urllib3.PoolManager:
    """Keep-alive connections, one pool per worker process (a forked worker builds its own on first use)."""
    timeout = settings.OUTBOUND_WEBHOOK_TIMEOUT_SECONDS
    return urllib3.PoolManager(
        num_pools=50,
        maxsize=settings.OUTBOUND_WEBHOOK_CONCURRENCY,
        block=False,
        retries=False,
        timeout=urllib3.Timeout(connect=min(timeout, 3.0), read=timeout),
    )


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: 30 s, 1 min, 2 min … capped at 2 h, each between half and all of it."""
    ceiling = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def event_body(event: Event) -> bytes:
    """What is signed and sent: the Standard Webhooks payload shape."""
    return msgspec.json.encode({"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data})


@dataclass
class Outcome:
    delivery_id: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class DrainReport:
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    paused: bool = False
    outcomes: list[Outcome] = field(default_factory=list)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    try:
        response = http_pool().request("POST", url, body=body, headers=headers, redirect=False, preload_content=True)
    except urllib3.exceptions.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:300]
    return response.status, ""


def _send_chain(
    url: str,
    live_secrets: list[str],
    chain: Sequence[Delivery],
    bodies: dict[int, bytes],
    events: dict[int, Event],
    clock: datetime | None,
) -> list[Outcome]:
    """One shopper's deliveries in order; the first failure stops the chain (the rest wait behind it)."""
    outcomes = []
    for delivery in chain:
        event = events[delivery.event_id]
        body = bodies[delivery.event_id]
        moment = clock or timezone.now()
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **signing.headers(
                secrets_live=live_secrets, message_id=event.public_id, timestamp=int(moment.timestamp()), body=body
            ),
        }
        started = time.perf_counter()
        status_code, error = _post(url, body, headers)
        outcome = Outcome(
            delivery_id=delivery.pk,
            attempted_at=moment,
            duration_ms=round((time.perf_counter() - started) * 1000),
            status_code=status_code,
            error=error or ("" if status_code is None or 200 <= status_code < 300 else f"HTTP {status_code}"),
        )
        outcomes.append(outcome)
        if not outcome.succeeded:
            break
    return outcomes


_DUE_SQL = f"""
    SELECT id FROM (
        SELECT id, next_attempt_at,
               row_number() OVER queue AS place,
               bool_or(next_attempt_at > %(now)s) OVER queue AS is_held
          FROM {Delivery._meta.db_table}
         WHERE endpoint_id = %(endpoint)s AND status = 'pending'
        WINDOW queue AS (PARTITION BY shopper_key ORDER BY id ROWS UNBOUNDED PRECEDING)
    ) AS queued
     WHERE NOT is_held AND place <= %(per_shopper)s
     ORDER BY id
     LIMIT %(limit)s
"""  # noqa: S608 - the table name comes from the model; values are bound


def _due(endpoint: Endpoint, now: datetime) -> list[Delivery]:
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, {"now": now, "endpoint": endpoint.pk, "per_shopper": PER_SHOPPER, "limit": ROUND_SIZE})
        ids = [row[0] for row in cursor.fetchall()]
    return list(Delivery.objects.filter(merchant=endpoint.merchant_id, pk__in=ids).order_by("shopper_key", "pk"))


def live_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    """The current secret, and the one it replaced while the overlap lasts."""
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def _lock(endpoint_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [f"outbound.endpoint:{endpoint_id}"])
        return bool(cursor.fetchone()[0])


def _unlock(endpoint_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [f"outbound.endpoint:{endpoint_id}"])


def endpoint_drain(*, endpoint_id: int, now: datetime | None = None, max_rounds: int = 100) -> DrainReport:
    """Send what is due for this endpoint. Safe to run twice at once: the second returns at once.

    Call outside a transaction: requests are made between the rounds' short transactions.
    """
    report = DrainReport()
    endpoint = Endpoint.all_merchants.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is None or not _lock(endpoint_id):
        return report
    try:
        try:
            url_check(endpoint.url)
        except ApplicationError as error:
            _endpoint_pause(endpoint=endpoint, reason=f"Paused automatically: {error.message}", now=now)
            report.paused = True
            return report
        with ThreadPoolExecutor(max_workers=settings.OUTBOUND_WEBHOOK_CONCURRENCY) as pool:
            for _round in range(max_rounds):
                moment = now or timezone.now()
                due = _due(endpoint, moment)
                if not due:
                    break
                events = Event.objects.filter(merchant=endpoint.merchant_id).in_bulk([d.event_id for d in due])
                bodies = {event_id: event_body(event) for event_id, event in events.items()}
                secrets = live_secrets(endpoint, moment)
                chains = [list(chain) for _key, chain in groupby(due, key=lambda d: d.shopper_key)]
                results = pool.map(
                    _send_chain,
                    repeat(endpoint.url),
                    repeat(secrets),
                    chains,
                    repeat(bodies),
                    repeat(events),
                    repeat(now),
                )
                outcomes = [outcome for chain_outcomes in results for outcome in chain_outcomes]
                if _outcomes_record(endpoint=endpoint, deliveries=due, outcomes=outcomes, now=now):
                    report.paused = True
                report.sent += len(outcomes)
                report.succeeded += sum(outcome.succeeded for outcome in outcomes)
                report.failed += sum(not outcome.succeeded for outcome in outcomes)
                report.outcomes.extend(outcomes)
                if report.paused or not any(outcome.succeeded for outcome in outcomes):
                    # Nothing got through: the endpoint is down, so its queue waits for the sweep's next visit
                    # rather than spending every due delivery's timeout now.
                    break
    finally:
        _unlock(endpoint_id)
    return report


_SAVE_SQL = f"""
    UPDATE {Delivery._meta.db_table} AS delivery
       SET attempts = moved.attempts, first_attempt_at = moved.first_attempt_at,
           last_status_code = moved.last_status_code, last_error = moved.last_error,
           last_duration_ms = moved.last_duration_ms, status = moved.status, finished_at = moved.finished_at,
           next_attempt_at = moved.next_attempt_at
      FROM unnest(%(id)s::bigint[], %(attempts)s::int[], %(first_attempt_at)s::timestamptz[],
                  %(last_status_code)s::int[], %(last_error)s::text[], %(last_duration_ms)s::int[],
                  %(status)s::text[], %(finished_at)s::timestamptz[], %(next_attempt_at)s::timestamptz[])
           AS moved(id, attempts, first_attempt_at, last_status_code, last_error, last_duration_ms, status,
                    finished_at, next_attempt_at)
     WHERE delivery.id = moved.id
"""  # noqa: S608 - the table name comes from the model; values are bound
_SAVED_FIELDS = (
    "id",
    "attempts",
    "first_attempt_at",
    "last_status_code",
    "last_error",
    "last_duration_ms",
    "status",
    "finished_at",
    "next_attempt_at",
)


def _deliveries_save(deliveries: list[Delivery]) -> None:
    """One statement for a round's deliveries (bulk_update's CASE per row grows quadratically with the round)."""
    if not deliveries:
        return
    with connection.cursor() as cursor:
        cursor.execute(_SAVE_SQL, {name: [getattr(d, name) for d in deliveries] for name in _SAVED_FIELDS})


@transaction.atomic
def _outcomes_record(
    *, endpoint: Endpoint, deliveries: list[Delivery], outcomes: list[Outcome], now: datetime | None
) -> bool:
    """Write each attempt and move its delivery on; True when the endpoint was paused for failing a day."""
    by_id = {delivery.pk: delivery for delivery in deliveries}
    changed = []
    for outcome in outcomes:
        delivery = by_id[outcome.delivery_id]
        delivery.attempts += 1
        delivery.first_attempt_at = delivery.first_attempt_at or outcome.attempted_at
        delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
        delivery.last_duration_ms = outcome.duration_ms
        if outcome.succeeded:
            delivery.status, delivery.finished_at = DeliveryStatus.SUCCEEDED, outcome.attempted_at
        elif outcome.attempted_at - delivery.first_attempt_at >= RETRY_FOR:
            delivery.status, delivery.finished_at = DeliveryStatus.FAILED, outcome.attempted_at
        else:
            delivery.next_attempt_at = outcome.attempted_at + retry_delay(delivery.attempts)
        changed.append(delivery)
    _deliveries_save(changed)
    Attempt.objects.bulk_create(
        [
            Attempt(
                merchant_id=endpoint.merchant_id,
                delivery_id=outcome.delivery_id,
                attempted_at=outcome.attempted_at,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
            for outcome in outcomes
        ]
    )
    moment = now or timezone.now()
    if any(outcome.succeeded for outcome in outcomes):
        if endpoint.failing_since is not None:
            Endpoint.objects.filter(merchant=endpoint.merchant_id, pk=endpoint.pk).update(failing_since=None)
            endpoint.failing_since = None
        return False
    if not outcomes:
        return False
    if endpoint.failing_since is None:
        Endpoint.objects.filter(merchant=endpoint.merchant_id, pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=moment
        )
        endpoint.failing_since = moment
        return False
    if moment - endpoint.failing_since >= PAUSE_AFTER_FAILING_FOR:
        _endpoint_pause(endpoint=endpoint, reason="Paused automatically: every delivery failed for a day.", now=now)
        return True
    return False


def _endpoint_pause(*, endpoint: Endpoint, reason: str, now: datetime | None) -> None:
    moment = now or timezone.now()
    Endpoint.objects.filter(merchant=endpoint.merchant_id, pk=endpoint.pk).update(
        is_active=False, paused_reason=reason, paused_at=moment
    )
    audit_event_record(
        merchant=endpoint.merchant, actor=None, action="webhook.endpoint_paused", subject=endpoint.url, reason=reason
    )
    logger.warning("webhook_endpoint_paused", endpoint=endpoint.pk, reason=reason)


def endpoints_due(*, now: datetime | None = None) -> list[int]:
    """Active endpoints with a delivery due: the periodic sweep drains them (retries, and any drain lost)."""
    moment = now or timezone.now()
    return list(
        Delivery.all_merchants.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=moment, endpoint__is_active=True
        )
        .values_list("endpoint_id", flat=True)
        .distinct()
        .order_by("endpoint_id")
    )
