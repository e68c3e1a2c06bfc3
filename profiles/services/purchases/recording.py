"""Recording purchases one at a time, and changing what a recorded purchase is worth (clearing, refunds).

`purchase_record` validates, resolves the card to a shopper, writes the purchase and its
line items, updates the rollups and sends `purchase_recorded`, all in one transaction, so
loyalty's receiver runs inside it too.
"""

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Q

from core.errors import ApplicationError, ConflictError
from merchants.models import Merchant
from profiles.models import CardStatus, Channel, Purchase, PurchaseSource, PurchaseState, Shopper, ShopperStatus
from profiles.services import rollups
from profiles.services.purchases import twins
from profiles.services.purchases.bulk import purchases_insert
from profiles.services.purchases.inputs import PurchaseInput, PurchaseResult, ResolvedPurchase
from profiles.services.shoppers import card_fingerprint


def check_purchase(*, merchant: Merchant, data: PurchaseInput) -> None:
    """Validation that needs no lock: raise before anything is written."""
    if data.currency != merchant.currency:
        raise ApplicationError(
            f"{merchant.name} records purchases in {merchant.currency}; this one is in {data.currency}.",
            code="currency_mismatch",
            field="currency",
        )
    if data.amount_minor <= 0:
        raise ApplicationError("The amount must be positive.", code="invalid_amount", field="amount_minor")
    if data.store is not None and data.store.merchant_id != merchant.pk:
        raise ApplicationError("No such store.", code="not_found", field="store")
    if data.channel == Channel.IN_STORE and data.store is None:
        raise ApplicationError("An in-store purchase needs its store.", code="store_required", field="store")
    if data.shopper is not None and data.shopper.merchant_id != merchant.pk:
        raise ApplicationError("No such shopper.", code="not_found", field="shopper")


def _find_existing(merchant: Merchant, data: PurchaseInput) -> Purchase | None:
    keys = Q(source=data.source, external_id=data.external_id)
    if data.source == PurchaseSource.API:
        keys |= Q(basket_external_id=data.external_id)
    if data.network_transaction_id:
        keys |= Q(network_transaction_id=data.network_transaction_id)
    return Purchase.objects.for_merchant(merchant).filter(keys).first()


def same_purchase(existing: Purchase, data: PurchaseInput) -> Purchase:
    """The stored purchase, if `data` is a retry of it; a conflict if it is another purchase under the same id."""
    own_key = existing.source == data.source and existing.external_id == data.external_id
    # Matched onto its twin, a purchase keeps the twin's time: then only the amount must agree.
    differs = existing.amount_minor != data.amount_minor or (own_key and existing.occurred_at != data.occurred_at)
    if differs:
        raise ConflictError(
            f"A different purchase with external id “{data.external_id}” is already recorded.",
            code="external_id_conflict",
            field="external_id",
        )
    return existing


MAX_MERGE_CHAIN = 20


def effective_shopper(shopper: Shopper | None) -> Shopper | None:
    """Purchases of a merged profile go to the profile it was (eventually) merged into; an erased one gets none."""
    for _ in range(MAX_MERGE_CHAIN):
        if shopper is None or shopper.status == ShopperStatus.ACTIVE:
            return shopper
        if shopper.status != ShopperStatus.MERGED or not shopper.merged_into_id:
            return None
        shopper = Shopper.objects.filter(merchant=shopper.merchant_id, pk=shopper.merged_into_id).first()
    return None


# What the hot path reads of a card's shopper; any other field loads on first access (Model.from_db).
_SHOPPER_ATTNAMES = {"id", "public_id", "merchant_id", "status", "merged_into_id", "joined_via"}
_SHOPPER_FIELDS = [f for f in Shopper._meta.concrete_fields if f.attname in _SHOPPER_ATTNAMES]
_CARDS_SQL = f"""
    SELECT c.fingerprint, c.id, {", ".join(f"s.{f.column}" for f in _SHOPPER_FIELDS)}
      FROM profiles_card c JOIN profiles_shopper s ON s.id = c.shopper_id
     WHERE c.merchant_id = %s AND c.fingerprint = ANY(%s) AND c.status = %s
     ORDER BY s.id
       FOR UPDATE OF s
"""  # noqa: S608 - fixed SQL; values are bound


def cards_resolve(*, merchant: Merchant, card_tokens: Iterable[str]) -> dict[str, tuple[int, Shopper]]:
    """Each linked card's id and shopper, by token. The shoppers are locked (in id order, so two
    batches cannot deadlock): a merge running now either finishes first (and we follow it) or waits
    for these purchases (and moves them).

    One lean query: on the ingest path the ORM's own cost would exceed the query's."""
    fingerprints = {card_fingerprint(token): token for token in card_tokens if token}
    if not fingerprints:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_CARDS_SQL, [merchant.pk, list(fingerprints), CardStatus.ACTIVE])
        rows = cursor.fetchall()
    attnames = [f.attname for f in _SHOPPER_FIELDS]
    return {
        fingerprints[fingerprint]: (card_id, Shopper.from_db(connection.alias, attnames, shopper_values))
        for fingerprint, card_id, *shopper_values in rows
    }


