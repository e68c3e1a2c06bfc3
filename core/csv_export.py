"""CSV downloads: streamed row by row, safe to open in a spreadsheet.

`csv_lines` turns rows into CSV text one line at a time; `csv_download` streams those lines to
the browser, and a background export writes the same lines to a file, so a file made by either
path reads the same.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

# Spreadsheets read a file that starts with this as UTF-8, so Hangul, Han and Arabic names stay legible.
UTF8_BOM = "\ufeff"


class _Echo:
    """A file-like object csv.writer writes to: each row comes back as the string to stream."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (a shopper may be named “=HYPERLINK(…)”) is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Sequence[Any]], *, spreadsheet_bom: bool = False) -> Iterator[str]:
    """`rows` (the header first) as CSV lines, each cell made formula-safe."""
    if spreadsheet_bom:
        yield UTF8_BOM
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_download(
    filename: str, rows: Iterable[Sequence[Any]], *, spreadsheet_bom: bool = False
) -> StreamingHttpResponse:
    """`rows` (the header first) as `<filename>.csv`, streamed as it is read and never cached."""
    response = StreamingHttpResponse(
        csv_lines(rows, spreadsheet_bom=spreadsheet_bom), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response["Cache-Control"] = "no-store"
    return response
