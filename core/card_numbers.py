"""Primary account numbers (PANs) are never accepted, stored or logged.

What counts as a card number is defined in core.pan. `RejectCardNumbersMiddleware`
refuses such a request before any view, serializer or log sees it.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import error_body
from core.pan import contains_card_number

PAN_MESSAGE = (
    "This looks like a card number. Storeloop never accepts card numbers: send the card id (token) "
    "from your payment provider, with the first six and last four digits."
)


def card_number_paths(value: Any, path: str = "") -> Iterator[str]:
    """Paths (`card.number`, `items[2].sku`) of every value in a JSON document that holds a card number."""
    if isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if contains_card_number(str(key)):
                yield key_path
            yield from card_number_paths(item, key_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from card_number_paths(item, f"{path}[{index}]")
    elif isinstance(value, str | int) and not isinstance(value, bool) and contains_card_number(str(value)):
        yield path or "body"


class RejectCardNumbersMiddleware:
    """On the API, a card number anywhere in the query or the JSON body is a 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/v1/"):
            paths = [key for key, values in request.GET.lists() for v in values if contains_card_number(v)]
            raw = request.body.decode("utf-8", "replace") if request.body else ""
            # JSON escapes (\u0034…) could spell digits the raw text does not show: parse those bodies too.
            seen_in_raw = bool(raw) and contains_card_number(raw)
            if seen_in_raw or "\\u" in raw:
                try:
                    document = json.loads(request.body)
                except ValueError:
                    document = raw
                found = list(card_number_paths(document))
                paths += found or (["body"] if seen_in_raw else [])
            if paths:
                return JsonResponse(
                    error_body("card_number_rejected", PAN_MESSAGE, {path: [PAN_MESSAGE] for path in paths}),
                    status=400,
                )
        return self.get_response(request)
