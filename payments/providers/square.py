"""Square: payment and refund events of the Payments API.

Signature: `x-square-hmacsha256-signature` is the Base64 HMAC-SHA256, keyed with the webhook
subscription's signature key, of the notification URL exactly as registered followed by the
raw body. The scheme has no timestamp; repeated deliveries are recognised by `event_id`.

Events: `payment.created` / `payment.updated` by the payment's status (APPROVED: an
authorisation; COMPLETED: a capture; CANCELED: a void; PENDING and FAILED: ignored) and
`refund.created` / `refund.updated` (COMPLETED: a refund; PENDING, REJECTED, FAILED: ignored,
the update that completes it follows).

Card identity: `card_details.card.fingerprint`, documented as identifying a card across the
locations of one application; it is scoped by the seller (`merchant_id`), which is what
holds in practice. `location_id` names the seller's location.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from payments.providers.base import (
    CardIdentity,
    Channel,
    CustomerHints,
    Document,
    Headers,
    JsonWebhookAdapter,
    Kind,
    ProviderEvent,
    SignatureError,
    as_object,
    aware_utc,
    b64,
    child,
    currency_code,
    header,
    hmac_sha256,
    matches_any,
    minor_amount,
    optional_child,
    optional_integer,
    require_secrets,
    text,
)

SIGNATURE_HEADER = "x-square-hmacsha256-signature"

_PAYMENT_KINDS = {"APPROVED": Kind.AUTH, "COMPLETED": Kind.CAPTURE, "CANCELED": Kind.VOID}
# Entry methods where the card was at the till; KEYED and ON_FILE are card-not-present.
_IN_STORE_ENTRY = ("EMV", "CONTACTLESS", "SWIPED")


class SquareAdapter(JsonWebhookAdapter):
    provider = "square"
    signs_url = True
    signature_failure_status = 403  # as the provider's own webhook guide answers

    def verify(self, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime) -> None:
        require_secrets(secrets)
        received = header(headers, SIGNATURE_HEADER)
        if not received:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        signed = url.encode("utf-8") + raw_body
        expected = [b64(hmac_sha256(secret.encode("utf-8"), signed)) for secret in secrets if secret]
        if not matches_any(received, expected):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match any of the connection's secrets")

    def sign(
        self, raw_body: bytes, *, url: str, secret: str, now: datetime, headers: Headers | None = None
    ) -> tuple[bytes, dict[str, str]]:
        signature = b64(hmac_sha256(secret.encode("utf-8"), url.encode("utf-8") + raw_body))
        return raw_body, {**(headers or {}), SIGNATURE_HEADER: signature, "Content-Type": "application/json"}

    def events_from(self, document: Any, headers: Headers) -> list[ProviderEvent]:
        event = as_object(document, "body")
        event_id = text(event, "event_id", "")
        event_type = text(event, "type", "")
        merchant_id = text(event, "merchant_id", "", required=False) or self.account
        if event_type in ("payment.created", "payment.updated"):
            payment = child(child(child(event, "data", ""), "object", "data"), "payment", "data.object")
            return [self._payment(event_id, event_type, payment, "data.object.payment", merchant_id)]
        if event_type in ("refund.created", "refund.updated"):
            refund = child(child(child(event, "data", ""), "object", "data"), "refund", "data.object")
            return [self._refund(event_id, event_type, refund, "data.object.refund")]
        return [
            ProviderEvent(
                self.provider, event_id, Kind.IGNORED, event_type=event_type, reason="not an event Storeloop uses"
            )
        ]

    def _payment(self, event_id: str, event_type: str, payment: Document, path: str, scope: str) -> ProviderEvent:
        status = text(payment, "status", path)
        kind = _PAYMENT_KINDS.get(status)
        if kind is None:
            return ProviderEvent(
                self.provider, event_id, Kind.IGNORED, event_type=event_type, reason=f"payment status {status}"
            )
        money = child(payment, "amount_money", path)
        cards, channel = self._card(payment, path, scope)
        customer_id = text(payment, "customer_id", path, required=False)
        return ProviderEvent(
            self.provider,
            event_id,
            kind,
            event_type=event_type,
            transaction_id=text(payment, "id", path),
            amount_minor=minor_amount(money, "amount", f"{path}.amount_money"),
            currency=currency_code(money, "currency", f"{path}.amount_money"),
            occurred_at=aware_utc(payment, "created_at", path),
            location_id=text(payment, "location_id", path, required=False),
            channel=channel,
            cards=cards,
            customer=CustomerHints(customer_id=customer_id) if customer_id else None,
            reference=text(payment, "order_id", path, required=False),
        )

    def _card(self, payment: Document, path: str, scope: str) -> tuple[tuple[CardIdentity, ...], Channel | None]:
        details = optional_child(payment, "card_details", path)
        if details is None:
            return (), None
        details_path = f"{path}.card_details"
        entry_method = text(details, "entry_method", details_path, required=False)
        channel = Channel.IN_STORE if entry_method in _IN_STORE_ENTRY else Channel.ONLINE if entry_method else None
        card = optional_child(details, "card", details_path)
        fingerprint = text(card, "fingerprint", f"{details_path}.card", required=False) if card else ""
        if card is None or not fingerprint:
            return (), channel
        card_path = f"{details_path}.card"
        identity = CardIdentity(
            provider=self.provider,
            scope=scope,
            kind="fingerprint",
            value=fingerprint,
            brand=text(card, "card_brand", card_path, required=False),
            last4=text(card, "last_4", card_path, required=False),
            exp_month=optional_integer(card, "exp_month", card_path),
            exp_year=optional_integer(card, "exp_year", card_path),
        )
        return (identity,), channel

    def _refund(self, event_id: str, event_type: str, refund: Document, path: str) -> ProviderEvent:
        status = text(refund, "status", path)
        if status != "COMPLETED":
            return ProviderEvent(
                self.provider, event_id, Kind.IGNORED, event_type=event_type, reason=f"refund status {status}"
            )
        money = child(refund, "amount_money", path)
        return ProviderEvent(
            self.provider,
            event_id,
            Kind.REFUND,
            event_type=event_type,
            transaction_id=text(refund, "id", path),
            original_transaction_id=text(refund, "payment_id", path),
            amount_minor=minor_amount(money, "amount", f"{path}.amount_money"),
            currency=currency_code(money, "currency", f"{path}.amount_money"),
            occurred_at=aware_utc(refund, "created_at", path),
            location_id=text(refund, "location_id", path, required=False),
            reference=text(refund, "order_id", path, required=False),
            reason=text(refund, "reason", path, required=False),
        )
