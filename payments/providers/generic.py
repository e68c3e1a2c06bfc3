"""Storeloop's own feed format, for a card-linking network or a till that has no format of its own.

Body:
    {"id": "evt_…", "type": "transaction.auth" | "transaction.clearing" | "transaction.refund",
     "transaction": {"id": "txn_…", "amount": "12.50", "currency": "EUR",
                     "datetime": "2026-11-23T14:05:00", "cardPresent": true,
                     "card": {"id": "…", "firstNumbers": "411111", "lastNumbers": "1111", "scheme": "visa"},
                     "location": {"id": "LOC-1", "timezone": "Europe/Amsterdam"},
                     "identifiers": {"MID": "…"}, "refundTransactionId": "txn_…"}}

`amount` is in major units (a refund's may be negative); `datetime` without an offset is local
time, read in `location.timezone`, else in the store's zone. `card.id` is the card's token as it
was enrolled through the API (`card.id` of POST /cards). Fields not named here are kept, not
refused: a sender adds fields without notice.

Signature header: `Storeloop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.raw_body">`,
within five minutes of our clock.
"""

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from core.providers import CardIdentityKind
from payments.providers.base import (
    CardIdentity,
    Channel,
    Document,
    Headers,
    JsonWebhookAdapter,
    Kind,
    PayloadError,
    ProviderEvent,
    SignatureError,
    as_object,
    boolean,
    check_timestamp,
    child,
    currency_code,
    header,
    join,
    local_to_utc,
    major_to_minor,
    matches_any,
    optional_child,
    require_secrets,
    text,
)

SIGNATURE_HEADER = "Storeloop-Signature"
TOLERANCE = timedelta(minutes=5)
EVENT_KINDS = {"transaction.auth": Kind.AUTH, "transaction.clearing": Kind.CAPTURE, "transaction.refund": Kind.REFUND}


def _digest(secret: str, timestamp: str, raw_body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + raw_body, hashlib.sha256).hexdigest()


def _parts(value: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in value.split(",") if "=" in part)


class GenericAdapter(JsonWebhookAdapter):
    provider = "generic"

    def verify(self, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime) -> None:
        require_secrets(secrets)
        value = header(headers, SIGNATURE_HEADER)
        parts = _parts(value)
        if "t" not in parts or "v1" not in parts:
            raise SignatureError(f'Send `{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.')
        check_timestamp(parts["t"], now, tolerance=TOLERANCE, unit=timedelta(seconds=1), name="the signature's t")
        if not matches_any(parts["v1"], (_digest(secret, parts["t"], raw_body) for secret in secrets if secret)):
            raise SignatureError("The signature does not match the body.")

    def sign(
        self, raw_body: bytes, *, url: str, secret: str, now: datetime, headers: Headers | None = None
    ) -> tuple[bytes, dict[str, str]]:
        timestamp = str(int(now.timestamp()))
        value = f"t={timestamp},v1={_digest(secret, timestamp, raw_body)}"
        return raw_body, {**(headers or {}), SIGNATURE_HEADER: value, "Content-Type": "application/json"}

    def events_from(self, document: Any, headers: Headers) -> list[ProviderEvent]:
        body = as_object(document, "body")
        event_id = text(body, "id", "")
        event_type = text(body, "type", "")
        kind = EVENT_KINDS.get(event_type)
        if kind is None:
            raise PayloadError(f"must be one of {', '.join(EVENT_KINDS)}", "type")
        path = "transaction"
        data = child(body, "transaction", "")
        transaction_id = text(data, "id", path)
        currency = currency_code(data, "currency", path)
        amount = major_to_minor(data.get("amount"), currency, join(path, "amount"))
        card_present = boolean(data, "cardPresent", path)
        location = optional_child(data, "location", path) or {}
        identifiers = optional_child(data, "identifiers", path) or {}
        location_id = text(location, "id", f"{path}.location", required=False) or text(
            identifiers, "MID", f"{path}.identifiers", required=False
        )
        occurred_at, local_time = self._moment(data, location, path)
        return [
            ProviderEvent(
                self.provider,
                event_id,
                kind,
                event_type=event_type,
                transaction_id=transaction_id,
                original_transaction_id=text(data, "refundTransactionId", path, required=False),
                amount_minor=abs(amount),
                currency=currency,
                occurred_at=occurred_at,
                local_time=local_time,
                location_id=location_id,
                channel=None if card_present is None else Channel.IN_STORE if card_present else Channel.ONLINE,
                cards=self._cards(data, path),
            )
        ]

    @staticmethod
    def _moment(data: Document, location: Document, path: str) -> tuple[datetime | None, str]:
        raw = text(data, "datetime", path)
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError as error:
            raise PayloadError("is not an ISO 8601 time", join(path, "datetime")) from error
        if moment.tzinfo is not None:
            return moment.astimezone(UTC), ""
        zone = text(location, "timezone", f"{path}.location", required=False)
        if zone:
            return local_to_utc(raw, zone, join(path, "datetime"), f"{path}.location.timezone"), ""
        return None, raw

    def _cards(self, data: Document, path: str) -> tuple[CardIdentity, ...]:
        card = optional_child(data, "card", path)
        if card is None:
            return ()
        token = text(card, "id", f"{path}.card", required=False)
        if not token:
            return ()
        return (
            CardIdentity(
                provider=self.provider,
                scope="",
                kind=CardIdentityKind.TOKEN.value,
                value=token,
                brand=text(card, "scheme", f"{path}.card", required=False),
                last4=text(card, "lastNumbers", f"{path}.card", required=False),
            ),
        )
