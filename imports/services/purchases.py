"""Purchase history with line items: checking staged rows in SQL, and applying one chunk of orders.

A record is one line item (or a whole order without items); the rows of one order share its order id,
and the order's own cells (date, total, currency, store, customer) are read from its first row — later
rows may leave them blank (Shopify's export does) but may not contradict them.
"""

from django.db import connection
from django.utils.translation import gettext as _

from imports.mappings import cell
from imports.models import ImportJob, ImportKind, ShopperKey
from imports.services.sql import (
    EMAIL_RE,
    NUMBER_RE,
    STAGED,
    as_timestamp,
    check_params,
    digits_of,
    errors_insert,
    is_timestamp,
)
from imports.services.sql import value as _value
from merchants.models import Store
from profiles.models import Channel, ContactKind, ContactPoint, PurchaseSource, PurchaseState, Shopper
from profiles.services.purchases import purchases_write_sql

KIND = ImportKind.PURCHASES
# The staged rows have no statistics: every CTE over them looks like one row, and nested loops over thousands
# would follow. Hash joins it is, for the check and apply statements (the shopper lookups stay index lookups);
# no JIT, which the cost of a forbidden plan would call in to compile for a second on a 50 ms statement; and room
# to sort a chunk in memory.
TUNING = "SET LOCAL enable_nestloop = off; SET LOCAL jit = off; SET LOCAL work_mem = '64MB'"
UNTUNING = "SET LOCAL enable_nestloop TO DEFAULT; SET LOCAL jit TO DEFAULT; SET LOCAL work_mem TO DEFAULT"
# An order's own cells: read from its first row; later rows may leave them blank.
ORDER_FIELDS = ("occurred_at", "total", "currency", "store", "customer_id")
STORES = Store._meta.db_table
CONTACTS = ContactPoint._meta.db_table
SHOPPERS = Shopper._meta.db_table
KEYS = ShopperKey._meta.db_table

ONLINE_WORDS = ("online", "web", "ecommerce", "e-commerce", "online store", "shopify", "internet")
IN_STORE_WORDS = ("in_store", "in store", "in-store", "store", "pos", "point of sale", "retail", "till")
REFUNDED_WORDS = ("refunded", "voided")
AUTHORISED_WORDS = ("authorized", "authorised", "pending")


def v(name: str, row: str = "r") -> str:
    return _value(KIND, name, row)


