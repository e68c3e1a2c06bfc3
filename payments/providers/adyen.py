"""Adyen standard webhooks (notifications): a batch of items, each signed on its own.

Signature: each `NotificationRequestItem` carries `additionalData.hmacSignature`, the Base64
HMAC-SHA256, keyed with the hex-decoded HMAC key of the webhook, of eight fields joined by
colons: pspReference, originalReference, merchantAccountCode, merchantReference,
amount.value, amount.currency, eventCode, success (an absent field is empty). The values are
joined as sent, without escaping: Adyen's own libraries escaped `\\` and `:` once and removed
it, because the signatures Adyen sends are computed over the unescaped values (the official
Python library's known-answer tests, with a colon and a backslash in merchantReference,
hold only that way). Every item of a batch must verify. The scheme has no timestamp; Adyen
documents de-duplication on pspReference, eventCode and success.

Events: AUTHORISATION (an authorisation; success false: refused, ignored), CAPTURE, REFUND,
CANCELLATION (a void), CANCEL_OR_REFUND (a void or a refund, as `additionalData`
`modification.action` says), CHARGEBACK. Modifications that failed and other event codes are
ignored. Adyen expects the body `[accepted]` once the batch is stored.

Card identity: the payment account reference (`paymentAccountReference`, the card network's
own, which also covers NFC wallets for Visa and Mastercard) when enabled, and the card alias
(`alias`, within the merchant account), with `cardSummary` (last four) and `expiryDate`.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from payments.providers.base import (
    Acknowledgement,
    CardIdentity,
    Channel,
    Document,
    Headers,
    JsonWebhookAdapter,
    Kind,
    PayloadError,
    ProviderEvent,
    SignatureError,
    as_list,
    as_object,
    aware_utc,
    b64,
    boolean,
    child,
    currency_code,
    hex_key,
    hmac_sha256,
    join,
    load_json,
    matches_any,
    minor_amount,
    optional_child,
    require_secrets,
    text,
)

ACCEPTED = Acknowledgement(200, "[accepted]", "text/plain")
ITEMS = "notificationItems"
ITEM = "NotificationRequestItem"

_SIGNED_FIELDS = ("pspReference", "originalReference", "merchantAccountCode", "merchantReference")
_SUCCESS_KINDS = {
    "AUTHORISATION": Kind.AUTH,
    "CAPTURE": Kind.CAPTURE,
    "REFUND": Kind.REFUND,
    "CANCELLATION": Kind.VOID,
    "CHARGEBACK": Kind.CHARGEBACK,
}
_ECOMMERCE = ("Ecommerce", "ContAuth")


def _is_psp_reference(value: str) -> bool:
    return len(value) == 16 and value.isascii() and value.isalnum()


def _as_signed(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signing_string(item: Document) -> str:
    raw_amount = item.get("amount")
    amount: Document = raw_amount if isinstance(raw_amount, dict) else {}
    values = [item.get(field) for field in _SIGNED_FIELDS]
    values += [amount.get("value"), amount.get("currency"), item.get("eventCode"), item.get("success")]
    return ":".join(_as_signed(value) for value in values)


def adyen_signature(key: bytes, item: Document) -> str:
    return b64(hmac_sha256(key, signing_string(item).encode("utf-8")))


def _items(document: Any) -> list[tuple[Document, str]]:
    body = as_object(document, "body")
    items = as_list(body.get(ITEMS), ITEMS)
    if not items:
        raise PayloadError("must hold at least one notification", ITEMS)
    found = []
    for index, wrapper in enumerate(items):
        path = join(ITEMS, index)
        found.append((child(as_object(wrapper, path), ITEM, path), f"{path}.{ITEM}"))
    return found


class AdyenAdapter(JsonWebhookAdapter):
    provider = "adyen"
    identifier_fields = {
        f"{ITEMS}[].{ITEM}.pspReference": _is_psp_reference,
        f"{ITEMS}[].{ITEM}.originalReference": _is_psp_reference,
    }

    def verify(self, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime) -> None:
        require_secrets(secrets)
        keys = [key for key in (hex_key(secret) for secret in secrets if secret) if key]
        if not keys:
            raise SignatureError("the connection's HMAC keys are not hexadecimal")
        for item, path in _items(load_json(raw_body)):
            additional = item.get("additionalData")
            received = additional.get("hmacSignature") if isinstance(additional, dict) else None
            if not isinstance(received, str) or not received:
                raise SignatureError(f"{path}.additionalData.hmacSignature is missing")
            if not matches_any(received, (adyen_signature(key, item) for key in keys)):
                raise SignatureError(f"{path}: hmacSignature does not match any of the connection's keys")

    def acknowledgement(self) -> Acknowledgement:
        return ACCEPTED

    def sign(
        self, raw_body: bytes, *, url: str, secret: str, now: datetime, headers: Headers | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Each item carries its own signature, in the body: the body comes back re-encoded."""
        key = hex_key(secret)
        if key is None:
            raise ValueError("an Adyen HMAC key is hexadecimal")
        document = load_json(raw_body)
        for item, _ in _items(document):
            item.setdefault("additionalData", {})["hmacSignature"] = adyen_signature(key, item)
        body = json.dumps(document, default=str).encode("utf-8")
        return body, {**(headers or {}), "Content-Type": "application/json"}

    def events_from(self, document: Any, headers: Headers) -> list[ProviderEvent]:
        return [self._item(item, path) for item, path in _items(document)]

    def _item(self, item: Document, path: str) -> ProviderEvent:
        psp_reference = text(item, "pspReference", path)
        event_code = text(item, "eventCode", path)
        success = boolean(item, "success", path)
        if success is None:
            raise PayloadError("is required", f"{path}.success")
        event_id = f"{psp_reference}:{event_code}:{'true' if success else 'false'}"
        additional = optional_child(item, "additionalData", path) or {}
        additional_path = f"{path}.additionalData"
        kind = _SUCCESS_KINDS.get(event_code)
        if event_code == "CANCEL_OR_REFUND":
            action = text(additional, "modification.action", additional_path, required=False)
            kind = Kind.REFUND if action == "refund" else Kind.VOID
        if kind is None or not success:
            reason = "not an event Storeloop uses" if kind is None else f"{event_code} failed"
            refusal = text(item, "reason", path, required=False)
            return ProviderEvent(
                self.provider,
                event_id,
                Kind.IGNORED,
                event_type=event_code,
                reason=f"{reason}: {refusal}" if refusal and kind is not None else reason,
                transaction_id=psp_reference,
            )
        amount = child(item, "amount", path)
        original = text(item, "originalReference", path, required=False)
        merchant_account = text(item, "merchantAccountCode", path)
        # The payment's own reference keys auth and capture alike; a refund, void or chargeback
        # is keyed by its own reference, pointing at the payment's.
        transaction_id = original if kind == Kind.CAPTURE and original else psp_reference
        interaction = text(additional, "shopperInteraction", additional_path, required=False)
        return ProviderEvent(
            self.provider,
            event_id,
            kind,
            event_type=event_code,
            transaction_id=transaction_id,
            original_transaction_id=original if kind != Kind.CAPTURE else "",
            amount_minor=minor_amount(amount, "value", f"{path}.amount"),
            currency=currency_code(amount, "currency", f"{path}.amount"),
            occurred_at=aware_utc(item, "eventDate", path),
            channel=(
                Channel.ONLINE if interaction in _ECOMMERCE else Channel.IN_STORE if interaction == "POS" else None
            ),
            cards=self._cards(additional, additional_path, merchant_account, item, path),
            reference=text(item, "merchantReference", path, required=False),
        )

    def _cards(
        self, additional: Document, path: str, merchant_account: str, item: Document, item_path: str
    ) -> tuple[CardIdentity, ...]:
        brand = text(item, "paymentMethod", item_path, required=False)
        last4 = text(additional, "cardSummary", path, required=False)
        exp_month, exp_year = self._expiry(text(additional, "expiryDate", path, required=False))
        identities = []
        par = text(additional, "paymentAccountReference", path, required=False)
        if par:
            identities.append(("network", "par", par))
        alias = text(additional, "alias", path, required=False)
        if alias:
            identities.append((merchant_account or self.account, "alias", alias))
        return tuple(
            CardIdentity(self.provider, scope, kind, value, brand, last4, exp_month, exp_year)
            for scope, kind, value in identities
        )

    @staticmethod
    def _expiry(raw: str) -> tuple[int | None, int | None]:
        month, _, year = raw.partition("/")
        if month.isdigit() and year.isdigit() and 1 <= int(month) <= 12:
            return int(month), int(year)
        return None, None
