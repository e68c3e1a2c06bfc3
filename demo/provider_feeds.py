"""Simulated payments in each provider's own webhook format, signed the provider's way.

`PaymentSimulator` invents a plausible stream of payments at a merchant's stores (authorisations,
captures that sometimes settle for a different amount, the odd partial refund); a `Format` writes
each step as the provider would send it: Stripe events, Square notifications, Fidel transactions,
Adyen notification batches, Shopify orders and refunds, or our own feed format. `signed()` then
signs it with the provider's scheme through its adapter, so what reaches the webhook is exactly
what the provider's servers would post. Used by `simulate_network --provider …` and the
provider-feed benchmark.
"""

import hashlib
import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.providers import CardIdentityKind, PaymentProvider
from core.templatetags.money import minor_digits
from payments.providers import adapter_for

Step = str  # "auth" | "capture" | "refund"


@dataclass
class SimulatedCard:
    token: str  # what the card was enrolled with
    value: str  # the provider's name for it (fingerprint, alias, card id)
    email: str = ""  # a verified email of its shopper (for Shopify, which names customers, not cards)


@dataclass
class SimulatedPayment:
    id: str
    amount_minor: int
    currency: str
    location_id: str
    timezone: str
    occurred_at: datetime
    card: SimulatedCard | None
    online: bool
    captured_minor: int = 0
    refunded_minor: int = 0
    refunds: list[tuple[str, int]] = field(default_factory=list)


def card_value(provider: str, token: str) -> str:
    """The name a provider would give the card enrolled with `token`: stable, and never digits only."""
    digest = hashlib.sha256(f"{provider}:{token}".encode()).hexdigest()
    if provider == PaymentProvider.FIDEL:
        return str(uuid.UUID(digest[:32]))
    if provider == PaymentProvider.ADYEN:
        return "H" + digest[:15].upper()
    return "fp" + digest[:14]


IDENTITY_KINDS = {
    PaymentProvider.STRIPE: CardIdentityKind.FINGERPRINT,
    PaymentProvider.SQUARE: CardIdentityKind.FINGERPRINT,
    PaymentProvider.FIDEL: CardIdentityKind.CARD_ID,
    PaymentProvider.ADYEN: CardIdentityKind.ALIAS,
}


def _major(amount_minor: int, currency: str) -> str:
    return str(Decimal(amount_minor).scaleb(-minor_digits(currency)))


def _psp(rng: random.Random) -> str:
    """An Adyen-like 16-character reference with letters in it (so it never reads as a card number)."""
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + "".join(
        rng.choice(string.ascii_uppercase + string.digits) for _ in range(12)
    )


class PaymentSimulator:
    """Payments, step by step: an authorisation first, its capture later, a refund now and then."""

    def __init__(
        self,
        *,
        currency: str,
        locations: list[tuple[str, str]],
        cards: list[SimulatedCard],
        rng: random.Random,
        online_share: float = 0.2,
        linked_share: float = 0.7,
    ) -> None:
        self.currency, self.locations, self.cards, self.rng = currency, locations, cards, rng
        self.online_share, self.linked_share = online_share, linked_share
        self.awaiting_capture: list[SimulatedPayment] = []
        self.captured: list[SimulatedPayment] = []

    def next_step(self) -> tuple[Step, SimulatedPayment]:
        roll = self.rng.random()
        if self.awaiting_capture and roll < 0.35:
            payment = self.awaiting_capture.pop(0)
            # Now and then the final amount differs from the authorisation (a tip, a partial shipment).
            payment.captured_minor = payment.amount_minor
            if self.rng.random() < 0.05:
                payment.captured_minor = max(1, payment.amount_minor - self.rng.choice([100, 250, 500]))
            self.captured.append(payment)
            return "capture", payment
        if self.captured and roll > 0.98:
            payment = self.captured.pop(self.rng.randrange(len(self.captured)))
            amount = max(1, (payment.captured_minor - payment.refunded_minor) // self.rng.choice([1, 2]))
            payment.refunded_minor += amount
            payment.refunds.append((f"re_{uuid.uuid4().hex[:16]}", amount))
            return "refund", payment
        payment = self._new_payment()
        self.awaiting_capture.append(payment)
        return "auth", payment

    def _new_payment(self) -> SimulatedPayment:
        location_id, zone = self.rng.choice(self.locations)
        linked = self.cards and self.rng.random() < self.linked_share
        card = self.rng.choice(self.cards) if linked else SimulatedCard(token="", value=f"fp{uuid.uuid4().hex[:14]}")
        amount = self.rng.choice([450, 1295, 2500, 3999, 5990, 8950, 12900])
        if minor_digits(self.currency) == 0:
            amount *= 10
        return SimulatedPayment(
            id=uuid.uuid4().hex[:20],
            amount_minor=amount,
            currency=self.currency,
            location_id=location_id,
            timezone=zone,
            occurred_at=datetime.now(UTC).replace(microsecond=0),
            card=card,
            online=self.rng.random() < self.online_share,
        )


# --- each provider's format -----------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    body: dict
    headers: dict[str, str]


def _stripe(step: Step, payment: SimulatedPayment, account: str, rng: random.Random) -> Message:
    captured = step != "auth"
    card = payment.card
    method = "card" if payment.online else "card_present"
    charge = {
        "id": f"ch_{payment.id}",
        "object": "charge",
        "amount": payment.amount_minor,
        "amount_captured": payment.captured_minor if captured else 0,
        "amount_refunded": payment.refunded_minor if step == "refund" else 0,
        "captured": captured,
        "currency": payment.currency.lower(),
        "created": int(payment.occurred_at.timestamp()),
        "payment_intent": f"pi_{payment.id}",
        "paid": True,
        "status": "succeeded",
        "payment_method_details": {
            "type": method,
            method: {
                "brand": "visa",
                "last4": "4242",
                "exp_month": 8,
                "exp_year": 2030,
                "fingerprint": card.value if card else f"fp{uuid.uuid4().hex[:14]}",
                "wallet": None,
            },
        },
    }
    event_type = {"auth": "charge.succeeded", "capture": "charge.captured", "refund": "charge.refunded"}[step]
    body = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(datetime.now(UTC).timestamp()),
        "type": event_type,
        "data": {"object": charge},
        "livemode": False,
        "pending_webhooks": 1,
    }
    if account:
        body["account"] = account
    return Message(body, {})


