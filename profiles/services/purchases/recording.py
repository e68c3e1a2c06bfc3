"""Recording purchases one at a time, and changing what a recorded purchase is worth (clearing, refunds).

`purchase_record` validates, resolves the card to a shopper, writes the purchase and its
line items, updates the rollups and sends `purchase_recorded`, all in one transaction, so
loyalty's receiver runs inside it too. A purchase completed later (matched with its twin, or
cleared at another amount) is sent again, as a change, in the transaction that completes it.
"""

from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Q

from core.errors import ApplicationError, ConflictError
from core.instances import stored_instance
from merchants.models import Merchant
from profiles.models import CardStatus, Channel, Purchase, PurchaseSource, PurchaseState, Shopper, ShopperStatus
from profiles.services import rollups
from profiles.services.purchases import twins
from profiles.services.purchases.bulk import purchases_insert
from profiles.services.purchases.inputs import PurchaseInput, PurchaseResult, ResolvedPurchase
from profiles.services.shoppers import card_fingerprint
from profiles.signals import purchase_refunded


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

# Merge safety without making ingest writers wait on each other. Every profile a purchase is
# given to is held FOR KEY SHARE until commit; a merge (and an undo, an erasure) takes the two
# profiles FOR UPDATE, which conflicts with it. So a merge either commits first, and the
# purchase reads the merged profile again and follows it to the survivor, or it waits for the
# purchase to commit and then moves it with the rest. KEY SHARE is what the purchase's own
# foreign key check takes on insert: two batches sharing shoppers never wait for each other
# here (they did when this was FOR UPDATE: half a loaded batch's time went to that wait).
# Two purchases of one shopper still commit one after the other from the insert on: the insert
# locks the shopper's rollup row until commit, so what loyalty reads next (caps, earlier
# channels, offers had) already includes the other purchase.
#
# What the hot path reads of a shopper; any other field loads on first access (Model.from_db).
_SHOPPER_ATTNAMES = {"id", "public_id", "merchant_id", "status", "merged_into_id", "joined_via"}
_SHOPPER_FIELDS = [f for f in Shopper._meta.concrete_fields if f.attname in _SHOPPER_ATTNAMES]
_SHOPPER_COLUMNS = ", ".join(f"s.{f.column}" for f in _SHOPPER_FIELDS)
_CARDS_SQL = f"""
    SELECT c.fingerprint, c.id, {_SHOPPER_COLUMNS}
      FROM profiles_card c JOIN profiles_shopper s ON s.id = c.shopper_id
     WHERE c.merchant_id = %s AND c.fingerprint = ANY(%s) AND c.status = %s
     ORDER BY s.id
       FOR KEY SHARE OF s
"""  # noqa: S608 - fixed SQL; values are bound
_SHOPPERS_SQL = f"""
    SELECT {_SHOPPER_COLUMNS} FROM profiles_shopper s WHERE s.id = ANY(%s) ORDER BY s.id FOR KEY SHARE
"""  # noqa: S608 - fixed SQL; values are bound


_SHOPPER_FIELD_ATTNAMES = [f.attname for f in _SHOPPER_FIELDS]


def _shopper_from_row(values: Sequence[object]) -> Shopper:
    """The shopper as from_db builds it, the fields the hot path does not read deferred."""
    return stored_instance(Shopper, connection.alias, dict(zip(_SHOPPER_FIELD_ATTNAMES, values, strict=True)))


def shoppers_hold(*, shopper_ids: Iterable[int]) -> dict[int, Shopper]:
    """These shoppers as they are now, held FOR KEY SHARE until commit (in id order) so no merge moves
    them meanwhile. Call inside the transaction that records their purchases."""
    ids = sorted(set(shopper_ids))
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_SHOPPERS_SQL, [ids])
        return {shopper.pk: shopper for shopper in map(_shopper_from_row, cursor.fetchall())}


def effective_shopper(shopper: Shopper | None, *, is_held: bool = False) -> Shopper | None:
    """The profile a purchase of `shopper` belongs on: a merged profile's goes to the profile it was
    (eventually) merged into; an erased one gets none.

    Every profile read on the way is held FOR KEY SHARE until commit (see above); pass
    `is_held=True` for a shopper that `shoppers_hold` or `cards_resolve` just returned."""
    if shopper is not None and not is_held:
        shopper = shoppers_hold(shopper_ids=[shopper.pk]).get(shopper.pk)
    for _ in range(MAX_MERGE_CHAIN):
        if shopper is None or shopper.status == ShopperStatus.ACTIVE:
            return shopper
        if shopper.status != ShopperStatus.MERGED or not shopper.merged_into_id:
            return None
        shopper = shoppers_hold(shopper_ids=[shopper.merged_into_id]).get(shopper.merged_into_id)
    return None


def cards_resolve(*, merchant: Merchant, card_tokens: Iterable[str]) -> dict[str, tuple[int, Shopper]]:
    """Each linked card's id and shopper, by token; the shoppers are held (see `shoppers_hold`).

    One lean query: on the ingest path the ORM's own cost would exceed the query's."""
    fingerprints = {card_fingerprint(token): token for token in card_tokens if token}
    if not fingerprints:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_CARDS_SQL, [merchant.pk, list(fingerprints), CardStatus.ACTIVE])
        rows = cursor.fetchall()
    return {
        fingerprints[fingerprint]: (card_id, _shopper_from_row(shopper_values))
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
    # A shopper named by the caller was read without a lock: effective_shopper reads it again, held.
    shopper = effective_shopper(data.shopper) if data.shopper else effective_shopper(card_shopper, is_held=True)

    if may_have_twin and data.source == PurchaseSource.API:
        network_purchase = twins.match_network_purchase(merchant, data, card_id, shopper)
        if network_purchase is not None:
            return twins.match_basket(merchant, network_purchase, data, shopper)
    if may_have_twin and data.source == PurchaseSource.NETWORK:
        checkout_purchase = twins.match_checkout_purchase(merchant, data, card_id, shopper)
        if checkout_purchase is not None:
            return twins.match_transaction(merchant, checkout_purchase, data, card_id, shopper)

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

    A new amount (a clearing for another amount than the authorisation) is the purchase's final
    amount: it reaches receivers again as a change (see profiles.signals). A refund, or a clearing
    that keeps the amount, is not sent: loyalty settles those against what the purchase earned.

    Call with the purchase locked (select_for_update).
    """
    rollups.hold_shared(merchant_id=purchase.merchant_id)
    rollups.store_hour_apply(purchase_ids=[purchase.pk], sign=-1)
    amount_changed = amount_minor is not None and amount_minor != purchase.amount_minor
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
    if amount_changed:
        twins.purchase_change_announce(merchant=purchase.merchant, purchase=purchase)
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
    purchase = purchase_change_value(
        purchase=purchase,
        refunded_minor=refunded,
        state=PurchaseState.REFUNDED if refunded == purchase.amount_minor else purchase.state,
    )
    purchase_refunded.send(sender=Purchase, merchant=merchant, purchase=purchase, refunded_minor=amount)
    return purchase
