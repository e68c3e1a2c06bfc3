"""Shopify: orders and refunds of an online shop or Shopify POS.

Signature: `X-Shopify-Hmac-Sha256` is the Base64 HMAC-SHA256 of the raw body, keyed with the
app's client secret. The scheme has no timestamp; `X-Shopify-Webhook-Id` is the same across
retries of one delivery and de-duplicates it. The event is named by the `X-Shopify-Topic`
header, not the body, so the adapter reads headers when parsing. After a secret is rotated
Shopify may go on signing with the old one for up to an hour: keep both during the overlap.

Topics: `orders/create` (an authorisation while the order is only authorised or pending, a
capture once paid), `orders/paid` (a capture), `refunds/create` (a refund of the money its
successful refund transactions moved; a refund that moved no money, such as a restock, is
ignored). Amounts are decimal strings in major units.

No card: the shopper is matched by customer id (within the shop), email or phone, with the
marketing consent Shopify recorded. Line items with their SKU and product type (when the
payload has one) become the basket; `source_name` "pos" is an in-store sale at `location_id`.
"""

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from payments.providers.base import (
    Channel,
    CustomerHints,
    Document,
    Headers,
    JsonWebhookAdapter,
    Kind,
    LineItem,
    PayloadError,
    ProviderEvent,
    SignatureError,
    as_list,
    as_object,
    aware_utc,
    b64,
    boolean,
    currency_code,
    header,
    hmac_sha256,
    integer,
    join,
    major_to_minor,
    matches_any,
    optional_child,
    require_secrets,
    text,
)

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
SHOP_HEADER = "X-Shopify-Shop-Domain"

_GLOBAL_ID = re.compile(r"gid://shopify/[A-Za-z]+/\d+")
_AUTHORISED_ONLY = ("authorized", "pending", "partially_paid")
_PAID = ("paid",)


def _is_global_id(value: str) -> bool:
    return _GLOBAL_ID.fullmatch(value) is not None