def _square(step: Step, payment: SimulatedPayment, account: str, rng: random.Random) -> Message:
    created = payment.occurred_at.isoformat().replace("+00:00", "Z")
    if step == "refund":
        refund_id, amount = payment.refunds[-1]
        obj = {
            "refund": {
                "id": f"{payment.id}_{refund_id}",
                "status": "COMPLETED",
                "payment_id": payment.id,
                "amount_money": {"amount": amount, "currency": payment.currency},
                "location_id": payment.location_id,
                "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
        }
        kind, event_type = "refund", "refund.updated"
    else:
        card = payment.card
        obj = {
            "payment": {
                "id": payment.id,
                "status": "APPROVED" if step == "auth" else "COMPLETED",
                "amount_money": {
                    "amount": payment.amount_minor if step == "auth" else payment.captured_minor,
                    "currency": payment.currency,
                },
                "created_at": created,
                "location_id": payment.location_id,
                "source_type": "CARD",
                "card_details": {
                    "status": "AUTHORIZED" if step == "auth" else "CAPTURED",
                    "entry_method": "KEYED" if payment.online else "CONTACTLESS",
                    "card": {
                        "card_brand": "VISA",
                        "last_4": "4242",
                        "exp_month": 8,
                        "exp_year": 2030,
                        "fingerprint": card.value if card else f"sq-1-{uuid.uuid4().hex}",
                    },
                },
            }
        }
        kind, event_type = "payment", "payment.created" if step == "auth" else "payment.updated"
    body = {
        "merchant_id": account,
        "type": event_type,
        "event_id": str(uuid.uuid4()),
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"type": kind, "id": payment.id, "object": obj},
    }
    return Message(body, {})


def _fidel(step: Step, payment: SimulatedPayment, account: str, rng: random.Random) -> Message:
    local = payment.occurred_at.astimezone(ZoneInfo(payment.timezone)).replace(tzinfo=None)
    card = payment.card
    body: dict = {
        "id": payment.id if step != "refund" else payment.refunds[-1][0],
        "amount": float(_major(payment.amount_minor if step == "auth" else payment.captured_minor, payment.currency)),
        "currency": payment.currency,
        "datetime": local.isoformat(),
        "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "auth": step == "auth",
        "cleared": step != "auth",
        "cardPresent": not payment.online,
        "programId": account,
        "card": {"id": card.value if card else str(uuid.uuid4()), "scheme": "visa", "lastNumbers": "4242"},
        "location": {"id": payment.location_id, "timezone": payment.timezone},
        "brand": {"id": "brand-1", "name": "Simulated brand"},
    }
    if step == "refund":
        body["amount"] = -float(_major(payment.refunds[-1][1], payment.currency))
        body["originalTransactionId"] = payment.id
    return Message(body, {"fidel-message-id": str(uuid.uuid4()), "fidel-attempt-number": "1"})


