"""Recording purchases, refunds and visits: the hot path of ingest.

`purchase_record` validates, resolves the card to a shopper, writes the
purchase and its line items, updates the rollups and sends `purchase_recorded`,
all in one transaction, so loyalty's receiver runs inside it too.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.base import ModelState
from django.db.models.functions import Greatest
from django.db.models.signals import post_init, pre_init

from merchants.errors import ApplicationError, ConflictError
from merchants.models import Merchant, Store
from profiles.models import (
    CardStatus,
    Channel,
    LineItem,
    Purchase,
    PurchaseSource,
    PurchaseState,
    Shopper,
    ShopperStatus,
    Visit,
)
from profiles.services import rollups
from profiles.services.shoppers import card_fingerprint
from profiles.signals import purchase_recorded

# A checkout basket and a network transaction of the same store and amount this
# close in time are the same purchase.
BASKET_MATCH_WINDOW = timedelta(minutes=10)


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
        shopper = Shopper.objects.filter(pk=shopper.merged_into_id).first()
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


def _may_have_twin(merchant: Merchant, data: PurchaseInput) -> bool:
    """Whether this purchase may be the other half of one already stored (basket ↔ network transaction)."""
    if data.store is None:
        return False
    if data.source == PurchaseSource.API:
        return bool(data.line_items) and merchant.has_network_feed
    return data.source == PurchaseSource.NETWORK


def _lock_twin_matching(merchant: Merchant, data: PurchaseInput) -> None:
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


def _match_network_purchase(
    merchant: Merchant, data: PurchaseInput, card_id: int | None, shopper: Shopper | None
) -> Purchase | None:
    """A network purchase still waiting for its basket."""
    return _unmatched_twin(
        merchant, data, card_id, shopper, source=PurchaseSource.NETWORK, basket_external_id__isnull=True
    )


def _match_checkout_purchase(
    merchant: Merchant, data: PurchaseInput, card_id: int | None, shopper: Shopper | None
) -> Purchase | None:
    """A checkout purchase (with its basket) that this network transaction confirms."""
    return _unmatched_twin(
        merchant, data, card_id, shopper, source=PurchaseSource.API, network_transaction_id__isnull=True
    )


def _match_transaction(
    purchase: Purchase, data: PurchaseInput, card_id: int | None, shopper: Shopper | None
) -> PurchaseResult:
    """Tie a network transaction to the checkout purchase it confirms; it is not counted twice."""
    purchase.network_transaction_id = data.network_transaction_id
    fields = ["network_transaction_id", "updated_at"]
    if purchase.card_id is None and card_id is not None:
        purchase.card_id = card_id
        fields.append("card")
    _save_learning_shopper(purchase, shopper, fields)
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
    may_have_twin = _may_have_twin(merchant, data)
    if may_have_twin:
        _lock_twin_matching(merchant, data)
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
        network_purchase = _match_network_purchase(merchant, data, card_id, shopper)
        if network_purchase is not None:
            return _match_basket(merchant, network_purchase, data, shopper)
    if may_have_twin and data.source == PurchaseSource.NETWORK:
        checkout_purchase = _match_checkout_purchase(merchant, data, card_id, shopper)
        if checkout_purchase is not None:
            return _match_transaction(checkout_purchase, data, card_id, shopper)

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


@dataclass(frozen=True)
class ResolvedPurchase:
    """A validated purchase with its card and shopper already looked up."""

    data: PurchaseInput
    card_id: int | None
    shopper: Shopper | None


_INSERT_COLUMNS = (
    ("store_id", "bigint"),
    ("shopper_id", "bigint"),
    ("card_id", "bigint"),
    ("channel", "text"),
    ("amount_minor", "bigint"),
    ("currency", "text"),
    ("occurred_at", "timestamptz"),
    ("source", "text"),
    ("external_id", "text"),
    ("network_transaction_id", "text"),
    ("state", "text"),
)
_ITEM_COLUMNS = (
    ("source", "text"),
    ("external_id", "text"),
    ("sku", "text"),
    ("name", "text"),
    ("category", "text"),
    ("quantity", "integer"),
    ("unit_price_minor", "bigint"),
)
# Purchases are built with Model.from_db from what the caller sent and what the INSERT made
# (id, public id, timestamps): no column is sent back only to be parsed again. A new Purchase
# field must be filled in below (a KeyError says so in every ingest test).
_PURCHASE_ATTNAMES = [field.attname for field in Purchase._meta.concrete_fields]
_PURCHASE_ATTNAME_SET = frozenset(_PURCHASE_ATTNAMES)
_MERCHANT_CACHE = Purchase._meta.get_field("merchant").cache_name
_STORE_CACHE = Purchase._meta.get_field("store").cache_name
_SHOPPER_CACHE = Purchase._meta.get_field("shopper").cache_name
# One round trip: the purchases, their line items and both rollups. The rows travel as two JSON
# parameters: one string to quote, where arrays would be quoted value by value on the client.
_INSERT_SQL = f"""
    WITH inserted AS (
        INSERT INTO profiles_purchase
            (merchant_id, public_id, refunded_minor, created_at, updated_at, {", ".join(c for c, _ in _INSERT_COLUMNS)})
        SELECT %(merchant)s, gen_random_uuid(), 0, now(), now(), {", ".join(f"r.{c}" for c, _ in _INSERT_COLUMNS)}
          FROM json_to_recordset(%(purchases)s::json) AS r({", ".join(f"{c} {t}" for c, t in _INSERT_COLUMNS)})
          -- held until commit: the nightly rebuild waits for us, or we for it
          CROSS JOIN (SELECT pg_advisory_xact_lock_shared({rollups.ROLLUP_LOCK_CLASS}, %(merchant)s::int)) AS held
        ON CONFLICT DO NOTHING
        RETURNING *
    ),
    line_items AS (
        INSERT INTO profiles_lineitem (merchant_id, purchase_id, sku, name, category, quantity, unit_price_minor)
        SELECT %(merchant)s, inserted.id, i.sku, i.name, i.category, i.quantity, i.unit_price_minor
          FROM json_to_recordset(%(items)s::json) AS i({", ".join(f"{c} {t}" for c, t in _ITEM_COLUMNS)})
          JOIN inserted ON inserted.source = i.source AND inserted.external_id = i.external_id
    ),
    shopper_rollup AS ({rollups.shopper_upsert_sql("inserted")}),
    store_hour_rollup AS ({rollups.store_hour_upsert_sql("inserted")})
    -- all rows share one created_at (now() is the transaction's start): it is sent and parsed once
    SELECT id, public_id, source, external_id, CASE WHEN id = (SELECT min(id) FROM inserted) THEN created_at END
      FROM inserted
"""  # noqa: S608 - fixed SQL; values are bound


def _plain_init() -> bool:
    """Whether building a Purchase may skip Model.__init__: nobody listens to its init signals."""
    return not (pre_init.has_listeners(Purchase) or post_init.has_listeners(Purchase))


def _stored_purchase(alias: str, fields: dict[str, object], related: Mapping[str, object]) -> Purchase:
    """What Purchase.from_db builds, without Model.__init__'s per-field descriptors: a fifth of the time.

    `fields` holds exactly the concrete fields' attnames (checked in tests against from_db)."""
    purchase = Purchase.__new__(Purchase)
    purchase.__dict__.update(fields)
    state = purchase._state = ModelState()
    state.adding = False
    state.db = alias
    state.fields_cache.update(related)
    return purchase


def _purchase_from_db(alias: str, fields: dict[str, object], related: Mapping[str, object]) -> Purchase:
    purchase = Purchase.from_db(alias, _PURCHASE_ATTNAMES, [fields[name] for name in _PURCHASE_ATTNAMES])
    purchase._state.fields_cache.update(related)
    return purchase


def purchases_insert(*, merchant: Merchant, rows: Sequence[ResolvedPurchase]) -> list[Purchase | None]:
    """Insert purchases with their line items and fold them into the rollups in one statement, then tell receivers.

    A row already recorded (by its natural key) is skipped and comes back as None.
    Call inside a transaction, after validation.
    """
    if not rows:
        return []
    purchases: list[dict[str, object]] = []
    items: list[dict[str, object]] = []
    for row in rows:
        data = row.data
        purchases.append(
            {
                "store_id": data.store.pk if data.store else None,
                "shopper_id": row.shopper.pk if row.shopper else None,
                "card_id": row.card_id,
                "channel": data.channel,
                "amount_minor": data.amount_minor,
                "currency": data.currency,
                "occurred_at": data.occurred_at.isoformat(),
                "source": data.source,
                "external_id": data.external_id,
                "network_transaction_id": data.network_transaction_id,
                "state": data.state,
            }
        )
        items.extend(
            {
                "source": data.source,
                "external_id": data.external_id,
                "sku": item.sku,
                "name": item.name,
                "category": item.category,
                "quantity": item.quantity,
                "unit_price_minor": item.unit_price_minor,
            }
            for item in data.line_items
        )
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SQL, {"merchant": merchant.pk, "purchases": json.dumps(purchases), "items": json.dumps(items)}
        )
        rows_made = cursor.fetchall()
        created_at = next((made_at for *_, made_at in rows_made if made_at is not None), None)
        made = {(source, external_id): (pk, public_id) for pk, public_id, source, external_id, _ in rows_made}
    recorded: list[Purchase | None] = []
    alias = connection.alias
    build = _stored_purchase if _plain_init() else _purchase_from_db
    for row, fields in zip(rows, purchases, strict=True):
        data = row.data
        found = made.get((data.source, data.external_id))
        if found is None:
            recorded.append(None)
            continue
        fields.update(
            id=found[0],
            public_id=found[1],
            merchant_id=merchant.pk,
            occurred_at=data.occurred_at.astimezone(UTC),
            refunded_minor=0,
            basket_external_id=None,
            created_at=created_at,
            updated_at=created_at,
        )
        if fields.keys() != _PURCHASE_ATTNAME_SET:
            raise KeyError(f"Fill in every Purchase field here: {sorted(_PURCHASE_ATTNAME_SET ^ fields.keys())}")
        # What the caller already holds, so reading these relations costs no query.
        related = {_MERCHANT_CACHE: merchant, _STORE_CACHE: data.store, _SHOPPER_CACHE: row.shopper}
        recorded.append(build(alias, fields, related))
    for new in recorded:
        if new is not None:
            purchase_recorded.send(sender=Purchase, merchant=merchant, purchase=new)
    return recorded


def _match_basket(
    merchant: Merchant, purchase: Purchase, data: PurchaseInput, shopper: Shopper | None
) -> PurchaseResult:
    """Give a network purchase the basket a checkout sent for it; it is not counted twice."""
    purchase.basket_external_id = data.external_id
    _save_learning_shopper(purchase, shopper, ["basket_external_id", "updated_at"])
    _attach_line_items(purchase, data.line_items)
    return PurchaseResult(purchase=purchase, created=False, basket_matched=True)


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


@transaction.atomic
def visit_record(
    *, merchant: Merchant, store: Store, occurred_at: datetime, source: str, shopper: Shopper | None = None
) -> Visit:
    if store.merchant_id != merchant.pk:
        raise ApplicationError("No such store.", code="not_found", field="store")
    if shopper is not None and shopper.merchant_id != merchant.pk:
        raise ApplicationError("No such shopper.", code="not_found", field="shopper")
    return Visit.objects.create(merchant=merchant, store=store, occurred_at=occurred_at, source=source, shopper=shopper)
