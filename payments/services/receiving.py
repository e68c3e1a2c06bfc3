"""Receiving a provider's webhook: verify it, keep it, queue its events. Fast, and nothing else.

The order is the adapters' (`providers.base.receive`): the body must be JSON and hold no card
number before anything else looks at it, then the provider's signature is checked over the raw
body with the source's secrets, then its events are read. Only then is anything stored:

- a delivery row with the body as sent and the headers the adapter reads (for replay and audit);
- one event row per event, unique per (source, event id): a provider's retry is recognised and
  answered as accepted again, never processed twice;
- the worker is asked, after commit, to process each new event.

A request refused before its signature is verified is logged without its body (it is nobody's
word, and it may hold a card number); one refused for a card number keeps only the field's path.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import error_body
from payments.models import DeliveryOutcome, EventStatus, PaymentEvent, PaymentSource, WebhookDelivery
from payments.providers import adapter_for
from payments.providers.base import (
    Acknowledgement,
    CardNumberError,
    Headers,
    PayloadError,
    ProviderError,
    ProviderEvent,
    SignatureError,
    load_json,
    refuse_card_numbers,
    refuse_card_numbers_in_headers,
)
from payments.services.sources import secrets_valid

logger = logging.getLogger(__name__)

# Headers kept with a delivery: what adapters read besides the body (topics, message ids), never cookies or auth.
_KEPT_HEADER_PREFIXES = ("x-", "stripe-", "fidel-", "content-type")


@dataclass(frozen=True)
class Received:
    """What to answer the provider, and what was stored."""

    status: int
    body: str
    content_type: str = "application/json"
    delivery: WebhookDelivery | None = None
    new_events: list[PaymentEvent] = field(default_factory=list)
    duplicate_events: int = 0
    event_ids: list[str] = field(default_factory=list)  # every event of the request, new or not


def _kept_headers(headers: Headers) -> dict[str, str]:
    return {
        name.lower(): value[:500]
        for name, value in headers.items()
        if name.lower().startswith(_KEPT_HEADER_PREFIXES) and "signature" not in name.lower()
    }


def _error_body(code: str, message: str, path: str = "") -> str:
    return msgspec.json.encode(error_body(code, message, {path: [message]} if path else None)).decode()


def _reject(source: PaymentSource, status: int, code: str, reason: str, path: str = "") -> Received:
    delivery = WebhookDelivery.objects.create(
        merchant_id=source.merchant_id, source=source, outcome=DeliveryOutcome.REJECTED, reason=reason[:300]
    )
    logger.info("payment webhook refused", extra={"source": source.pk, "code": code, "reason": reason})
    return Received(status=status, body=_error_body(code, reason, path), delivery=delivery)


def event_document(event: ProviderEvent) -> dict:
    """An event as stored: the adapter's reading of it, so a replay needs neither the body nor the adapter."""
    document: dict = msgspec.to_builtins(event)
    return document


def delivery_receive(
    *, source: PaymentSource, headers: Headers, raw_body: bytes, url: str, now: datetime | None = None
) -> Received:
    """Verify one webhook request of `source`, store it and its events, queue them; what to answer.

    The steps of `providers.base.receive`, one by one, since each failure is answered differently."""
    now = now or timezone.now()
    adapter = adapter_for(source.provider, account=source.account)
    try:
        refuse_card_numbers_in_headers(headers, adapter.identifier_headers)
        document = load_json(raw_body)
        refuse_card_numbers(document, adapter.identifier_fields)
    except CardNumberError as error:
        return _reject(source, 400, "card_number_rejected", error.reason, error.path)
    except PayloadError as error:
        return _reject(source, 400, "invalid_payload", error.reason, error.path)
    try:
        adapter.verify(headers, raw_body, url, secrets_valid(source=source, now=now), now)
    except SignatureError as error:
        reason = error.reason
        if error.code == "invalid_signature" and adapter.signs_url:
            reason += f". {source.get_provider_display()} signs the webhook URL too: it must post to exactly {url}"
        return _reject(source, adapter.signature_failure_status, error.code, reason)
    try:
        events = adapter.events_from(document, headers)
    except PayloadError as error:
        # Signed by the provider but not readable: kept (a fix and a replay may read it), and refused so
        # the provider's dashboard shows the error.
        with transaction.atomic():
            delivery = _delivery(source, headers, raw_body, url, outcome=DeliveryOutcome.REJECTED, reason=error.reason)
        return Received(status=400, body=_error_body("invalid_payload", error.reason, error.path), delivery=delivery)
    with transaction.atomic():
        delivery = _delivery(source, headers, raw_body, url, outcome=DeliveryOutcome.ACCEPTED, count=len(events))
        return _store(source, adapter.acknowledgement(), delivery, events)


def _delivery(
    source: PaymentSource,
    headers: Headers,
    raw_body: bytes,
    url: str,
    *,
    outcome: str,
    reason: str = "",
    count: int = 0,
) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        merchant_id=source.merchant_id,
        source=source,
        outcome=outcome,
        reason=reason[:300],
        body=raw_body.decode("utf-8"),
        headers=_kept_headers(headers),
        url=url[:500],
        event_count=count,
    )


def _store(
    source: PaymentSource, acknowledgement: Acknowledgement, delivery: WebhookDelivery, events: list[ProviderEvent]
) -> Received:
    """The delivery's events, once each per (source, event id), queued after commit. Call inside a transaction."""
    new_events: list[PaymentEvent] = []
    duplicates = 0
    for event in events:
        row = PaymentEvent(
            merchant_id=source.merchant_id,
            source=source,
            delivery=delivery,
            event_id=event.event_id[:200],
            event_type=event.event_type[:60],
            kind=event.kind.value,
            transaction_id=event.transaction_id[:100],
            original_transaction_id=event.original_transaction_id[:100],
            location_id=event.location_id[:100],
            data=event_document(event),
            status=EventStatus.PAUSED if source.is_paused else EventStatus.RECEIVED,
            detail="held while the source is paused" if source.is_paused else "",
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            duplicates += 1  # a retry or a replay by the provider: accepted, not processed again
            continue
        new_events.append(row)
    if not source.is_paused and new_events:
        from payments.tasks import process_payment_events

        ids = [row.pk for row in new_events]
        transaction.on_commit(lambda: process_payment_events.delay(ids))
    return Received(
        status=acknowledgement.status,
        body=acknowledgement.body,
        content_type=acknowledgement.content_type,
        delivery=delivery,
        new_events=new_events,
        duplicate_events=duplicates,
        event_ids=[event.event_id for event in events],
    )


def delivery_reread(*, delivery: WebhookDelivery) -> list[ProviderEvent]:
    """The events of a kept delivery, read again by today's adapter (after a fix); ProviderError if it still fails."""
    source = delivery.source
    adapter = adapter_for(source.provider, account=source.account)
    document = msgspec.json.decode(delivery.body.encode("utf-8"))
    return adapter.events_from(document, delivery.headers)


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery) -> Received:
    """Read a kept but refused delivery again and store its events as if it had just arrived."""
    if not delivery.body:
        raise ProviderError("this delivery was refused before its signature was verified; nothing was kept")
    events = delivery_reread(delivery=delivery)
    delivery.outcome, delivery.reason, delivery.event_count = DeliveryOutcome.ACCEPTED, "", len(events)
    delivery.save(update_fields=["outcome", "reason", "event_count"])
    adapter = adapter_for(delivery.source.provider, account=delivery.source.account)
    return _store(delivery.source, adapter.acknowledgement(), delivery, events)
