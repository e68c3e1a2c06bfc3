"""Rollups kept in step with purchases, and their rebuild from raw rows.

Definitions (the rebuild SQL below is the reference):
- a purchase *counts* while it is not fully refunded; its value is amount − refunded;
- per shopper: first/last purchase time, count and value, split in store / online,
  and the store of the latest purchase made in a store; and when the row was last written
  (`changed_at`, set by the database on insert and by every upsert), so that figures derived
  per shopper find the shoppers changed since their last pass;
- per store × local day × local hour (store NULL: online, in the merchant's time
  zone): count, value, and how many of those purchases had a known shopper.

Adding purchases updates both incrementally (one grouped upsert each). Anything that
takes value away (a refund, a changed amount, a merge) subtracts the purchase's
store-hour contribution and recomputes the shopper's row from their purchases.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

from merchants.models import Merchant

# Advisory lock class for a merchant's rollups: writers hold it shared, the rebuild exclusively,
# so a purchase committed while the rebuild runs is never wiped by it.
ROLLUP_LOCK_CLASS = 7401
SHOPPER_ROLLUP_LOCK_CLASS = 7402  # per shopper, around recomputing their row (shopper_recompute)


def hold_shared(*, merchant_id: int) -> None:
    """Call before changing a merchant's rollups outside purchases_insert (which takes it itself)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [ROLLUP_LOCK_CLASS, merchant_id])


# Local day and hour of a purchase: the store's time zone, or the merchant's for online purchases.
_LOCAL_TIME = "(p.occurred_at AT TIME ZONE COALESCE(s.timezone, m.timezone))"

_ROLLUP_COLUMNS = (
    "shopper_id, merchant_id, first_purchase_at, last_purchase_at, purchase_count, total_minor, "
    "in_store_count, in_store_total_minor, online_count, online_total_minor, last_store_id, last_store_purchase_at"
)


def _shopper_rollup_select(source: str, where: str) -> str:
    """The reference definition of a shopper's rollup, over the purchases in `source`."""
    return f"""
        SELECT p.shopper_id, p.merchant_id,
               MIN(p.occurred_at) AS first_purchase_at, MAX(p.occurred_at) AS last_purchase_at,
               COUNT(*) AS purchase_count, SUM(p.amount_minor - p.refunded_minor) AS total_minor,
               COUNT(*) FILTER (WHERE p.channel = 'in_store') AS in_store_count,
               COALESCE(SUM(p.amount_minor - p.refunded_minor) FILTER (WHERE p.channel = 'in_store'), 0)
                   AS in_store_total_minor,
               COUNT(*) FILTER (WHERE p.channel = 'online') AS online_count,
               COALESCE(SUM(p.amount_minor - p.refunded_minor) FILTER (WHERE p.channel = 'online'), 0)
                   AS online_total_minor,
               (ARRAY_AGG(p.store_id ORDER BY p.occurred_at DESC, p.id DESC)
                    FILTER (WHERE p.store_id IS NOT NULL))[1] AS last_store_id,
               MAX(p.occurred_at) FILTER (WHERE p.store_id IS NOT NULL) AS last_store_purchase_at
          FROM {source} p
         WHERE p.amount_minor > p.refunded_minor AND p.shopper_id IS NOT NULL AND {where}
         GROUP BY p.shopper_id, p.merchant_id
    """  # noqa: S608 - fixed SQL; values are bound


def _store_hour_select(source: str, where: str, sign: str = "1") -> str:
    """Counting purchases in `source` grouped by store × local day × local hour, times `sign`."""
    return f"""
        SELECT p.merchant_id, p.store_id, {_LOCAL_TIME}::date AS day, EXTRACT(HOUR FROM {_LOCAL_TIME})::int AS hour,
               {sign} * COUNT(*) AS purchase_count, {sign} * SUM(p.amount_minor - p.refunded_minor) AS total_minor,
               {sign} * COUNT(p.shopper_id) AS identified_count
          FROM {source} p
          JOIN merchants_merchant m ON m.id = p.merchant_id
          LEFT JOIN merchants_store s ON s.id = p.store_id
         WHERE p.amount_minor > p.refunded_minor AND {where}
         GROUP BY 1, 2, 3, 4
    """  # noqa: S608


