"""The ingest path for purchases, by purpose: `inputs` (what the services take), `recording` (one
purchase, refunds and clearing changes), `twins` (a basket and its network transaction as one
purchase) and `bulk` (the one-statement insert that batches, single purchases and imports share)."""

from profiles.services.purchases.bulk import purchases_insert, purchases_write_sql
from profiles.services.purchases.identify import purchase_identify
from profiles.services.purchases.inputs import LineItemInput, PurchaseInput, PurchaseResult, ResolvedPurchase
from profiles.services.purchases.recording import (
    cards_resolve,
    check_purchase,
    effective_shopper,
    purchase_change_value,
    purchase_record,
    purchase_refund,
    same_purchase,
    shoppers_hold,
)
from profiles.services.purchases.twins import BASKET_MATCH_WINDOW

__all__ = [
    "BASKET_MATCH_WINDOW",
    "LineItemInput",
    "PurchaseInput",
    "PurchaseResult",
    "ResolvedPurchase",
    "cards_resolve",
    "check_purchase",
    "effective_shopper",
    "purchase_change_value",
    "purchase_identify",
    "purchase_record",
    "purchase_refund",
    "purchases_insert",
    "purchases_write_sql",
    "same_purchase",
    "shoppers_hold",
]