def _adyen(step: Step, payment: SimulatedPayment, account: str, rng: random.Random) -> Message:
    psp = "P" + hashlib.sha256(payment.id.encode()).hexdigest()[:15].upper()
    item: dict = {
        "merchantAccountCode": account,
        "merchantReference": f"order-{payment.id[:8]}",
        "eventDate": datetime.now(UTC).isoformat(),
        "success": "true",
        "paymentMethod": "visa",
        "additionalData": {
            "shopperInteraction": "Ecommerce" if payment.online else "POS",
            "cardSummary": "4242",
            "expiryDate": "8/2030",
        },
    }
    if payment.card:
        item["additionalData"]["alias"] = payment.card.value
    if step == "auth":
        item.update(pspReference=psp, eventCode="AUTHORISATION")
        item["amount"] = {"value": payment.amount_minor, "currency": payment.currency}
    elif step == "capture":
        item.update(pspReference=_psp(rng), originalReference=psp, eventCode="CAPTURE")
        item["amount"] = {"value": payment.captured_minor, "currency": payment.currency}
    else:
        item.update(pspReference=_psp(rng), originalReference=psp, eventCode="REFUND")
        item["amount"] = {"value": payment.refunds[-1][1], "currency": payment.currency}
    return Message({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}, {})


def _shopify(step: Step, payment: SimulatedPayment, account: str, rng: random.Random) -> Message:
    order_id = int(hashlib.sha256(payment.id.encode()).hexdigest()[:15], 16)
    created = payment.occurred_at.isoformat()
    if step == "refund":
        refund_id, amount = payment.refunds[-1]
        body: dict = {
            "id": int(hashlib.sha256(refund_id.encode()).hexdigest()[:15], 16),
            "order_id": order_id,
            "created_at": datetime.now(UTC).isoformat(),
            "note": "Returned",
            "refund_line_items": [],
            "transactions": [
                {
                    "kind": "refund",
                    "status": "success",
                    "amount": _major(amount, payment.currency),
                    "currency": payment.currency,
                }
            ],
        }
        topic = "refunds/create"
    else:
        total = payment.amount_minor if step == "auth" else payment.captured_minor
        email = payment.card.email if payment.card and payment.card.email else f"guest-{payment.id[:8]}@example.com"
        body = {
            "id": order_id,
            "name": f"#{order_id % 100000}",
            "currency": payment.currency,
            "total_price": _major(total, payment.currency),
            "financial_status": "authorized" if step == "auth" else "paid",
            "created_at": created,
            "processed_at": created,
            "source_name": "web" if payment.online else "pos",
            "location_id": None if payment.online else payment.location_id,
            "customer": {"id": order_id % 10**12, "email": email, "verified_email": True},
            "line_items": [
                {
                    "sku": "SKU-1",
                    "name": "Simulated item",
                    "product_type": rng.choice(["shoes", "accessories", "tops"]),
                    "quantity": 1,
                    "price": _major(total, payment.currency),
                }
            ],
        }
        topic = "orders/create" if step == "auth" else "orders/paid"
    return Message(body, {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": str(uuid.uuid4())})


def _generic(step: Step, payment: SimulatedPayment, account: str, rng: random.Random) -> Message:
    local = payment.occurred_at.astimezone(ZoneInfo(payment.timezone)).replace(tzinfo=None)
    amount_minor = {"auth": payment.amount_minor, "capture": payment.captured_minor}.get(step, 0)
    transaction: dict = {
        "id": payment.id,
        "amount": _major(amount_minor, payment.currency),
        "currency": payment.currency,
        "datetime": local.isoformat(),
        "cardPresent": not payment.online,
        "card": {
            "id": payment.card.token if payment.card and payment.card.token else f"tok_{uuid.uuid4().hex[:20]}",
            "firstNumbers": "411111",
            "lastNumbers": "4242",
            "scheme": "visa",
        },
        "location": None if payment.online else {"id": payment.location_id, "timezone": payment.timezone},
        "identifiers": {} if payment.online else {"MID": payment.location_id},
    }
    if step == "refund":
        refund_id, amount = payment.refunds[-1]
        transaction.update(id=refund_id, amount=_major(-amount, payment.currency), refundTransactionId=payment.id)
    kind = {"auth": "transaction.auth", "capture": "transaction.clearing", "refund": "transaction.refund"}[step]
    return Message({"id": f"evt_{uuid.uuid4().hex}", "type": kind, "transaction": transaction}, {})


FORMATS: dict[str, Callable[[Step, SimulatedPayment, str, random.Random], Message]] = {
    PaymentProvider.STRIPE: _stripe,
    PaymentProvider.SQUARE: _square,
    PaymentProvider.FIDEL: _fidel,
    PaymentProvider.ADYEN: _adyen,
    PaymentProvider.SHOPIFY: _shopify,
    PaymentProvider.GENERIC: _generic,
}


def signed(
    provider: str, message: Message, *, url: str, secret: str, account: str = "", now: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers to post, signed as the provider signs."""
    body = json.dumps(message.body).encode()
    return adapter_for(provider, account=account).sign(
        body, url=url, secret=secret, now=now or datetime.now(UTC), headers=message.headers
    )