def shopper_upsert_sql(source: str, where: str = "TRUE") -> str:
    """SQL folding the purchases in `source` (a table or CTE name) into their shoppers' rollups."""
    return f"""
        INSERT INTO profiles_shopperrollup AS r ({_ROLLUP_COLUMNS})
        {_shopper_rollup_select(source, where)}
        ORDER BY p.shopper_id  -- rows are locked in key order: concurrent batches never deadlock on them
        ON CONFLICT (shopper_id) DO UPDATE SET
            first_purchase_at = LEAST(r.first_purchase_at, EXCLUDED.first_purchase_at),
            last_purchase_at = GREATEST(r.last_purchase_at, EXCLUDED.last_purchase_at),
            purchase_count = r.purchase_count + EXCLUDED.purchase_count,
            total_minor = r.total_minor + EXCLUDED.total_minor,
            in_store_count = r.in_store_count + EXCLUDED.in_store_count,
            in_store_total_minor = r.in_store_total_minor + EXCLUDED.in_store_total_minor,
            online_count = r.online_count + EXCLUDED.online_count,
            online_total_minor = r.online_total_minor + EXCLUDED.online_total_minor,
            last_store_id = CASE
                WHEN EXCLUDED.last_store_purchase_at IS NOT NULL
                 AND (r.last_store_purchase_at IS NULL OR EXCLUDED.last_store_purchase_at >= r.last_store_purchase_at)
                THEN EXCLUDED.last_store_id ELSE r.last_store_id END,
            last_store_purchase_at = GREATEST(r.last_store_purchase_at, EXCLUDED.last_store_purchase_at),
            changed_at = STATEMENT_TIMESTAMP()
    """


def store_hour_upsert_sql(source: str, where: str = "TRUE", sign: str = "1") -> str:
    """SQL adding (sign 1) or taking away (sign -1) the purchases in `source` from their store-hour buckets."""
    return f"""
        INSERT INTO profiles_storehourrollup
            (merchant_id, store_id, day, hour, purchase_count, total_minor, identified_count)
        {_store_hour_select(source, where, sign)}
        ORDER BY 1, 2, 3, 4  -- rows are locked in key order: concurrent batches never deadlock on them
        ON CONFLICT ON CONSTRAINT store_hour_rollup_key DO UPDATE SET
            purchase_count = profiles_storehourrollup.purchase_count + EXCLUDED.purchase_count,
            total_minor = profiles_storehourrollup.total_minor + EXCLUDED.total_minor,
            identified_count = profiles_storehourrollup.identified_count + EXCLUDED.identified_count
    """


def store_hour_apply(*, purchase_ids: Sequence[int], sign: int) -> None:
    """Add (sign=1) or take away (sign=-1) these purchases' contribution to their store-hour buckets."""
    if not purchase_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            store_hour_upsert_sql("profiles_purchase", "p.id = ANY(%(ids)s)", "%(sign)s"),
            {"ids": list(purchase_ids), "sign": sign},
        )


