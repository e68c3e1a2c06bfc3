"""Primary account numbers (PANs) are never accepted, stored or logged.

What counts as a card number is defined in core.pan. `RejectCardNumbersMiddleware`
refuses such a request before any view, serializer or log sees it.
"""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api_input import TOO_DEEP, TOO_DEEP_MESSAGE
from core.errors import error_body
from core.pan import contains_card_number, header_as_sent

PAN_MESSAGE = (
    "This looks like a card number. Storeloop never accepts card numbers: send the card id (token) "
    "from your payment provider, with the first six and last four digits."
)


# A value under a key ending so is an identifier (read as one: letters and dashes touching digits
# make them part of the id); any other string is free text (core.pan's two readings).
_IDENTIFIER_KEY = re.compile(
    r"(?:id|ids|token|key|ref|reference|sku|code|number|hash|signature|fingerprint|alias|url|uri)$", re.IGNORECASE
)


def card_number_paths(value: Any, path: str = "", *, free_text: bool = True) -> Iterator[str]:
    """Paths (`card.number`, `items[2].sku`) of every value in a JSON document that holds a card number."""
    if isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if contains_card_number(str(key), free_text=True):
                yield key_path
            yield from card_number_paths(item, key_path, free_text=not _IDENTIFIER_KEY.search(str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from card_number_paths(item, f"{path}[{index}]", free_text=free_text)
    elif (
        isinstance(value, str | int)
        and not isinstance(value, bool)
        and contains_card_number(str(value), free_text=free_text and isinstance(value, str))
    ):
        yield path or "body"


def card_number_headers(request: HttpRequest) -> list[str]:
    """`headers.<Name>` of each request header holding a card number (an Idempotency-Key, say)."""
    return [
        f"headers.{name}"
        for name, value in request.headers.items()
        if name.lower() != "cookie" and contains_card_number(header_as_sent(value))
    ]


WEBHOOK_PREFIX = "/api/v1/webhooks/"


class RejectCardNumbersMiddleware:
    """On the API, a card number in a header, the query or the body is a 400, before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/v1/"):
            # A payment webhook's headers and body are the provider's: its view applies this same rule field by
            # field, knowing which hold the provider's own long numbers (an Adyen pspReference, a Fidel
            # millisecond timestamp pass Luhn one time in ten).
            is_webhook = request.path.startswith(WEBHOOK_PREFIX)
            paths = [] if is_webhook else card_number_headers(request)
            paths += [key for key, values in request.GET.lists() for v in values if contains_card_number(v)]
            raw = request.body.decode("utf-8", "replace") if request.body and not is_webhook else ""
            # Read as free text first (it finds more); the JSON walk then reads each value as its key says.
            # JSON escapes (\u0034…) could spell digits the raw text does not show: parse those bodies too.
            if raw and (contains_card_number(raw, free_text=True) or "\\u" in raw):
                try:
                    found = list(card_number_paths(json.loads(request.body)))
                except ValueError:  # not JSON: the whole body is free text
                    found = ["body"] if contains_card_number(raw, free_text=True) else []
                except RecursionError:  # too deep to look inside: refused unread
                    return JsonResponse(error_body(TOO_DEEP, TOO_DEEP_MESSAGE), status=400)
                # Whatever the walk reads, a card number standing in the raw text is refused.
                paths += found or (["body"] if contains_card_number(raw) else [])
            if paths:
                return JsonResponse(
                    error_body("card_number_rejected", PAN_MESSAGE, {path: [PAN_MESSAGE] for path in paths}),
                    status=400,
                )
        return self.get_response(request)
