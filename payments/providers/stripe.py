"""Stripe (online payments and Terminal): charge events, verified with Stripe's own library.

Signature: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">` with the
endpoint's signing secret (`whsec_…`), checked by `stripe.WebhookSignature.verify_header`.
The library compares the stamp with the wall clock and only for staleness, so the 300 s
tolerance is applied here against `now`, both ways.

Events: `charge.succeeded` (an authorisation when `captured` is false, else a capture),
`charge.captured`, `charge.refunded` (full or partial; Stripe sends the running total in
`amount_refunded`, kept in `refunded_total_minor`), `charge.expired` (an uncaptured
authorisation lapsed: a void), `charge.dispute.created` (a chargeback); `charge.failed` and
every other type are logged as ignored.

Card identity: `payment_method_details.card` (online) or `.card_present` (Terminal): the
fingerprint is unique per card number within one Stripe account, so it is scoped by the
event's `account` (Connect) or else by the connection's account. Cards in Apple Pay or
Google Pay carry other fingerprints than the plastic card.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import stripe

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
    check_timestamp,
    child,
    currency_code,
    from_unix_seconds,
    header,
    minor_amount,
    optional_child,
    optional_integer,
    require_secrets,
    text,
)

TOLERANCE = timedelta(seconds=300)
SIGNATURE_HEADER = "Stripe-Signature"

_CHARGE_TYPES = ("charge.succeeded", "charge.captured", "charge.refunded", "charge.expired")
_CARD_PRESENT = ("card_present", "interac_present")


def _timestamp_of(signature_header: str) -> str:
    stamps = [part[2:] for part in signature_header.split(",") if part.startswith("t=")]
    if len(stamps) != 1:
        raise SignatureError("Stripe-Signature has no single t= timestamp")
    return stamps[0]


class StripeAdapter(JsonWebhookAdapter):
    provider = "stripe"
    signature_failure_status = 400  # as the provider's own webhook guide answers

    def verify(self, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime) -> None:
        require_secrets(secrets)
        signature_header = header(headers, SIGNATURE_HEADER)
        if not signature_header:
            raise SignatureError("missing Stripe-Signature header")
        check_timestamp(
            _timestamp_of(signature_header), now, tolerance=TOLERANCE, unit=timedelta(seconds=1), name="timestamp"
        )
        try:
            payload = raw_body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SignatureError("body is not UTF-8") from error
        for secret in secrets:
            if not secret:
                continue
            try:
                # tolerance=None: the window was checked above against `now`, in both directions.
                stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance=None)
            except stripe.SignatureVerificationError:
                continue
            return
        raise SignatureError("Stripe-Signature does not match any of the connection's secrets")

    def sign(
        self, raw_body: bytes, *, url: str, secret: str, now: datetime, headers: Headers | None = None
    ) -> tuple[bytes, dict[str, str]]:
        value = stripe.WebhookSignature.generate_signature_header(
            raw_body.decode("utf-8"), secret, timestamp=int(now.timestamp())
        )
        return raw_body, {**(headers or {}), SIGNATURE_HEADER: value, "Content-Type": "application/json"}

    def events_from(self, document: Any, headers: Headers) -> list[ProviderEvent]:
        event = as_object(document, "body")
        if text(event, "object", "") != "event":
            raise PayloadError('must be "event"', "object")
        event_id = text(event, "id", "")
        event_type = text(event, "type", "")
        obj = child(child(event, "data", ""), "object", "data")
        scope = text(event, "account", "", required=False) or self.account
        path = "data.object"
        if event_type == "charge.dispute.created":
            return [self._dispute(event_id, event_type, obj, path)]
        if event_type not in _CHARGE_TYPES:
            reason = "the payment failed" if event_type == "charge.failed" else "not an event Storeloop uses"
            return [ProviderEvent(self.provider, event_id, Kind.IGNORED, event_type=event_type, reason=reason)]
        return [self._charge(event_id, event_type, obj, path, scope)]

    def _charge(self, event_id: str, event_type: str, charge: Document, path: str, scope: str) -> ProviderEvent:
        if text(charge, "object", path) != "charge":
            raise PayloadError('must be "charge"', f"{path}.object")
        charge_id = text(charge, "id", path)
        currency = currency_code(charge, "currency", path)
        amount = minor_amount(charge, "amount", path)
        captured_amount = optional_integer(charge, "amount_captured", path)
        cards, channel = self._card(charge, path, scope)
        common: dict[str, Any] = {
            "event_type": event_type,
            "currency": currency,
            "occurred_at": from_unix_seconds(charge, "created", path),
            "channel": channel,
            "cards": cards,
            "reference": text(charge, "payment_intent", path, required=False),
        }
        if event_type == "charge.refunded":
            refunded_total = minor_amount(charge, "amount_refunded", path)
            return ProviderEvent(
                self.provider,
                event_id,
                Kind.REFUND,
                # One refund row per running total: a repeated delivery of the same total is one refund.
                transaction_id=f"{charge_id}:refunded:{refunded_total}",
                original_transaction_id=charge_id,
                refunded_total_minor=refunded_total,
                **common,
            )
        if event_type == "charge.expired":
            return ProviderEvent(
                self.provider, event_id, Kind.VOID, transaction_id=charge_id, amount_minor=amount, **common
            )
        is_captured = charge.get("captured") is True
        if event_type == "charge.succeeded" and not is_captured:
            return ProviderEvent(
                self.provider, event_id, Kind.AUTH, transaction_id=charge_id, amount_minor=amount, **common
            )
        final_amount = captured_amount if captured_amount is not None and captured_amount > 0 else amount
        return ProviderEvent(
            self.provider, event_id, Kind.CAPTURE, transaction_id=charge_id, amount_minor=final_amount, **common
        )

    def _card(self, charge: Document, path: str, scope: str) -> tuple[tuple[CardIdentity, ...], Channel | None]:
        details = optional_child(charge, "payment_method_details", path)
        if details is None:
            return (), None
        details_path = f"{path}.payment_method_details"
        method_type = text(details, "type", details_path, required=False)
        card = optional_child(details, method_type, details_path) if method_type else None
        channel = Channel.IN_STORE if method_type in _CARD_PRESENT else Channel.ONLINE
        if card is None:
            return (), channel
        card_path = f"{details_path}.{method_type}"
        fingerprint = text(card, "fingerprint", card_path, required=False)
        if not fingerprint:
            return (), channel
        wallet = optional_child(card, "wallet", card_path)
        identity = CardIdentity(
            provider=self.provider,
            scope=scope,
            kind="fingerprint",
            value=fingerprint,
            brand=text(card, "brand", card_path, required=False),
            last4=text(card, "last4", card_path, required=False),
            exp_month=optional_integer(card, "exp_month", card_path),
            exp_year=optional_integer(card, "exp_year", card_path),
            wallet=text(wallet, "type", f"{card_path}.wallet", required=False) if wallet else "",
        )
        return (identity,), channel

    def _dispute(self, event_id: str, event_type: str, dispute: Document, path: str) -> ProviderEvent:
        return ProviderEvent(
            self.provider,
            event_id,
            Kind.CHARGEBACK,
            event_type=event_type,
            transaction_id=text(dispute, "id", path),
            original_transaction_id=text(dispute, "charge", path),
            amount_minor=minor_amount(dispute, "amount", path),
            currency=currency_code(dispute, "currency", path),
            occurred_at=from_unix_seconds(dispute, "created", path),
            reason=text(dispute, "reason", path, required=False),
        )
