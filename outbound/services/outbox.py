"""The outbox: a change becomes an event row and one delivery per subscribed endpoint, in the change's transaction.

Nothing is written when no endpoint of the merchant wants the event, which the purchase path learns from the
cache (invalidated whenever an endpoint changes), without a query. The drain is queued once per endpoint and
transaction, after commit: a rolled-back change sends nothing.
"""

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from merchants.models import Merchant
from outbound.models import Delivery, DeliveryStatus, Endpoint, Event


def event_public_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


_SUBSCRIBED_KEY = "outbound:subscribed-events:{merchant_id}"
# Each process also keeps the answer this long, so the purchase path (a thousand purchases a batch, each
# asking) does not make a cache round trip per purchase: another process learns of a new endpoint within
# these seconds; the process that changed it at once.
_LOCAL_SECONDS = 2.0
_local: dict[int, tuple[float, frozenset[str]]] = {}


def subscribed_event_types(*, merchant_id: int) -> frozenset[str]:
    """The events any endpoint of the merchant takes, cached (the purchase path asks once per purchase)."""
    now = time.monotonic()
    held = _local.get(merchant_id)
    if held is not None and held[0] > now:
        return held[1]
    key = _SUBSCRIBED_KEY.format(merchant_id=merchant_id)
    cached = cache.get(key)
    if cached is None:
        rows = Endpoint.objects.filter(merchant=merchant_id).values_list("events", flat=True)
        cached = sorted({event_type for events in rows for event_type in events})
        cache.set(key, cached, timeout=300)
    types = frozenset(cached)
    _local[merchant_id] = (now + _LOCAL_SECONDS, types)
    return types


def subscriptions_forget(*, merchant_id: int) -> None:
    """After an endpoint is added, changed or removed: now, and again once committed (a read between the two
    could have cached the rows as they were)."""
    key = _SUBSCRIBED_KEY.format(merchant_id=merchant_id)

    def forget() -> None:
        _local.pop(merchant_id, None)
        cache.delete(key)

    forget()
    transaction.on_commit(forget)


def endpoints_for(*, merchant: Merchant | int, event_type: str, origin: str | None = None) -> list[int]:
    """Ids of the endpoints (paused ones too: they catch up on resume) that take this event, minus its origin's."""
    endpoints = Endpoint.objects.filter(merchant=merchant, events__contains=[event_type])
    if origin:
        endpoints = endpoints.filter(Q(api_key__isnull=True) | ~Q(api_key__prefix=origin))
    return list(endpoints.values_list("pk", flat=True))


def event_record(
    *,
    merchant: Merchant | int,
    event_type: str,
    build: Callable[[], tuple[str, dict[str, Any]]],
    origin: str | None = None,
) -> Event | None:
    """Append the change for every endpoint that wants it. `build` returns (shopper key, data), called only then.

    Call inside the transaction that made the change.
    """
    merchant_id = merchant if isinstance(merchant, int) else merchant.pk
    if event_type not in subscribed_event_types(merchant_id=merchant_id):
        return None
    endpoint_ids = endpoints_for(merchant=merchant, event_type=event_type, origin=origin)
    if not endpoint_ids:
        return None
    shopper_key, data = build()
    now = timezone.now()
    event = Event.objects.create(
        merchant_id=merchant_id,
        public_id=event_public_id(),
        type=event_type,
        shopper_key=shopper_key,
        data=data,
        origin=origin or "",
        created_at=now,
    )
    deliveries_queue(event=event, endpoint_ids=endpoint_ids)
    return event


def deliveries_queue(*, event: Event, endpoint_ids: Iterable[int]) -> list[Delivery]:
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                merchant_id=event.merchant_id,
                endpoint_id=endpoint_id,
                event=event,
                shopper_key=event.shopper_key,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint_id in endpoint_ids
        ]
    )
    drain_after_commit(endpoint_ids=[delivery.endpoint_id for delivery in deliveries])
    return deliveries


def shopper_events_redact(*, merchant: Merchant | int, shopper_key: str, keep: Event | None) -> int:
    """An erased shopper: earlier events keep no personal data, and what was not yet sent is not sent."""
    events = Event.objects.filter(merchant=merchant, shopper_key=shopper_key)
    waiting = Delivery.objects.filter(merchant=merchant, shopper_key=shopper_key, status=DeliveryStatus.PENDING)
    if keep is not None:
        events = events.exclude(pk=keep.pk)
        waiting = waiting.exclude(event=keep)
    # By the delivery's key, not its event's: a merged profile's waiting deliveries carry the survivor's key.
    waiting.update(status=DeliveryStatus.CANCELLED, last_error="The shopper was erased.", finished_at=timezone.now())
    return events.update(data={"shopper_id": shopper_key, "redacted": True})


def shopper_deliveries_follow_merge(*, merchant: Merchant | int, merged_key: str, survivor_key: str) -> int:
    """A merge: what still waits for the merged profile joins the survivor's queue, in the order it was made.

    Queues are ordered by delivery id, so the merged profile's waiting deliveries fall in among the
    survivor's by when each change happened; one held for a retry holds the survivor's later ones too.
    Delivered, failed and cancelled deliveries keep their key (the history of what went out stays as it
    went), and an undo does not move anything back: what waits is sent under the key it was re-queued on.
    Call inside the merge's transaction. Returns how many deliveries moved.
    """
    return Delivery.objects.filter(merchant=merchant, shopper_key=merged_key, status=DeliveryStatus.PENDING).update(
        shopper_key=survivor_key
    )


_PENDING_ATTRIBUTE = "_outbound_drains"


def drain_after_commit(*, endpoint_ids: Iterable[int]) -> None:
    """Queue one drain per endpoint once the transaction commits, however many events it appended.

    In a test (one transaction that never commits), run every change whose deliveries should go inside
    django_capture_on_commit_callbacks(execute=True): a drain registered outside one never runs, and stands
    for the endpoint until the test's transaction ends.
    """
    from outbound import tasks  # the tasks module calls these services

    ids = set(endpoint_ids)
    if not connection.in_atomic_block:
        for endpoint_id in sorted(ids):
            tasks.endpoint_drain.delay(endpoint_id)
        return
    # Keyed on the transaction's own list of commit callbacks, which Django replaces after a commit or a rollback.
    hooks, queued = getattr(connection, _PENDING_ATTRIBUTE, (None, set[int]()))
    if hooks is not connection.run_on_commit:
        hooks, queued = connection.run_on_commit, set()
        setattr(connection, _PENDING_ATTRIBUTE, (hooks, queued))
    for endpoint_id in sorted(ids - queued):
        queued.add(endpoint_id)

        def drain(endpoint_id: int = endpoint_id, queued: set[int] = queued) -> None:
            queued.discard(endpoint_id)
            tasks.endpoint_drain.delay(endpoint_id)

        transaction.on_commit(drain)