def _words(words: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{word}'" for word in words) + ")"


def _checks() -> str:
    """Rows of (line, field, code, message): every check in one pass over the staged rows.

    `r` holds each row with its order's cells as its first row has them (`h`), and `items_total`, the order's
    named items.
    """
    first = "r.line = r.group_line"
    has_order = f"{v('order_id')} IS NOT NULL"
    total = v("total", "h")
    number = f"'{NUMBER_RE}'"
    order_amount = f"CASE WHEN {total} ~ {number} THEN {total}::numeric ELSE r.items_total END"
    checks = [
        (f"NOT {has_order}", "order_id", "required", "m_order"),
        (f"{first} AND {has_order} AND {v('occurred_at')} IS NULL", "occurred_at", "required", "m_date_required"),
        (
            f"{v('occurred_at')} IS NOT NULL AND NOT {is_timestamp(v('occurred_at'))}",
            "occurred_at",
            "invalid_date",
            "m_date",
        ),
        (f"{v('total')} !~ {number}", "total", "invalid_number", "m_number"),
        (f"upper({v('currency')}) <> ALL(%(currencies)s)", "currency", "invalid_currency", "m_currency"),
        (
            f"{first} AND {v('store')} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {STORES} s "
            f"WHERE s.merchant_id = %(merchant)s AND lower(s.name) = lower({v('store')}))",
            "store",
            "unknown_store",
            "m_store",
        ),
        (
            f"lower({v('channel')}) NOT IN {_words(ONLINE_WORDS + IN_STORE_WORDS)}",
            "channel",
            "invalid_channel",
            "m_channel",
        ),
        (f"{v('email')} !~ '{EMAIL_RE}'", "email", "invalid_email", "m_email"),
        (
            f"{v('item_quantity')} !~ '^[0-9]{{1,6}}$' OR {v('item_quantity')} ~ '^0+$'",
            "item_quantity",
            "invalid_quantity",
            "m_quantity",
        ),
        (f"{v('item_price')} !~ {number}", "item_price", "invalid_number", "m_number"),
        (
            f"{v('item_name')} IS NULL AND ({v('item_price')} IS NOT NULL OR {v('item_sku')} IS NOT NULL)",
            "item_name",
            "required",
            "m_item_name",
        ),
        # The amount: the total, or the items' prices; above zero either way (a malformed total is reported above).
        (
            f"{first} AND {has_order} AND NOT coalesce({total} !~ {number}, false) AND {order_amount} IS NULL",
            "total",
            "amount_missing",
            "m_amount_missing",
        ),
        (
            f"{first} AND {has_order} AND NOT coalesce({total} !~ {number}, false) AND {order_amount} <= 0",
            "total",
            "invalid_amount",
            "m_amount",
        ),
    ]
    # Later rows of an order may repeat the order's cells, never contradict them.
    differs = [
        (
            f"NOT {first} AND {v(name)} IS NOT NULL AND {v(name)} IS DISTINCT FROM {v(name, 'h')}",
            name,
            "differs_in_order",
            "m_differs",
        )
        for name in ORDER_FIELDS
    ]
    # Most rows are clean: one pass decides that with every condition OR-ed, and only the others are listed.
    any_failed = " OR ".join(f"coalesce({condition}, false)" for condition, *_rest in checks + differs)
    values = ",\n".join(
        f"(coalesce({condition}, false), '{field}', '{code}', %({message})s"
        + (" || r.group_line" if code == "differs_in_order" else "")
        + ")"
        for condition, field, code, message in checks + differs
    )
    return f"""
        SELECT r.line, e.field, e.code, e.message
          FROM r
          CROSS JOIN LATERAL (SELECT {", ".join(f"r.head_{cell(KIND, name)} AS {cell(KIND, name)}" for name in ORDER_FIELDS)}) AS h
          CROSS JOIN LATERAL (VALUES {values}) AS e(failed, field, code, message)
         WHERE ({any_failed}) AND e.failed
    """


def _messages() -> dict[str, str]:
    return {
        "m_order": _("Give the order id."),
        "m_date_required": _("Give the date of the order."),
        "m_date": _("Write the date as 2024-03-31 or 2024-03-31 14:05 (an offset such as +02:00 may follow)."),
        "m_number": _("Write the amount as a number with a dot for decimals, e.g. 12.50."),
        "m_currency": _("Use a three-letter ISO 4217 currency code, e.g. EUR."),
        "m_store": _("No store has this name: add the store under Settings → Stores, or correct the name."),
        "m_channel": _("Write in_store or online."),
        "m_email": _("This is not an email address."),
        "m_quantity": _("Write the quantity as a whole number above zero."),
        "m_item_name": _("Give the item's name."),
        "m_differs": _("Differs from the same order's first row, row "),
        "m_amount": _("The order's amount must be above zero."),
        "m_amount_missing": _("Give the order total, or the items' prices."),
    }


def _check_sql() -> str:
    return f"""
        WITH r AS (
            SELECT staged.*,
                   {", ".join(f"first_value({v(name, 'staged')}) OVER first_rows AS head_{cell(KIND, name)}" for name in ORDER_FIELDS)},
                   sum(CASE WHEN {v("item_name", "staged")} IS NOT NULL AND {v("item_price", "staged")} ~ '{NUMBER_RE}'
                            THEN {v("item_price", "staged")}::numeric
                                 * CASE WHEN {v("item_quantity", "staged")} ~ '^[0-9]{{1,6}}$'
                                        THEN {v("item_quantity", "staged")}::int ELSE 1 END
                       END) OVER (PARTITION BY group_line) AS items_total
              FROM {STAGED} AS staged WHERE job_id = %(job)s
            WINDOW first_rows AS (PARTITION BY group_line ORDER BY line)
        ) """ + errors_insert(_checks())


def purchases_check(*, job: ImportJob) -> int:
    """Record an error for every bad cell of the staged rows; the number of errors. Writes nothing else."""
    sql = _check_sql()
    params = {**check_params(job_id=job.pk, merchant_id=job.merchant_id, mapping=job.mapping), **_messages()}
    with connection.cursor() as cursor:
        cursor.execute(TUNING)
        cursor.execute(sql, params)
        found = cursor.rowcount
        cursor.execute(UNTUNING)
    return found


def _apply_sql() -> str:
    first = "r.line = r.group_line"
    channel = v("channel", "o")
    status = f"lower(coalesce({v('status', 'o')}, ''))"
    return f"""
    WITH staged AS (
        SELECT * FROM {STAGED}
         WHERE job_id = %(job)s AND group_line >= %(start)s AND group_line < %(stop)s
    ),
    -- Each row with what its order says (its first row) and the order's item total: window functions over
    -- rows read in group order, where joins of these CTEs would be planned blind (the rows have no statistics).
    r AS (
        SELECT staged.*,
               first_value(upper(coalesce({v("currency", "staged")}, %(currency)s)))
                   OVER (PARTITION BY group_line ORDER BY line) AS order_currency,
               sum(CASE WHEN {v("item_name", "staged")} IS NOT NULL
                        THEN coalesce({v("item_quantity", "staged")}::int, 1) * coalesce({v("item_price", "staged")}::numeric, 0)
                   END) OVER (PARTITION BY group_line) AS items_total
          FROM staged
    ),
    o AS (SELECT * FROM r WHERE {first}),
    items AS (
        SELECT '{PurchaseSource.IMPORT}' AS source, {v("order_id")} AS external_id, coalesce({v("item_sku")}, '') AS sku, {v("item_name")} AS name,
               coalesce({v("item_category")}, '') AS category, coalesce({v("item_quantity")}::int, 1) AS quantity,
               round(coalesce({v("item_price")}::numeric, 0) * power(10::numeric, {digits_of("r.order_currency")}))::bigint
                   AS unit_price_minor
          FROM r WHERE {v("item_name")} IS NOT NULL
    ),
    facts AS (
        SELECT o.group_line, {v("order_id", "o")} AS external_id, s.id AS store_id,
               coalesce(s.timezone, %(zone)s) AS zone, o.order_currency AS currency,
               CASE WHEN lower({channel}) IN {_words(ONLINE_WORDS)} THEN '{Channel.ONLINE}'
                    WHEN lower({channel}) IN {_words(IN_STORE_WORDS)} OR s.id IS NOT NULL THEN '{Channel.IN_STORE}'
                    ELSE '{Channel.ONLINE}' END AS channel,
               coalesce({v("total", "o")}::numeric, o.items_total) AS amount,
               {v("occurred_at", "o")} AS occurred_text,
               CASE WHEN {status} IN {_words(REFUNDED_WORDS)} THEN '{PurchaseState.REFUNDED}'
                    WHEN {status} IN {_words(AUTHORISED_WORDS)} THEN '{PurchaseState.AUTHORISED}'
                    ELSE '{PurchaseState.CLEARED}' END AS state,
               coalesce(known.shopper_id, by_email.shopper_id, by_phone.shopper_id) AS shopper_id
          FROM o
          LEFT JOIN {STORES} s ON s.merchant_id = %(merchant)s AND lower(s.name) = lower({v("store", "o")})
          LEFT JOIN {KEYS} AS known ON known.merchant_id = %(merchant)s AND known.system = %(system)s
                AND known.external_id = {v("customer_id", "o")}
          LEFT JOIN LATERAL (
              SELECT c.shopper_id FROM {CONTACTS} c
               WHERE c.merchant_id = %(merchant)s AND c.kind = '{ContactKind.EMAIL}' AND c.value = lower({v("email", "o")})
               ORDER BY c.is_verified DESC, c.id LIMIT 1) AS by_email ON true
          LEFT JOIN LATERAL (
              SELECT c.shopper_id FROM {CONTACTS} c
               WHERE c.merchant_id = %(merchant)s AND c.kind = '{ContactKind.PHONE}'
                 AND c.value = regexp_replace({v("phone", "o")}, '[^0-9+]', '', 'g')
               ORDER BY c.is_verified DESC, c.id LIMIT 1) AS by_phone ON true
    ),
    purchases AS (
        SELECT f.external_id, f.store_id, coalesce(sh.merged_into_id, f.shopper_id) AS shopper_id, f.channel,
               round(f.amount * power(10::numeric, {digits_of("f.currency")}))::bigint AS amount_minor,
               CASE WHEN f.state = '{PurchaseState.REFUNDED}' THEN round(f.amount * power(10::numeric, {digits_of("f.currency")}))::bigint
                    ELSE 0 END AS refunded_minor,
               f.currency, {as_timestamp("f.occurred_text", "f.zone")} AS occurred_at, f.state,
               NULL::bigint AS card_id, '{PurchaseSource.IMPORT}' AS source, NULL::text AS network_transaction_id
          FROM facts f LEFT JOIN {SHOPPERS} sh ON sh.id = f.shopper_id
    ),
    -- Imported purchases are history: nothing is told of them (no purchase_recorded), so they trigger nothing
    -- and earn nothing unless the merchant asks for points (imports.services.loyalty).
    {purchases_write_sql(purchases="purchases", items="items", order_by="p.occurred_at")}
    SELECT (SELECT count(*) FROM inserted),
           array(SELECT id FROM inserted WHERE shopper_id IS NOT NULL ORDER BY id)
    """


_APPLY_SQL = _apply_sql()


def purchases_apply(*, job: ImportJob, start: int, stop: int, system: str) -> tuple[int, list[int]]:
    """Insert the orders whose first row lies in [start, stop); (purchases made, ids of those with a shopper).

    Call inside the chunk's transaction. An order already imported (same order id) is skipped.
    """
    params = {
        "start": start,
        "stop": stop,
        "system": system,
        "zone": job.merchant.timezone,
        "currency": job.merchant.currency,
        **check_params(job_id=job.pk, merchant_id=job.merchant_id, mapping=job.mapping),
    }
    with connection.cursor() as cursor:
        cursor.execute(TUNING)
        cursor.execute(_APPLY_SQL, params)
        made, with_shopper = cursor.fetchone()
        cursor.execute(UNTUNING)
    return made, list(with_shopper or [])
