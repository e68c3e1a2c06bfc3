"""Twin matching: a checkout basket and the card network's transaction for the same purchase are
one purchase, whichever arrives first; the second to arrive completes the first.

A completed purchase is sent to receivers again as a change (`purchase_change_announce`), so
loyalty and campaigns see it as it ends up, whatever the arrival order: a basket sent before the
network transaction usually has no shopper yet (the card tells who it was), and a network
transaction sent before its basket has no line items yet.
"""

from collections.abc import Sequence
from datetime import timedelta

from django.db import connection
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest

from merchants.models import Merchant
from profiles.models import LineItem, Purchase, PurchaseSource, PurchaseState, Shopper
from profiles.services import rollups
from profiles.services.purchases.inputs import LineItemInput, PurchaseInput, PurchaseResult
from profiles.signals import purchase_recorded

# A checkout basket and a network transaction of the same store and amount this
# close in time are the same purchase.
BASKET_MATCH_WINDOW = timedelta(minutes=10)


def may_have_twin(merchant: Merchant, data: PurchaseInput) -> bool:
    """Whether this purchase may be the other half of one already stored (basket ↔ network transaction)."""
    if data.store is None:
        return False
    if data.source == PurchaseSource.API:
        return bool(data.line_items) and merchant.has_network_feed
    return data.source == PurchaseSource.NETWORK


def lock_twin_matching(merchant: Merchant, data: PurchaseInput) -> None:
    """Both halves of one purchase arriving at once must not both miss each other and both insert."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"twin:{merchant.pk}:{data.store.pk if data.store else ''}:{data.amount_minor}"],
        )


def _unmatched_twin(
    merchant: Merchant, data: PurchaseInput, card_id: int | None, shopper: Shopper | None, **unmatched: object
) -> Purchase | None:
    """The other half of this purchase, not yet matched: same store and amount, close in time, and not
    known to belong to another card or shopper. The closest in time wins."""
    candidates = Purchase.objects.for_merchant(merchant).filter(
        store=data.store,
        amount_minor=data.amount_minor,
        occurred_at__range=(data.occurred_at - BASKET_MATCH_WINDOW, data.occurred_at + BASKET_MATCH_WINDOW),
        **unmatched,
    )
    if card_id is not None:
        candidates = candidates.filter(Q(card__isnull=True) | Q(card_id=card_id))
    if shopper is not None:
        candidates = candidates.filter(Q(shopper__isnull=True) | Q(shopper=shopper))
    return (
        candidates.select_for_update()
        .annotate(
            distance=Greatest(F("occurred_at") - Value(data.occurred_at), Value(data.occurred_at) - F("occurred_at"))
        )
        .order_by("distance", "pk")
        .first()
    )


def match_network_purchase(
    merchant: Merchant, data: PurchaseInput, card_id: int | None, shopper: Shopper | None
) -> Purchase | None:
    """A network purchase still waiting for its basket."""
    return _unmatched_twin(
        merchant, data, card_id, shopper, source=PurchaseSource.NETWORK, basket_external_id__isnull=True
    )


def match_checkout_purchase(
    merchant: Merchant, data: PurchaseInput, card_id: int | None, shopper: Shopper | None
) -> Purchase | None:
    """A checkout purchase (with its basket) that this network transaction confirms."""
    return _unmatched_twin(
        merchant, data, card_id, shopper, source=PurchaseSource.API, network_transaction_id__isnull=True
    )


def purchase_change_announce(*, merchant: Merchant, purchase: Purchase) -> None:
    """Send a purchase completed after it was recorded to receivers again, as it now is (see profiles.signals).

    Call inside the transaction that changed it, after the change is saved."""
    purchase_recorded.send(sender=Purchase, merchant=merchant, purchase=purchase, is_change=True)


def match_transaction(
    merchant: Merchant, purchase: Purchase, data: PurchaseInput, card_id: int | None, shopper: Shopper | None
) -> PurchaseResult:
    """Tie a network transaction to the checkout purchase it confirms; it is not counted twice.

    The network decides the money's state: a basket confirmed by an authorisation is authorised
    until its clearing, as the transaction alone would be, so the order of arrival changes nothing.
    """
    purchase.network_transaction_id = data.network_transaction_id
    fields = ["network_transaction_id", "updated_at"]
    if purchase.card_id is None and card_id is not None:
        purchase.card_id = card_id
        fields.append("card")
    if data.state == PurchaseState.AUTHORISED and purchase.state == PurchaseState.CLEARED:
        purchase.state = PurchaseState.AUTHORISED
        fields.append("state")
    _save_learning_shopper(purchase, shopper, fields)
    purchase_change_announce(merchant=merchant, purchase=purchase)
    return PurchaseResult(purchase=purchase, created=False, basket_matched=True)


def _save_learning_shopper(purchase: Purchase, shopper: Shopper | None, fields: list[str]) -> None:
    """Save a matched purchase; if the match told us its shopper, move it into their rollup."""
    gained_shopper = purchase.shopper_id is None and shopper is not None
    if gained_shopper:
        rollups.hold_shared(merchant_id=purchase.merchant_id)
        # Taken out and put back with its shopper, so "identified" counts stay exact.
        rollups.store_hour_apply(purchase_ids=[purchase.pk], sign=-1)
        purchase.shopper = shopper
        fields.append("shopper")
    purchase.save(update_fields=fields)
    if gained_shopper:
        rollups.purchases_add(purchase_ids=[purchase.pk])


def _line_items(purchase: Purchase, items: Sequence[LineItemInput]) -> list[LineItem]:
    return [
        LineItem(
            merchant_id=purchase.merchant_id,
            purchase=purchase,
            sku=item.sku,
            name=item.name,
            category=item.category,
            quantity=item.quantity,
            unit_price_minor=item.unit_price_minor,
        )
        for item in items
    ]


def _attach_line_items(purchase: Purchase, items: Sequence[LineItemInput]) -> None:
    LineItem.objects.bulk_create(_line_items(purchase, items))


def match_basket(
    merchant: Merchant, purchase: Purchase, data: PurchaseInput, shopper: Shopper | None
) -> PurchaseResult:
    """Give a network purchase the basket a checkout sent for it; it is not counted twice."""
    purchase.basket_external_id = data.external_id
    _save_learning_shopper(purchase, shopper, ["basket_external_id", "updated_at"])
    _attach_line_items(purchase, data.line_items)
    purchase_change_announce(merchant=merchant, purchase=purchase)
    return PurchaseResult(purchase=purchase, created=False, basket_matched=True)
