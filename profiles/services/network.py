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
"""

import hashlib
import hmac
import json
import secrets
import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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
    if abs(current - moment) > TOLERANCE_SECONDS:
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
        payload = json.loads(body)
    except ValueError as error:
        raise ApplicationError("The body is not JSON.", code="invalid_json") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"]:
        raise ApplicationError("An event needs a string `id`.", code="invalid", field="id")
    if payload.get("type") not in EVENT_TYPES:
        raise ApplicationError(f"`type` must be one of {', '.join(EVENT_TYPES)}.", code="invalid", field="type")
    if not isinstance(payload.get("transaction"), dict):
        raise ApplicationError("An event needs its `transaction`.", code="invalid", field="transaction")
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


def _occurred_at(transaction_data: dict[str, Any], store: Store | None, merchant: Merchant) -> datetime:
    raw = transaction_data.get("datetime")
    moment = parse_datetime(raw) if isinstance(raw, str) else None
    if moment is None:
        raise ApplicationError("`datetime` is missing or not ISO 8601.", code="invalid", field="transaction.datetime")
    if timezone.is_naive(moment):
        # Networks report the location's local time.
        zone = (transaction_data.get("location") or {}).get("timezone") or (
            store.timezone if store else merchant.timezone
        )
        try:
            moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ApplicationError(
                f"Unknown time zone {zone!r}.", code="invalid", field="transaction.location"
            ) from error
    return moment


def _store_for(merchant: Merchant, transaction_data: dict[str, Any]) -> Store | None:
    ids = [
        str(value)
        for value in (
            (transaction_data.get("location") or {}).get("id"),
            (transaction_data.get("identifiers") or {}).get("MID"),
        )
        if value
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
    data = event.payload["transaction"]
    kind = EVENT_TYPES[event.event_type]
    try:
        with transaction.atomic():
            if kind == "refund":
                return _process_refund(event, merchant, data)
            return _process_purchase(event, merchant, data, kind)
    except ApplicationError as error:
        return _finish(event, NetworkEventStatus.FAILED, f"{error.code}: {error.message}")


def _process_purchase(event: NetworkEvent, merchant: Merchant, data: dict[str, Any], kind: str) -> NetworkEvent:
    transaction_id = str(data.get("id") or "")
    if not transaction_id:
        raise ApplicationError("The transaction has no `id`.", code="invalid", field="transaction.id")
    currency = str(data.get("currency") or "")
    store = _store_for(merchant, data)
    card_present = bool(data.get("cardPresent"))
    if card_present and store is None:
        raise ApplicationError(
            "No store has this location id or MID; add it under Settings → Stores and replay.",
            code="unknown_location",
        )
    amount = _minor_units(data.get("amount"), currency)
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
            card_token=str((data.get("card") or {}).get("id") or "") or None,
            source=PurchaseSource.NETWORK,
            state=state,
        ),
    )
    detail = "matched a checkout basket" if result.basket_matched else kind
    return _finish(event, NetworkEventStatus.PROCESSED, detail, result.purchase)


def _process_refund(event: NetworkEvent, merchant: Merchant, data: dict[str, Any]) -> NetworkEvent:
    original_id = str(data.get("refundTransactionId") or "")
    original = (
        Purchase.objects.for_merchant(merchant)
        .select_for_update(of=("self",))
        .filter(network_transaction_id=original_id)
        .first()
    )
    if not original_id or original is None:
        raise ApplicationError("The refunded transaction is unknown.", code="unknown_original")
    amount = abs(_minor_units(data.get("amount"), str(data.get("currency") or original.currency)))
    remaining = original.amount_minor - original.refunded_minor  # read under the row lock
    if remaining == 0:
        return _finish(event, NetworkEventStatus.PROCESSED, "refund of an already refunded purchase", original)
    refunded = purchases.purchase_refund(
        merchant=merchant, purchase_id=original.pk, amount_minor=min(amount, remaining)
    )
    return _finish(event, NetworkEventStatus.PROCESSED, "refund", refunded)
