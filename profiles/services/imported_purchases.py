"""SQL for recording purchases that other systems made (a CSV import), set-based, in one statement.

Profiles owns how a purchase row and its line items are written and folded into the rollups; an importer
owns how it reads its staged rows. `imported_purchases_sql` joins the two: the caller's CTEs name the
purchases and their items, this writes them with the same rollup fragments every ingest path uses.
No signal is sent: an imported purchase is history, so it earns nothing and triggers nothing on its own
(the importer asks loyalty for points itself when the merchant wants them).
"""

from profiles.models import LineItem, Purchase, PurchaseSource
from profiles.services import rollups

PURCHASE_TABLE = Purchase._meta.db_table
LINE_ITEM_TABLE = LineItem._meta.db_table


def imported_purchases_sql(*, purchases: str, items: str) -> str:
    """CTE clauses (to follow `WITH …,`) inserting the rows of CTE `purchases` as imported purchases.

    `purchases` has: external_id, store_id, shopper_id, channel, amount_minor, refunded_minor, currency,
    occurred_at, state. `items` has: external_id, sku, name, category, quantity, unit_price_minor.
    Binds %(merchant)s. Leaves CTE `inserted` (the new purchase rows): a purchase already recorded
    under its natural key (import, external id) is skipped with its items, so a file imported twice
    adds nothing. Takes the rollups' shared lock, as every writer of purchases does.
    """
    return f"""
    inserted AS (
        INSERT INTO {PURCHASE_TABLE}
            (merchant_id, public_id, store_id, shopper_id, card_id, channel, amount_minor, refunded_minor, currency,
             occurred_at, source, external_id, network_transaction_id, basket_external_id, state, created_at,
             updated_at)
        SELECT %(merchant)s, gen_random_uuid(), p.store_id, p.shopper_id, NULL, p.channel, p.amount_minor,
               p.refunded_minor, p.currency, p.occurred_at, '{PurchaseSource.IMPORT}', p.external_id, NULL, NULL,
               p.state, now(), now()
          FROM {purchases} AS p
          -- held until commit: the nightly rebuild waits for us, or we for it
          CROSS JOIN (SELECT pg_advisory_xact_lock_shared({rollups.ROLLUP_LOCK_CLASS}, %(merchant)s::int)) AS held
         ORDER BY p.occurred_at
        ON CONFLICT DO NOTHING
        RETURNING *
    ),
    inserted_items AS (
        INSERT INTO {LINE_ITEM_TABLE} (merchant_id, purchase_id, sku, name, category, quantity, unit_price_minor)
        SELECT %(merchant)s, inserted.id, i.sku, i.name, i.category, i.quantity, i.unit_price_minor
          FROM {items} AS i
          JOIN inserted ON inserted.external_id = i.external_id
    ),
    shopper_rollup AS ({rollups.shopper_upsert_sql("inserted")}),
    store_hour_rollup AS ({rollups.store_hour_upsert_sql("inserted")})
    """  # noqa: S608 - fixed SQL; values are bound
