"""Generated history for the insight tests, and the figures recomputed from its raw rows in plain Python."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.db.models import F

from demo.history import HistorySpec, demo_history_load
from merchants.models import Merchant, Store
from profiles.models import Purchase

NOW = datetime(2026, 11, 18, 15, 45, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    id: int
    shopper: int | None
    store: int | None  # the store the purchase was made in: none for an online order, even one collected in a store
    channel: str
    at: datetime
    day: date  # the store's local day, the merchant's for online purchases
    month: date  # the merchant's local month
    net: int


def history_load(merchant: Merchant, *, shoppers: int = 250, purchases: int = 3000) -> None:
    demo_history_load(
        merchant=merchant,
        spec=HistorySpec(shoppers=shoppers, purchases=purchases, catalogue="fashion", seed=7),
        now=NOW,
    )


def counted_rows(merchant: Merchant) -> list[Row]:
    """Purchases that count (not fully refunded), worth amount − refunded, with their local day and month, placed
    by channel: an online order collected in a store is online."""
    zones = {store.pk: ZoneInfo(store.timezone) for store in Store.objects.for_merchant(merchant)}
    merchant_zone = ZoneInfo(merchant.timezone)
    rows = []
    for purchase in Purchase.objects.for_merchant(merchant).filter(amount_minor__gt=F("refunded_minor")):
        store = purchase.store_id if purchase.channel == "in_store" else None
        zone = zones[store] if store else merchant_zone
        local_month = purchase.occurred_at.astimezone(merchant_zone).date().replace(day=1)
        rows.append(
            Row(
                id=purchase.pk,
                shopper=purchase.shopper_id,
                store=store,
                channel=purchase.channel,
                at=purchase.occurred_at,
                day=purchase.occurred_at.astimezone(zone).date(),
                month=local_month,
                net=purchase.amount_minor - purchase.refunded_minor,
            )
        )
    return rows


def first_days(rows: list[Row]) -> dict[int, date]:
    first: dict[int, date] = {}
    for row in rows:
        if row.shopper is not None and (row.shopper not in first or row.day < first[row.shopper]):
            first[row.shopper] = row.day
    return first


def per_shopper(rows: list[Row], *, before: datetime) -> dict[int, dict]:
    shoppers: dict[int, dict] = defaultdict(
        lambda: {"first": None, "last": None, "frequency": 0, "monetary": 0, "online": 0}
    )
    for row in rows:
        if row.shopper is None or row.at >= before:
            continue
        figures = shoppers[row.shopper]
        figures["first"] = row.at if figures["first"] is None else min(figures["first"], row.at)
        figures["last"] = row.at if figures["last"] is None else max(figures["last"], row.at)
        figures["frequency"] += 1
        figures["monetary"] += row.net
        figures["online"] += row.net if row.channel == "online" else 0
    return dict(shoppers)