class ShopifyAdapter(JsonWebhookAdapter):
    provider = "shopify"
    identifier_fields = {"*.admin_graphql_api_id": _is_global_id}

    def verify(self, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime) -> None:
        require_secrets(secrets)
        received = header(headers, SIGNATURE_HEADER)
        if not received:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        expected = [b64(hmac_sha256(secret.encode("utf-8"), raw_body)) for secret in secrets if secret]
        if not matches_any(received, expected):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match any of the connection's secrets")

    def sign(
        self, raw_body: bytes, *, url: str, secret: str, now: datetime, headers: Headers | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Pass the topic (and the webhook id, which de-duplicates) in `headers`, as Shopify sends them."""
        signature = b64(hmac_sha256(secret.encode("utf-8"), raw_body))
        return raw_body, {**(headers or {}), SIGNATURE_HEADER: signature, "Content-Type": "application/json"}

    def events_from(self, document: Any, headers: Headers) -> list[ProviderEvent]:
        body = as_object(document, "body")
        topic = header(headers, TOPIC_HEADER)
        if not topic:
            raise PayloadError(f"the {TOPIC_HEADER} header is required", f"headers.{TOPIC_HEADER}")
        event_id = header(headers, WEBHOOK_ID_HEADER) or f"{topic}:{text(body, 'id', '', required=False)}"
        if topic in ("orders/create", "orders/paid"):
            return [self._order(event_id, topic, body)]
        if topic == "refunds/create":
            return [self._refund(event_id, topic, body)]
        return [
            ProviderEvent(self.provider, event_id, Kind.IGNORED, event_type=topic, reason="not a topic Storeloop uses")
        ]

    def _order(self, event_id: str, topic: str, order: Document) -> ProviderEvent:
        financial_status = text(order, "financial_status", "", required=False)
        if topic == "orders/paid" or financial_status in _PAID:
            kind = Kind.CAPTURE
        elif financial_status in _AUTHORISED_ONLY:
            kind = Kind.AUTH
        else:
            return ProviderEvent(
                self.provider,
                event_id,
                Kind.IGNORED,
                event_type=topic,
                reason=f"order financial status {financial_status or 'missing'}",
                transaction_id=text(order, "id", ""),
            )
        currency = currency_code(order, "currency", "")
        source = text(order, "source_name", "", required=False)
        return ProviderEvent(
            self.provider,
            event_id,
            kind,
            event_type=topic,
            transaction_id=text(order, "id", ""),
            amount_minor=self._amount(order, "total_price", "", currency),
            currency=currency,
            occurred_at=aware_utc(order, "processed_at" if order.get("processed_at") else "created_at", ""),
            location_id=text(order, "location_id", "", required=False),
            channel=Channel.IN_STORE if source == "pos" else Channel.ONLINE,
            customer=self._customer(order),
            line_items=self._line_items(order, "line_items", "", currency),
            reference=text(order, "name", "", required=False),
        )

    def _refund(self, event_id: str, topic: str, refund: Document) -> ProviderEvent:
        refunded = Decimal(0)
        currency = ""
        for index, raw in enumerate(as_list(refund.get("transactions", []), "transactions")):
            path = join("transactions", index)
            transaction = as_object(raw, path)
            if transaction.get("kind") != "refund" or transaction.get("status") != "success":
                continue
            currency = currency_code(transaction, "currency", path)
            refunded += Decimal(major_to_minor(transaction.get("amount"), currency, f"{path}.amount"))
        refund_id = text(refund, "id", "")
        if not currency or refunded == 0:
            return ProviderEvent(
                self.provider,
                event_id,
                Kind.IGNORED,
                event_type=topic,
                reason="the refund moved no money (a restock or a note)",
                transaction_id=refund_id,
            )
        items = []
        for index, raw in enumerate(as_list(refund.get("refund_line_items", []), "refund_line_items")):
            path = join("refund_line_items", index)
            refund_item = as_object(raw, path)
            line_item = optional_child(refund_item, "line_item", path)
            if line_item is not None:
                quantity = integer(refund_item, "quantity", path)
                items.append(self._line_item(line_item, f"{path}.line_item", currency, quantity))
        return ProviderEvent(
            self.provider,
            event_id,
            Kind.REFUND,
            event_type=topic,
            transaction_id=refund_id,
            original_transaction_id=text(refund, "order_id", ""),
            amount_minor=int(refunded),
            currency=currency,
            occurred_at=aware_utc(refund, "processed_at" if refund.get("processed_at") else "created_at", ""),
            line_items=tuple(items),
            reason=text(refund, "note", "", required=False),
        )

    def _amount(self, document: Document, key: str, path: str, currency: str) -> int:
        value = document.get(key)
        if value is None:
            raise PayloadError("is required", join(path, key))
        amount = major_to_minor(value, currency, join(path, key))
        if amount < 0:
            raise PayloadError("must not be negative", join(path, key))
        return amount

    def _customer(self, order: Document) -> CustomerHints | None:
        customer = optional_child(order, "customer", "") or {}
        consent = optional_child(customer, "email_marketing_consent", "customer")
        accepts = boolean(order, "buyer_accepts_marketing", "")
        if accepts is None and consent is not None:
            accepts = consent.get("state") == "subscribed"
        hints = CustomerHints(
            customer_id=text(customer, "id", "customer", required=False),
            email=text(customer, "email", "customer", required=False) or text(order, "email", "", required=False),
            is_email_verified=boolean(customer, "verified_email", "customer"),
            phone=text(customer, "phone", "customer", required=False) or text(order, "phone", "", required=False),
            accepts_marketing=accepts,
        )
        return hints if hints.customer_id or hints.email or hints.phone else None

    def _line_items(self, order: Document, key: str, path: str, currency: str) -> tuple[LineItem, ...]:
        items = []
        for index, raw in enumerate(as_list(order.get(key, []), join(path, key))):
            item_path = join(join(path, key), index)
            item = as_object(raw, item_path)
            items.append(self._line_item(item, item_path, currency, integer(item, "quantity", item_path)))
        return tuple(items)

    def _line_item(self, item: Document, path: str, currency: str, quantity: int) -> LineItem:
        return LineItem(
            sku=text(item, "sku", path, required=False),
            name=text(item, "name", path, required=False) or text(item, "title", path, required=False),
            category=text(item, "product_type", path, required=False),
            quantity=quantity,
            unit_price_minor=self._amount(item, "price", path, currency),
        )
