"""What the ingest services take and give: a purchase as sent, and as resolved to its card and shopper."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from merchants.models import Store
from profiles.models import Purchase, PurchaseSource, PurchaseState, Shopper


@dataclass(frozen=True)
class LineItemInput:
    name: str
    unit_price_minor: int
    quantity: int = 1
    sku: str = ""
    category: str = ""


@dataclass(frozen=True)
class PurchaseInput:
    external_id: str
    amount_minor: int
    currency: str
    occurred_at: datetime
    channel: str
    source: str = PurchaseSource.API
    store: Store | None = None
    shopper: Shopper | None = None
    card_token: str | None = None
    state: str = PurchaseState.CLEARED
    network_transaction_id: str | None = None
    line_items: Sequence[LineItemInput] = field(default_factory=tuple)


@dataclass(frozen=True)
class PurchaseResult:
    purchase: Purchase
    created: bool
    basket_matched: bool = False


@dataclass(frozen=True)
class ResolvedPurchase:
    """A validated purchase with its card and shopper already looked up."""

    data: PurchaseInput
    card_id: int | None
    shopper: Shopper | None
