"""CSV downloads from the dashboards: streamed row by row, safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import StreamingHttpResponse


class _Echo:
    """A file-like object csv.writer writes to: each row comes back as the string to stream."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (a shopper may be named “=HYPERLINK(…)”) is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_download(filename: str, rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """`rows` (the header first) as `<filename>.csv`, streamed as it is read and never cached."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([_cell(value) for value in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response["Cache-Control"] = "no-store"
    return response
