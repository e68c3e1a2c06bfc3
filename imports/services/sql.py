"""SQL pieces every kind of import uses to read and check its staged cells."""

import json
from collections.abc import Mapping
from typing import Any

from core.currencies import ISO_4217
from core.templatetags.money import MINOR_DIGITS
from imports.mappings import FIELDS, cell
from imports.models import ImportRowError, StagedRow

STAGED = StagedRow._meta.db_table
ERRORS = ImportRowError._meta.db_table

NUMBER_RE = r"^[+-]?[0-9]+([.][0-9]+)?$"
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# ISO 8601 as exports write it: a date, a time, an offset (Z, +02:00, -0500) or none (then the store's zone).
TIMESTAMP_RE = (
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}(?:[.][0-9]+)?))?)?"
    r"\s*(?:Z|UTC|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
# The same shapes where every part is surely in range (days up to the 28th): one regex decides most cells.
PLAIN_TIMESTAMP_RE = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(?:[ T]([01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]+)?)?)?"
    r"\s*(?:Z|UTC|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
OFFSET_RE = r"[0-9]:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?\s*(Z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)$"


def value(kind: str, name: str, row: str = "r") -> str:
    """A field's cell (trimmed when staged, NULL when blank)."""
    return f"{row}.{cell(kind, name)}"


def cell_columns(kind: str, row: str = "") -> str:
    """The staged row's columns of a kind's cells, as a select list."""
    prefix = f"{row}." if row else ""
    return ", ".join(f"{prefix}c{index}" for index in range(1, len(FIELDS[kind]) + 1))


def staged_cells(row: "StagedRow", kind: str) -> dict[str, str]:
    """A staged row's cells by field name ("" when blank)."""
    return {field.name: getattr(row, f"c{index}") or "" for index, field in enumerate(FIELDS[kind], start=1)}


def is_timestamp(expression: str) -> str:
    """SQL: whether the text is a real date and time in TIMESTAMP_RE's shapes (no day 31 of February)."""
    match = f"regexp_match({expression}, '{TIMESTAMP_RE}', 'i')"
    return f"""({expression} ~* '{PLAIN_TIMESTAMP_RE}' OR (SELECT CASE
        WHEN m IS NULL THEN false
        WHEN m[1]::int < 1 OR m[2]::int NOT BETWEEN 1 AND 12 THEN false
        WHEN m[3]::int < 1
          OR m[3]::int > extract(day FROM make_date(m[1]::int, m[2]::int, 1) + interval '1 month - 1 day') THEN false
        ELSE coalesce(m[4]::int, 0) <= 23 AND coalesce(m[5]::int, 0) <= 59 AND coalesce(m[6]::numeric, 0) < 60
        END FROM {match} AS m))"""


def as_timestamp(expression: str, zone: str) -> str:
    """SQL: the text as a timestamptz; without an offset it is read in `zone` (an SQL expression)."""
    return (
        f"CASE WHEN {expression} ~* '{OFFSET_RE}' THEN ({expression})::timestamptz "
        f"ELSE ({expression})::timestamp AT TIME ZONE {zone} END"
    )


def digits_of(currency: str) -> str:
    """SQL: the number of minor-unit digits of a currency (bind %(digits)s with `currency_params`)."""
    return f"coalesce((%(digits)s::jsonb ->> {currency})::int, 2)"


def currency_params() -> dict[str, Any]:
    return {"digits": json.dumps(MINOR_DIGITS), "currencies": sorted(ISO_4217)}


def errors_insert(checks: str) -> str:
    """SQL appending the row errors that `checks` (rows of line, field, code, message) finds for %(job)s.

    The column is named as the file names it (%(headers)s: field -> header).
    """
    return f"""
        INSERT INTO {ERRORS} (merchant_id, job_id, line, "column", code, message)
        SELECT %(merchant)s, %(job)s, c.line, coalesce(%(headers)s::jsonb ->> c.field, c.field), c.code, c.message
          FROM ({checks}) AS c
         ORDER BY c.line, c.field
    """


def check_params(*, job_id: int, merchant_id: int, mapping: Mapping[str, str]) -> dict[str, Any]:
    return {"job": job_id, "merchant": merchant_id, "headers": json.dumps(dict(mapping)), **currency_params()}
