"""Recording many purchases at once: the batch API and imports.

Set-based: one query resolves every card, one INSERT … ON CONFLICT writes the
purchases and folds them into the rollups, and one looks up the few rows the
natural key turned away (retries). A row that would need a checkout basket matched
onto a network purchase goes through `purchase_record` one by one instead.
Each row gets its own result; a bad row never stops the good ones.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from core.errors import ApplicationError
from merchants.models import Merchant
from profiles.models import Purchase, PurchaseSource
from profiles.services.purchases import (
    BASKET_MATCH_WINDOW,
    PurchaseInput,
    ResolvedPurchase,
    cards_resolve,
    check_purchase,
    effective_shopper,
    purchase_record,
    purchases_insert,
    same_purchase,
    shoppers_hold,
)

MAX_BATCH = 1000


@dataclass
class RowResult:
    index: int
    status: str  # created | duplicate | basket_matched | error
    purchase: Purchase | None = None
    error: ApplicationError | None = None


def _error(index: int, error: ApplicationError) -> RowResult:
    return RowResult(index=index, status="error", error=error)


@transaction.atomic
def purchase_record_batch(*, merchant: Merchant, rows: Sequence[PurchaseInput | ApplicationError]) -> list[RowResult]:
    """Rows that failed parsing arrive as the ApplicationError that describes them."""
    if len(rows) > MAX_BATCH:
        raise ApplicationError(f"At most {MAX_BATCH} purchases per batch.", code="batch_too_large", field="purchases")
    results: dict[int, RowResult] = {}
    candidates: dict[int, PurchaseInput] = {}
    seen_keys: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        if isinstance(row, ApplicationError):
            results[index] = _error(index, row)
            continue
        try:
            check_purchase(merchant=merchant, data=row)
        except ApplicationError as error:
            results[index] = _error(index, error)
            continue
        key = (row.source, row.external_id)
        if key in seen_keys:
            results[index] = _error(
                index,
                ApplicationError(
                    f"External id “{row.external_id}” appears twice in this batch (first at row {seen_keys[key]}).",
                    code="duplicate_in_batch",
                    field="external_id",
                ),
            )
            continue
        seen_keys[key] = index
        candidates[index] = row

    if merchant.has_network_feed:
        # A retried basket may have been matched onto a network purchase: only a lookup finds it.
        _mark_already_recorded(merchant, candidates, results)
    for index in _rows_needing_basket_match(merchant, candidates):
        row = candidates.pop(index)
        try:
            with transaction.atomic():
                outcome = purchase_record(merchant=merchant, data=row)
        except ApplicationError as error:
            results[index] = _error(index, error)
            continue
        status = "basket_matched" if outcome.basket_matched else "created" if outcome.created else "duplicate"
        results[index] = RowResult(index=index, status=status, purchase=outcome.purchase)

    for index, purchase in _insert(merchant, candidates).items():
        results[index] = RowResult(index=index, status="created", purchase=purchase)
    # Rows the natural key turned away: recorded before (a retry), or by a concurrent writer.
    skipped = {index: row for index, row in candidates.items() if index not in results}
    _mark_already_recorded(merchant, skipped, results)
    for index in skipped.keys() - results.keys():
        results[index] = RowResult(index=index, status="duplicate")
    return [results[index] for index in sorted(results)]


def _mark_already_recorded(
    merchant: Merchant, candidates: dict[int, PurchaseInput], results: dict[int, RowResult]
) -> None:
    if not candidates:
        return
    by_source: dict[str, list[str]] = {}
    for row in candidates.values():
        by_source.setdefault(row.source, []).append(row.external_id)
    query = Q()
    for source, external_ids in by_source.items():
        query |= Q(source=source, external_id__in=external_ids)
    api_ids = by_source.get(PurchaseSource.API, [])
    if api_ids:
        query |= Q(basket_external_id__in=api_ids)
    existing: dict[tuple[str, str], Purchase] = {}
    for purchase in Purchase.objects.for_merchant(merchant).filter(query):
        existing[(purchase.source, purchase.external_id)] = purchase
        if purchase.basket_external_id:
            existing[(PurchaseSource.API, purchase.basket_external_id)] = purchase
    for index, row in list(candidates.items()):
        found = existing.get((row.source, row.external_id))
        if found is None:
            continue
        del candidates[index]
        try:
            results[index] = RowResult(index=index, status="duplicate", purchase=same_purchase(found, row))
        except ApplicationError as error:
            results[index] = _error(index, error)


def _rows_needing_basket_match(merchant: Merchant, candidates: dict[int, PurchaseInput]) -> list[int]:
    if not merchant.has_network_feed:
        return []
    baskets = {
        index: row
        for index, row in candidates.items()
        if row.source == PurchaseSource.API and row.line_items and row.store is not None
    }
    if not baskets:
        return []
    times = [row.occurred_at for row in baskets.values()]
    waiting = set(
        Purchase.objects.for_merchant(merchant)
        .filter(
            source=PurchaseSource.NETWORK,
            basket_external_id__isnull=True,
            store_id__in={row.store.pk for row in baskets.values() if row.store},
            amount_minor__in={row.amount_minor for row in baskets.values()},
            occurred_at__range=(min(times) - BASKET_MATCH_WINDOW, max(times) + BASKET_MATCH_WINDOW),
        )
        .values_list("store_id", "amount_minor")
    )
    return [
        index for index, row in baskets.items() if row.store is not None and (row.store.pk, row.amount_minor) in waiting
    ]


def _insert(merchant: Merchant, candidates: dict[int, PurchaseInput]) -> dict[int, Purchase]:
    """Resolve every card and hold every shopper in one query each, then insert the lot with purchases_insert."""
    if not candidates:
        return {}
    cards = cards_resolve(
        merchant=merchant, card_tokens={row.card_token for row in candidates.values() if row.card_token}
    )
    # Shoppers the caller named were read without a lock; hold them as cards_resolve holds the cards' shoppers.
    named = shoppers_hold(shopper_ids={row.shopper.pk for row in candidates.values() if row.shopper})
    resolved = []
    for row in candidates.values():
        card_id, card_shopper = cards.get(row.card_token or "", (None, None))
        shopper = named.get(row.shopper.pk) if row.shopper else card_shopper
        resolved.append(ResolvedPurchase(data=row, card_id=card_id, shopper=effective_shopper(shopper, is_held=True)))
    inserted = purchases_insert(merchant=merchant, rows=resolved)
    return {index: purchase for index, purchase in zip(candidates, inserted, strict=True) if purchase is not None}
