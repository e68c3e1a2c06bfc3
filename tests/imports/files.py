"""Generated CSV files for import tests and the benchmark: purchases with line items, one row per item."""

import csv
import io
from datetime import UTC, datetime, timedelta

HEADER = [
    "order_id",
    "occurred_at",
    "total",
    "currency",
    "store",
    "email",
    "item_name",
    "item_sku",
    "item_quantity",
    "item_price",
]


def purchase_rows(orders: int, *, items_per_order: int = 2, store: str = "", prefix: str = "ORD") -> list[list[str]]:
    """`orders` orders of `items_per_order` rows each; the order's own cells on its first row only (as Shopify)."""
    start = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    rows = []
    for number in range(orders):
        occurred = (start + timedelta(minutes=7 * number)).strftime("%Y-%m-%dT%H:%M:%SZ")
        prices = [(1 + (number + item) % 5, 250 + 100 * item) for item in range(items_per_order)]
        total = sum(quantity * price for quantity, price in prices)
        for item, (quantity, price) in enumerate(prices):
            first = item == 0
            rows.append(
                [
                    f"{prefix}-{number:07d}",
                    occurred if first else "",
                    f"{total / 100:.2f}" if first else "",
                    "EUR" if first else "",
                    store if first else "",
                    f"shopper{number % 50}@example.com" if first else "",
                    f"Item {item}",
                    f"SKU-{item}",
                    str(quantity),
                    f"{price / 100:.2f}",
                ]
            )
    return rows


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()
