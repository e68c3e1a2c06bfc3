"""Reading an uploaded CSV file: its dialect, a preview, the card-number scan, and staging its rows with COPY.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
"""

import contextlib
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import phonenumbers
from django.db import connection

from core.errors import ApplicationError
from core.pan import contains_card_number
from imports.mappings import FIELDS, TEMPLATES
from imports.models import ImportJob, ImportKind, StagedRow

SNIFF_BYTES = 64 * 1024
COPY_ENCODING = "utf-8-sig"


@dataclass(frozen=True)
class Scanned:
    headers: list[str]
    preview: list[list[str]]
    total_rows: int
    sha256: str


def _text(binary: IO[bytes]) -> io.TextIOWrapper:
    binary.seek(0)
    return io.TextIOWrapper(binary, encoding=COPY_ENCODING, newline="")  # type: ignore[type-var]


def _dialect(binary: IO[bytes]) -> type[csv.Dialect]:
    binary.seek(0)
    sample = binary.read(SNIFF_BYTES).decode(COPY_ENCODING, "replace")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def rows_read(binary: IO[bytes]) -> Iterator[list[str]]:
    """Every record of the file, the header first."""
    dialect = _dialect(binary)
    text = _text(binary)
    try:
        yield from csv.reader(text, dialect)
    finally:
        with contextlib.suppress(ValueError):  # the file was closed before the generator was let go
            text.detach()


def file_scan(binary: IO[bytes], *, exempt_headers: tuple[str, ...] = (), preview_rows: int = 5) -> Scanned:
    """Headers, a preview and the row count of a file; refuses it whole if any cell holds a card number.

    The error names the rows and columns, never the number. `exempt_headers`: columns a known export fills
    with its own long numeric ids (a Shopify order id has 13 digits and passes Luhn one time in ten).
    """
    digest = hashlib.sha256()
    binary.seek(0)
    suspicious = False
    tail = b""
    for block in iter(lambda: binary.read(1 << 20), b""):
        digest.update(block)
        # One look at the whole text first; only then record by record. Blocks overlap, so that a number
        # split by a block's edge is still seen whole.
        window = tail + block
        suspicious = suspicious or contains_card_number(window.decode(COPY_ENCODING, "replace"), free_text=True)
        tail = block[-128:]
    headers: list[str] = []
    preview: list[list[str]] = []
    found: dict[int, set[str]] = {}
    count = 0
    try:
        for number, record in enumerate(rows_read(binary), start=1):
            if number == 1:
                headers = [header.strip() for header in record]
                if any(contains_card_number(header, free_text=True) for header in headers):
                    found.setdefault(1, set()).add("header")
                continue
            if not any(value.strip() for value in record):
                continue
            count += 1
            if len(preview) < preview_rows:
                preview.append(record)
            # One look at the whole record first: most records hold nothing like a card number.
            if suspicious and contains_card_number(" ".join(record), free_text=True):
                for index, value in enumerate(record):
                    header = headers[index] if index < len(headers) else f"column {index + 1}"
                    if header not in exempt_headers and contains_card_number(value, free_text=True):
                        found.setdefault(number, set()).add(header)
    except (UnicodeDecodeError, csv.Error) as error:
        raise ApplicationError(
            "This file could not be read as CSV (save it as CSV, UTF-8).", code="unreadable_file", field="file"
        ) from error
    if not headers:
        raise ApplicationError("This file is empty.", code="empty_file", field="file")
    if found:
        raise card_numbers_refused(found)
    return Scanned(headers=headers, preview=preview, total_rows=count, sha256=digest.hexdigest())


def card_numbers_refused(found: dict[int, set[str]]) -> ApplicationError:
    rows = sorted(found)
    shown = ", ".join(str(row) for row in rows[:50]) + (f" and {len(rows) - 50} more" if len(rows) > 50 else "")
    columns = sorted({column for columns in found.values() for column in columns})
    message = (
        f"This file was refused whole: rows {shown} hold what looks like a card number "
        f"(columns: {', '.join(columns)}). Storeloop never takes card numbers; nothing was imported or stored. "
        "Remove them (export card tokens from your payment provider instead) and upload the file again."
    )
    return ApplicationError(message, code="card_number_in_file", field="file", fields={"rows": [str(r) for r in rows]})


def exempt_headers_for(template_key: str) -> tuple[str, ...]:
    template = TEMPLATES.get(template_key)
    return template.system_id_columns if template is not None else ()


def phone_e164(text: str, region: str) -> str:
    """A phone number in E.164 (as contacts store it), read with its country code or else in `region`; the text
    as written when it cannot be read (the checks then report it)."""
    written = "+" + text[2:] if text.startswith("00") else text
    try:
        number = phonenumbers.parse(written, region or None)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def rows_stage(*, job: ImportJob) -> int:
    """Copy the file's mapped cells into the staging table (replacing what a stopped run left); the row count.

    Call inside a transaction. Records of one order (same order id) share a group: the line of their first row.
    """
    fields = FIELDS[job.kind]
    StagedRow.objects.filter(merchant=job.merchant_id, job=job).delete()
    with job.file.open("rb") as binary, connection.cursor() as cursor:
        records = rows_read(binary)
        headers = [header.strip() for header in next(records, [])]
        positions = {header: index for index, header in enumerate(headers)}
        columns = [positions.get(job.mapping.get(field.name, ""), -1) for field in fields]
        group_by = columns[0] if job.kind == ImportKind.PURCHASES else -1
        phone = next((index for index, field in enumerate(fields) if field.name == "phone"), -1)
        groups: dict[str, int] = {}
        staged = 0
        table = StagedRow._meta.db_table
        names = ", ".join(f"c{index}" for index in range(1, len(fields) + 1))
        with cursor.copy(
            f"COPY {table} (merchant_id, job_id, line, group_line, {names}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["bigint", "bigint", "integer", "integer", *(["text"] * len(fields))])
            for line, record in enumerate(records, start=2):
                if not any(value.strip() for value in record):
                    continue
                width = len(record)
                cells = [(record[index].strip() or None) if 0 <= index < width else None for index in columns]
                written_phone = cells[phone] if phone >= 0 else None
                if written_phone is not None:
                    cells[phone] = phone_e164(written_phone, job.phone_region)
                group_line = line
                order_id = cells[0] if group_by >= 0 else None
                if order_id is not None:
                    group_line = groups.setdefault(order_id, line)
                copy.write_row((job.merchant_id, job.pk, line, group_line, *cells))
                staged += 1
    return staged
