"""Gunicorn's logger with card numbers masked, named in the Procfile (`--logger-class`).

The access log (request line, path, query, headers) and the error log go through the same
rule as every other log (`core.pan`). A query string is checked as decoded too (`%20` and
`+` are spaces there), so an encoded card number is masked as well.
"""

from typing import Any
from urllib.parse import unquote_plus

from gunicorn.glogging import Logger

from config.logging import RedactCardNumbersFilter
from core.pan import contains_card_number, header_as_sent, redact


def redact_atom(value: object) -> object:
    if not isinstance(value, str):
        return value
    # A header's UTF-8 bytes arrive as latin-1 characters: full-width digits are read as the client wrote them.
    as_sent = header_as_sent(value)
    if as_sent != value and contains_card_number(as_sent):
        value = as_sent
    masked = redact(value)
    decoded = unquote_plus(masked)
    return redact(decoded) if decoded != masked and contains_card_number(decoded) else masked


class GunicornLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactCardNumbersFilter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        return {key: redact_atom(value) for key, value in super().atoms(resp, req, environ, request_time).items()}
