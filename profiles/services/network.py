"""The payment-network feed: signed transaction events from card-linking providers.

Receiving is fast and does little: check the signature and the clock, store the
raw event once per event id, queue it after commit. Processing turns it into a
purchase: auth creates a provisional one, clearing confirms it (and its final
amount), refund reverses it.

Event body:
    {"id": "evt_…", "type": "transaction.auth" | "transaction.clearing" | "transaction.refund",
     "transaction": {"id": "txn_…", "amount": 12.50, "currency": "EUR",
                     "datetime": "2026-11-23T14:05:00", "cardPresent": true,
                     "card": {"id": "…", "firstNumbers": "411111", "lastNumbers": "1111", "scheme": "visa"},
                     "location": {"id": "LOC-1", "timezone": "Europe/Amsterdam"},
                     "identifiers": {"MID": "…"}, "refundTransactionId": "txn_…"}}
Signature header: `Storeloop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.raw_body">`.

`NetworkEvent` below states that body; fields it does not name are kept, not refused
(a provider adds fields without notice). Its shape is checked on receipt (a 400 names the
field); what it means (a known location, a parsable time) when it is processed, so such an
event is stored, fails with its reason, and can be replayed.
"""

import hashlib
import hmac
import secrets
import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import msgspec
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.api_input import LenientBody, from_validation_error
from core.errors import ApplicationError
from merchants import request_cache
from merchants.models import Merchant, Store
from profiles.models import (
    Channel,
    NetworkConnection,
    NetworkEvent,
    NetworkEventStatus,
    Purchase,
    PurchaseSource,
    PurchaseState,
)
from profiles.services import purchases

SIGNATURE_HEADER = "Storeloop-Signature"
TOLERANCE_SECONDS = 300
EVENT_TYPES = {"transaction.auth": "auth", "transaction.clearing": "clearing", "transaction.refund": "refund"}
# ISO 4217 currencies whose minor unit is not the cent.
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}


Identifier = str | int


class NetworkCard(LenientBody):
    id: Identifier | None = None
    first_numbers: str | None = msgspec.field(name="firstNumbers", default=None)
    last_numbers: str | None = msgspec.field(name="lastNumbers", default=None)
    scheme: str | None = None


class NetworkLocation(LenientBody):
    id: Identifier | None = None
    timezone: str | None = None


class NetworkIdentifiers(LenientBody):
    MID: Identifier | None = None


class NetworkTransaction(LenientBody):
    id: Identifier | None = None
    amount: Annotated[str | int | float, msgspec.Meta(description='Major units, e.g. "12.50" or 12.5')] | None = None
    currency: str | None = None
    occurred_at: (
        Annotated[str, msgspec.Meta(description="ISO 8601; local to the location when it has no offset")] | None
    ) = msgspec.field(name="datetime", default=None)
    card_present: bool | None = msgspec.field(name="cardPresent", default=None)
    card: NetworkCard | None = None
    location: NetworkLocation | None = None
    identifiers: NetworkIdentifiers | None = None
    refund_transaction_id: Identifier | None = msgspec.field(name="refundTransactionId", default=None)


class NetworkEventBody(LenientBody):
    """One transaction event of a card-linking network; fields not named here are kept as sent."""

    id: Annotated[str, msgspec.Meta(min_length=1, description="The event id; an event is accepted once.")]
    type: Literal[tuple(EVENT_TYPES)]  # type: ignore[valid-type]
    transaction: NetworkTransaction


def _event_body(payload: Any) -> NetworkEventBody:
    try:
        return msgspec.convert(payload, NetworkEventBody)
    except msgspec.ValidationError as error:
        raise from_validation_error(error) from None


class SignatureError(ApplicationError):
    status_code = 401
    default_code = "invalid_signature"


def sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts on `body` (used by simulate_network and tests)."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def verify_signature(*, secret: str, body: bytes, header: str, now: float | None = None) -> None:
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        moment = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError) as error:
        raise SignatureError(f"Send `{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC>`.") from error
    current = time.time() if now is None else now
    # In whole seconds: an int of any size compares; a float of it could overflow.
    if abs(int(current) - moment) > TOLERANCE_SECONDS:
        raise SignatureError(
            "The signature's timestamp is more than five minutes from now; re-sign the event.", code="stale_signature"
        )
    expected = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise SignatureError("The signature does not match the body.")


@dataclass(frozen=True)
class Received:
    event: NetworkEvent
    is_new: bool


@transaction.atomic
def network_connection_create(*, merchant: Merchant, name: str) -> NetworkConnection:
    Merchant.objects.filter(pk=merchant.pk).update(has_network_feed=True)
    merchant.has_network_feed = True
    request_cache.merchant_forget(merchant=merchant)
    return NetworkConnection.objects.create(merchant=merchant, name=name, signing_secret=secrets.token_urlsafe(32))