def purchase_record(*, merchant: Merchant, data: PurchaseInput) -> PurchaseResult:
    """Record one purchase, at most once per (source, external id).

    Bad input is refused before the transaction begins. Inside a caller's transaction it takes
    no savepoint of its own (two round trips on the hot path): a caller that wants to go on
    after a conflict wraps the call in `atomic()`.
    """
    check_purchase(merchant=merchant, data=data)
    with transaction.atomic(savepoint=False):
        return _purchase_record_checked(merchant, data)


def _purchase_record_checked(merchant: Merchant, data: PurchaseInput) -> PurchaseResult:
    may_have_twin = twins.may_have_twin(merchant, data)
    if may_have_twin:
        twins.lock_twin_matching(merchant, data)
        # A retry must be recognised before matching, or it could be matched onto a second twin.
        existing = _find_existing(merchant, data)
        if existing is not None:
            return PurchaseResult(purchase=same_purchase(existing, data), created=False)

    card_id, card_shopper = (
        cards_resolve(merchant=merchant, card_tokens=[data.card_token]).get(data.card_token, (None, None))
        if data.card_token
        else (None, None)
    )
    shopper = effective_shopper(data.shopper or card_shopper)

    if may_have_twin and data.source == PurchaseSource.API:
        network_purchase = twins.match_network_purchase(merchant, data, card_id, shopper)
        if network_purchase is not None:
            return twins.match_basket(merchant, network_purchase, data, shopper)
    if may_have_twin and data.source == PurchaseSource.NETWORK:
        checkout_purchase = twins.match_checkout_purchase(merchant, data, card_id, shopper)
        if checkout_purchase is not None:
            return twins.match_transaction(checkout_purchase, data, card_id, shopper)

    (purchase,) = purchases_insert(
        merchant=merchant,
        rows=[ResolvedPurchase(data=data, card_id=card_id, shopper=shopper)],
    )
    if purchase is None:
        # Already recorded (a retry under another key, or a concurrent request): the natural key held.
        existing = _find_existing(merchant, data)
        if existing is None:
            raise ConflictError("This purchase clashes with one already recorded.", code="purchase_conflict")
        return PurchaseResult(purchase=same_purchase(existing, data), created=False)
    return PurchaseResult(purchase=purchase, created=True)


@transaction.atomic
def purchase_change_value(
    *, purchase: Purchase, refunded_minor: int | None = None, amount_minor: int | None = None, state: str | None = None
) -> Purchase:
    """Change what a purchase is worth (a refund, a clearing amount) and keep the rollups exact.

    Call with the purchase locked (select_for_update).
    """
    rollups.hold_shared(merchant_id=purchase.merchant_id)
    rollups.store_hour_apply(purchase_ids=[purchase.pk], sign=-1)
    if amount_minor is not None:
        purchase.amount_minor = amount_minor
    if refunded_minor is not None:
        purchase.refunded_minor = refunded_minor
    if state is not None:
        purchase.state = state
    purchase.save(update_fields=["amount_minor", "refunded_minor", "state", "updated_at"])
    rollups.store_hour_apply(purchase_ids=[purchase.pk], sign=1)
    if purchase.shopper_id:
        rollups.shopper_recompute(shopper_ids=[purchase.shopper_id])
    return purchase


@transaction.atomic
def purchase_refund(*, merchant: Merchant, purchase_id: int, amount_minor: int | None = None) -> Purchase:
    """Refund all of a purchase, or part of it. Refunding more than remains is refused."""
    purchase = (
        Purchase.objects.for_merchant(merchant)
        .select_for_update(of=("self",))
        .select_related("store", "merchant")
        .get(pk=purchase_id)
    )
    remaining = purchase.amount_minor - purchase.refunded_minor
    amount = remaining if amount_minor is None else amount_minor
    if amount <= 0:
        raise ApplicationError("The refund amount must be positive.", code="invalid_amount", field="amount_minor")
    if amount > remaining:
        raise ApplicationError(
            f"Only {remaining} (minor units) of this purchase remain to refund.",
            code="refund_exceeds_purchase",
            field="amount_minor",
        )
    refunded = purchase.refunded_minor + amount
    return purchase_change_value(
        purchase=purchase,
        refunded_minor=refunded,
        state=PurchaseState.REFUNDED if refunded == purchase.amount_minor else purchase.state,
    )