def purchases_add(*, purchase_ids: Sequence[int]) -> None:
    """Fold already stored purchases into both rollups, in one statement."""
    if not purchase_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH added AS (SELECT * FROM profiles_purchase WHERE id = ANY(%s)),
                 shopper_rollup AS ({shopper_upsert_sql("added")}),
                 store_hour_rollup AS ({store_hour_upsert_sql("added")})
            SELECT 1
            """,  # noqa: S608
            [list(purchase_ids)],
        )


def shopper_recompute(*, shopper_ids: Iterable[int]) -> None:
    """Rebuild these shoppers' rows from their purchases (a shopper with none has no row)."""
    ids = sorted(set(shopper_ids))
    if not ids:
        return
    # Two transactions recomputing one shopper at once would each DELETE what their snapshot sees and
    # INSERT: the second meets the first's row (a duplicate key) or, its shopper now without purchases,
    # leaves the first's row standing. One at a time per shopper, in id order, each sees the other's
    # committed purchases (READ COMMITTED) and replaces the row whole.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, (id %% 2147483647)::int) FROM unnest(%s::bigint[]) AS id ORDER BY id",
            [SHOPPER_ROLLUP_LOCK_CLASS, ids],
        )
        cursor.execute("DELETE FROM profiles_shopperrollup WHERE shopper_id = ANY(%s)", [ids])
        cursor.execute(
            f"INSERT INTO profiles_shopperrollup ({_ROLLUP_COLUMNS}) "
            + _shopper_rollup_select("profiles_purchase", "p.shopper_id = ANY(%s)"),
            [ids],
        )


@dataclass(frozen=True)
class Drift:
    shopper_rows: int
    store_hour_rows: int

    @property
    def total(self) -> int:
        return self.shopper_rows + self.store_hour_rows


_STORE_HOUR_COLUMNS = "merchant_id, store_id, day, hour, purchase_count, total_minor, identified_count"


def rollups_rebuild(*, merchant: Merchant) -> Drift:
    """Recompute every rollup of a merchant from raw rows; report how many rows differed. Call in a transaction."""
    params = {"merchant": merchant.pk}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK_CLASS, merchant.pk])
    rebuilds = (
        ("profiles_shopperrollup", _ROLLUP_COLUMNS, "expected_shopper", "", _shopper_rollup_select),
        (
            "profiles_storehourrollup",
            _STORE_HOUR_COLUMNS,
            "expected_store_hour",
            "AND purchase_count <> 0",
            _store_hour_select,
        ),
    )
    drift = []
    with connection.cursor() as cursor:
        for table, columns, expected, current_filter, select in rebuilds:
            current = f"SELECT {columns} FROM {table} WHERE merchant_id = %(merchant)s {current_filter}"  # noqa: S608
            cursor.execute(
                f"CREATE TEMP TABLE {expected} ON COMMIT DROP AS "
                + select("profiles_purchase", "p.merchant_id = %(merchant)s"),
                params,
            )
            cursor.execute(
                f"""
                SELECT COUNT(*) FROM (
                    (SELECT * FROM {expected} EXCEPT {current})
                    UNION ALL
                    ({current} EXCEPT SELECT * FROM {expected})
                ) drift
                """,  # noqa: S608 - fixed SQL; values are bound
                params,
            )
            drift.append(cursor.fetchone()[0])
            if table == "profiles_shopperrollup":
                # Only the rows that drifted are replaced: the others keep their `changed_at`, so an hourly
                # reconciliation does not make every shopper look changed to what reads it.
                cursor.execute(
                    f"""
                    DELETE FROM {table} WHERE merchant_id = %(merchant)s AND shopper_id IN (
                        SELECT shopper_id FROM ({current} EXCEPT SELECT * FROM {expected}) AS stale)
                    """,  # noqa: S608 - fixed SQL; values are bound
                    params,
                )
                cursor.execute(
                    f"""
                    INSERT INTO {table} ({columns}) SELECT * FROM {expected} e
                     WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE r.shopper_id = e.shopper_id)
                    """  # noqa: S608 - fixed SQL
                )
            else:
                cursor.execute(f"DELETE FROM {table} WHERE merchant_id = %(merchant)s", params)  # noqa: S608
                cursor.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM {expected}")  # noqa: S608
            cursor.execute(f"DROP TABLE {expected}")
    return Drift(shopper_rows=drift[0], store_hour_rows=drift[1])