def network_event_receive(*, connection: NetworkConnection, body: bytes, signature: str) -> Received:
    """Verify, store once per event id, and queue processing after commit."""
    verify_signature(secret=connection.signing_secret, body=body, header=signature)
    try:
        payload = msgspec.json.decode(body)  # stored as sent, fields we do not read included
    except msgspec.DecodeError as error:
        raise ApplicationError("The body is not JSON.", code="invalid_json") from error
    _event_body(payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = NetworkEvent.objects.create(
                    merchant_id=connection.merchant_id,
                    connection=connection,
                    event_id=payload["id"][:100],
                    event_type=payload["type"],
                    payload=payload,
                )
        except IntegrityError:
            existing = NetworkEvent.objects.get(
                merchant_id=connection.merchant_id, connection=connection, event_id=payload["id"][:100]
            )
            return Received(event=existing, is_new=False)
        from profiles.tasks import process_network_event

        transaction.on_commit(lambda: process_network_event.delay(event.pk))
    return Received(event=event, is_new=True)


def _minor_units(amount: Any, currency: str) -> int:
    digits = _MINOR_DIGITS.get(currency, 2)
    try:
        value = Decimal(str(amount)) * (Decimal(10) ** digits)
    except (InvalidOperation, ValueError) as error:
        raise ApplicationError("`amount` is not a number.", code="invalid", field="transaction.amount") from error
    if value != value.to_integral_value():
        raise ApplicationError(
            f"`amount` has more decimals than {currency} allows.", code="invalid", field="transaction.amount"
        )
    return int(value)


def _occurred_at(transaction_data: NetworkTransaction, store: Store | None, merchant: Merchant) -> datetime:
    raw = transaction_data.occurred_at
    moment = parse_datetime(raw) if raw is not None else None
    if moment is None:
        raise ApplicationError("`datetime` is missing or not ISO 8601.", code="invalid", field="transaction.datetime")
    if timezone.is_naive(moment):
        # Networks report the location's local time.
        location = transaction_data.location
        zone = (location.timezone if location else None) or (store.timezone if store else merchant.timezone)
        try:
            moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ApplicationError(
                f"Unknown time zone {zone!r}.", code="invalid", field="transaction.location"
            ) from error
    return moment


def _store_for(merchant: Merchant, transaction_data: NetworkTransaction) -> Store | None:
    location, identifiers = transaction_data.location, transaction_data.identifiers
    ids = [
        str(value) for value in (location.id if location else None, identifiers.MID if identifiers else None) if value
    ]
    if not ids:
        return None
    return Store.objects.for_merchant(merchant).filter(network_location_ids__overlap=ids).first()


def _finish(event: NetworkEvent, status: str, detail: str = "", purchase: Purchase | None = None) -> NetworkEvent:
    event.status, event.detail, event.purchase = status, detail[:300], purchase
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "detail", "purchase", "processed_at"])
    return event


@transaction.atomic
def network_event_process(*, event_id: int) -> NetworkEvent | None:
    """Turn a stored event (of any merchant, by id) into a purchase change. Safe to run twice: a processed event is
    left alone."""
    event = (
        NetworkEvent.all_merchants.select_for_update(of=("self",))
        .select_related("merchant")
        .filter(pk=event_id, status=NetworkEventStatus.PENDING)
        .first()
    )
    if event is None:
        return None
    merchant = event.merchant
    kind = EVENT_TYPES[event.event_type]
    try:
        data = _event_body(event.payload).transaction
        with transaction.atomic():
            if kind == "refund":
                return _process_refund(event, merchant, data)
            return _process_purchase(event, merchant, data, kind)
    except ApplicationError as error:
        return _finish(event, NetworkEventStatus.FAILED, f"{error.code}: {error.message}")


def _process_purchase(event: NetworkEvent, merchant: Merchant, data: NetworkTransaction, kind: str) -> NetworkEvent:
    transaction_id = str(data.id or "")
    if not transaction_id:
        raise ApplicationError("The transaction has no `id`.", code="invalid", field="transaction.id")
    currency = data.currency or ""
    store = _store_for(merchant, data)
    card_present = bool(data.card_present)
    if card_present and store is None:
        raise ApplicationError(
            "No store has this location id or MID; add it under Settings → Stores and replay.",
            code="unknown_location",
        )
    amount = _minor_units(data.amount, currency)
    occurred_at = _occurred_at(data, store, merchant)
    state = PurchaseState.CLEARED if kind == "clearing" else PurchaseState.AUTHORISED

    existing = (
        Purchase.objects.for_merchant(merchant)
        .select_for_update(of=("self",))
        .select_related("merchant")
        .filter(network_transaction_id=transaction_id)
        .first()
    )
    if existing is not None:
        if kind == "clearing":
            purchases.purchase_change_value(
                purchase=existing,
                amount_minor=amount if amount != existing.amount_minor else None,
                state=PurchaseState.CLEARED if existing.state == PurchaseState.AUTHORISED else None,
            )
        return _finish(event, NetworkEventStatus.PROCESSED, f"{kind} of a known transaction", existing)

    result = purchases.purchase_record(
        merchant=merchant,
        data=purchases.PurchaseInput(
            external_id=transaction_id,
            network_transaction_id=transaction_id,
            amount_minor=amount,
            currency=currency,
            occurred_at=occurred_at,
            channel=Channel.IN_STORE if card_present else Channel.ONLINE,
            store=store,
            card_token=str(data.card.id) if data.card and data.card.id else None,
            source=PurchaseSource.NETWORK,
            state=state,
        ),
    )
    detail = "matched a checkout basket" if result.basket_matched else kind
    return _finish(event, NetworkEventStatus.PROCESSED, detail, result.purchase)


def _process_refund(event: NetworkEvent, merchant: Merchant, data: NetworkTransaction) -> NetworkEvent:
    original_id = str(data.refund_transaction_id or "")
    original = (
        Purchase.objects.for_merchant(merchant)
        .select_for_update(of=("self",))
        .filter(network_transaction_id=original_id)
        .first()
    )
    if not original_id or original is None:
        raise ApplicationError("The refunded transaction is unknown.", code="unknown_original")
    amount = abs(_minor_units(data.amount, data.currency or original.currency))
    remaining = original.amount_minor - original.refunded_minor  # read under the row lock
    if remaining == 0:
        return _finish(event, NetworkEventStatus.PROCESSED, "refund of an already refunded purchase", original)
    refunded = purchases.purchase_refund(
        merchant=merchant, purchase_id=original.pk, amount_minor=min(amount, remaining)
    )
    return _finish(event, NetworkEventStatus.PROCESSED, "refund", refunded)
