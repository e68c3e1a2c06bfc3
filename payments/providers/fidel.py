"""Fidel API (card-linking on Visa, Mastercard and Amex): transaction and card webhooks.

Signature, as Fidel documents it (docs `select/webhooks.md`, "Verifying signatures"): the
raw body, the webhook URL and the `x-fidel-timestamp` value (Unix milliseconds) are
concatenated; that string is hashed twice with HMAC-SHA256 keyed with the webhook's
`secretKey`, the inner digest Base64-encoded before the outer hash, and the outer digest
Base64-encoded is `x-fidel-signature`. Fidel recommends a five-minute tolerance on the
timestamp. Each delivery carries `fidel-message-id`, the same across retries and replays:
it is the de-duplication key.

A transaction body does not name its event, since each webhook is registered for one event;
the transaction's own flags, as Fidel documents them, tell them apart: a negative amount is
a refund (`transaction.refund`, and the `transaction.clearing` Fidel also sends for it, with
the same id), `cleared: true` a clearing (the final amount), `auth: true` an authorisation.
The `.qualified` variants carry the same transaction. Amounts are in major units. `datetime`
is the merchant's local time without an offset, read in `location.timezone`. A `card.linked`
body is a card seen; other Fidel events are logged as ignored.

Card identity: `card.id`, valid across every brand and location of one program, so scoped by
the program (`programId`).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

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
    aware_utc,
    b64,
    boolean,
    check_timestamp,
    child,
    currency_code,
    header,
    hmac_sha256,
    local_to_utc,
    major_to_minor,
    matches_any,
    optional_child,
    optional_integer,
    require_secrets,
    text,
)

TOLERANCE = timedelta(minutes=5)
SIGNATURE_HEADER = "x-fidel-signature"
TIMESTAMP_HEADER = "x-fidel-timestamp"
MESSAGE_ID_HEADER = "fidel-message-id"


def _is_sequence_number(value: str) -> bool:
    # Mastercard's transaction sequence number is 13 digits; Fidel's own example is all zeros.
    return len(value) == 13 and value.isascii() and value.isdigit()


def fidel_signature(secret: str, raw_body: bytes, url: str, timestamp: str) -> str:
    key = secret.encode("utf-8")
    inner = b64(hmac_sha256(key, raw_body + url.encode("utf-8") + timestamp.encode("ascii")))
    return b64(hmac_sha256(key, inner.encode("ascii")))


class FidelAdapter(JsonWebhookAdapter):
    provider = "fidel"
    signs_url = True
    identifier_headers = frozenset({TIMESTAMP_HEADER})
    identifier_fields = {"identifiers.mastercardTransactionSequenceNumber": _is_sequence_number}

    def verify(self, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime) -> None:
        require_secrets(secrets)
        received = header(headers, SIGNATURE_HEADER)
        if not received:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        timestamp = header(headers, TIMESTAMP_HEADER)
        if timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 11:
            raise SignatureError(f"{TIMESTAMP_HEADER} is in seconds; Fidel sends Unix milliseconds")
        check_timestamp(timestamp, now, tolerance=TOLERANCE, unit=timedelta(milliseconds=1), name=TIMESTAMP_HEADER)
        expected = [fidel_signature(secret, raw_body, url, timestamp) for secret in secrets if secret]
        if not matches_any(received, expected):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match any of the connection's secrets")

    def sign(
        self, raw_body: bytes, *, url: str, secret: str, now: datetime, headers: Headers | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Pass `fidel-message-id` in `headers`: it is what de-duplicates a delivery."""
        timestamp = str(int(now.timestamp() * 1000))
        signature = fidel_signature(secret, raw_body, url, timestamp)
        signed = {SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: timestamp, "Content-Type": "application/json"}
        return raw_body, {**(headers or {}), **signed}

    def events_from(self, document: Any, headers: Headers) -> list[ProviderEvent]:
        body = as_object(document, "body")
        message_id = header(headers, MESSAGE_ID_HEADER)
        if isinstance(body.get("card"), dict) and "amount" in body and "datetime" in body:
            return [self._transaction(body, message_id)]
        if "lastNumbers" in body and "programId" in body and "id" in body:
            return [self._card_linked(body, message_id)]
        event = body.get("event")
        event_type = event if isinstance(event, str) else ""
        return [
            ProviderEvent(
                self.provider,
                message_id or text(body, "id", "", required=False),
                Kind.IGNORED,
                event_type=event_type,
                reason="not a transaction or a linked card",
            )
        ]

    def _transaction(self, body: Document, message_id: str) -> ProviderEvent:
        transaction_id = text(body, "id", "")
        currency = currency_code(body, "currency", "")
        signed_amount = major_to_minor(body.get("amount"), currency, "amount")
        is_cleared = boolean(body, "cleared", "") is True
        is_auth = boolean(body, "auth", "") is True
        if signed_amount < 0:
            kind, event_type = Kind.REFUND, "transaction.refund"
        elif is_cleared:
            kind, event_type = Kind.CAPTURE, "transaction.clearing"
        elif is_auth:
            kind, event_type = Kind.AUTH, "transaction.auth"
        else:
            raise PayloadError("a transaction must be an authorisation, a clearing or a refund", "cleared")
        location = child(body, "location", "")
        card = child(body, "card", "")
        card_present = boolean(body, "cardPresent", "")
        return ProviderEvent(
            self.provider,
            # Without the header (a replay from our own log), one event per transaction and kind.
            message_id or f"{transaction_id}:{kind}",
            kind,
            event_type=event_type,
            transaction_id=transaction_id,
            original_transaction_id=text(body, "originalTransactionId", "", required=False),
            amount_minor=abs(signed_amount),
            currency=currency,
            occurred_at=self._occurred_at(body, location),
            location_id=text(location, "id", "location"),
            channel=None if card_present is None else Channel.IN_STORE if card_present else Channel.ONLINE,
            cards=(self._identity(card, "card", text(body, "programId", "", required=False)),),
        )

    def _occurred_at(self, body: Document, location: Document) -> datetime:
        zone = text(location, "timezone", "location", required=False)
        if not zone:  # no zone to read the local time in: Fidel's own UTC record time instead
            return aware_utc(body, "created", "")
        return local_to_utc(text(body, "datetime", ""), zone, "datetime", "location.timezone")

    def _identity(self, card: Document, path: str, program_id: str) -> CardIdentity:
        return CardIdentity(
            provider=self.provider,
            scope=program_id or self.account,
            kind="card_id",
            value=text(card, "id", path),
            brand=text(card, "scheme", path, required=False),
            last4=text(card, "lastNumbers", path, required=False),
            exp_month=optional_integer(card, "expMonth", path),
            exp_year=optional_integer(card, "expYear", path),
        )

    def _card_linked(self, body: Document, message_id: str) -> ProviderEvent:
        card_id = text(body, "id", "")
        metadata = optional_child(body, "metadata", "")
        return ProviderEvent(
            self.provider,
            message_id or f"{card_id}:card.linked",
            Kind.CARD_SEEN,
            event_type="card.linked",
            occurred_at=aware_utc(body, "created", ""),
            cards=(self._identity(body, "", text(body, "programId", "")),),
            reference=text(metadata, "id", "metadata", required=False) if metadata else "",
        )
