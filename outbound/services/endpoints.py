"""Endpoints as staff manage them: add, rotate the secret, pause, resume, replay. Each leaves an audit event."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, ConflictError
from merchants.models import Merchant, MerchantAPIKey, User
from merchants.services import audit_event_record
from outbound import signing
from outbound.addresses import url_check
from outbound.models import PAUSED_BY_STAFF, Delivery, DeliveryStatus, Endpoint, EventType
from outbound.services.outbox import deliveries_queue, drain_after_commit, subscriptions_forget

SECRET_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS = 20


@dataclass(frozen=True)
class NewSecret:
    endpoint: Endpoint
    secret: str


def _check_events(events: Sequence[str]) -> list[str]:
    chosen = sorted(set(events))
    if not chosen:
        raise ApplicationError("Pick at least one event.", code="events_required", field="events")
    unknown = set(chosen) - set(EventType.values)
    if unknown:
        raise ApplicationError(f"Unknown event: {', '.join(sorted(unknown))}.", code="invalid", field="events")
    return chosen


@transaction.atomic
def endpoint_create(
    *,
    merchant: Merchant,
    actor: User | None,
    url: str,
    events: Sequence[str],
    description: str = "",
    api_key: MerchantAPIKey | None = None,
) -> NewSecret:
    """Register an endpoint; its signing secret is returned here once and never shown again."""
    url_check(url)
    chosen = _check_events(events)
    if api_key is not None and api_key.merchant_id != merchant.pk:
        raise ApplicationError("No such API key.", code="not_found", field="api_key")
    if Endpoint.objects.filter(merchant=merchant).count() >= MAX_ENDPOINTS:
        raise ConflictError(f"A merchant has at most {MAX_ENDPOINTS} endpoints.", code="too_many_endpoints")
    secret = signing.secret_generate()
    endpoint = Endpoint.objects.create(
        merchant=merchant, url=url, events=chosen, description=description, api_key=api_key, secret=secret
    )
    subscriptions_forget(merchant_id=merchant.pk)
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="webhook.endpoint_created",
        subject=url,
        events=chosen,
        api_key=api_key.prefix if api_key else "",
    )
    return NewSecret(endpoint=endpoint, secret=secret)


@transaction.atomic
def endpoint_update(
    *, endpoint: Endpoint, actor: User | None, url: str, events: Sequence[str], description: str
) -> Endpoint:
    url_check(url)
    chosen = _check_events(events)
    changes = {
        name: value
        for name, value in (("url", url), ("events", chosen), ("description", description))
        if getattr(endpoint, name) != value
    }
    if not changes:
        return endpoint
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=list(changes))
    subscriptions_forget(merchant_id=endpoint.merchant_id)
    audit_event_record(
        merchant=endpoint.merchant,
        actor=actor,
        action="webhook.endpoint_changed",
        subject=endpoint.url,
        changes={name: value if name == "events" else str(value) for name, value in changes.items()},
    )
    return endpoint


@transaction.atomic
def secret_rotate(*, endpoint: Endpoint, actor: User | None, overlap: timedelta = SECRET_OVERLAP) -> NewSecret:
    """A new secret signs from now on; the old one signs too (a second signature) until the overlap ends."""
    endpoint = Endpoint.objects.select_for_update().get(merchant=endpoint.merchant_id, pk=endpoint.pk)
    secret = signing.secret_generate()
    endpoint.previous_secret, endpoint.secret = endpoint.secret, secret
    endpoint.previous_secret_expires_at = timezone.now() + overlap
    endpoint.save(update_fields=["previous_secret", "secret", "previous_secret_expires_at"])
    audit_event_record(
        merchant=endpoint.merchant,
        actor=actor,
        action="webhook.secret_rotated",
        subject=endpoint.url,
        overlap_hours=round(overlap.total_seconds() / 3600, 2),
    )
    return NewSecret(endpoint=endpoint, secret=secret)


@transaction.atomic
def endpoint_pause(*, endpoint: Endpoint, actor: User | None) -> Endpoint:
    """Stop sending. Changes still queue up for the endpoint and go out, in order, on resume."""
    updated = Endpoint.objects.filter(merchant=endpoint.merchant_id, pk=endpoint.pk, is_active=True).update(
        is_active=False, paused_reason=PAUSED_BY_STAFF, paused_at=timezone.now()
    )
    if updated:
        audit_event_record(
            merchant=endpoint.merchant, actor=actor, action="webhook.endpoint_paused", subject=endpoint.url
        )
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def endpoint_resume(*, endpoint: Endpoint, actor: User | None) -> Endpoint:
    updated = Endpoint.objects.filter(merchant=endpoint.merchant_id, pk=endpoint.pk, is_active=False).update(
        is_active=True, paused_reason="", paused_at=None, failing_since=None
    )
    if updated:
        now = timezone.now()
        # What waited while paused goes out now; its day of retries starts with its first attempt.
        Delivery.objects.filter(merchant=endpoint.merchant_id, endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            next_attempt_at=now
        )
        audit_event_record(
            merchant=endpoint.merchant, actor=actor, action="webhook.endpoint_resumed", subject=endpoint.url
        )
        drain_after_commit(endpoint_ids=[endpoint.pk])
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint, actor: User | None) -> None:
    audit_event_record(merchant=endpoint.merchant, actor=actor, action="webhook.endpoint_deleted", subject=endpoint.url)
    endpoint.delete()
    subscriptions_forget(merchant_id=endpoint.merchant_id)


@transaction.atomic
def delivery_replay(*, delivery: Delivery, actor: User | None) -> Delivery:
    """Send the event again as a new delivery, at the end of its shopper's queue."""
    if delivery.event.data.get("redacted"):
        raise ConflictError("This shopper was erased; the event is no longer kept.", code="event_redacted")
    (replayed,) = deliveries_queue(event=delivery.event, endpoint_ids=[delivery.endpoint_id])
    audit_event_record(
        merchant=delivery.endpoint.merchant,
        actor=actor,
        action="webhook.delivery_replayed",
        subject=delivery.endpoint.url,
        event=delivery.event.public_id,
        event_type=delivery.event.type,
    )
    return replayed
