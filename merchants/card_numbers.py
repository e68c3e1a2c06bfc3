"""Primary account numbers (PANs) are never accepted, stored or logged.

Any value of 13–19 digits (spaces and dashes allowed between them) that passes
the Luhn check is treated as a card number. `RejectCardNumbersMiddleware`
refuses such a request before any view, serializer or log sees it.
"""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from merchants.errors import error_body

_WORD = re.compile(r"[A-Za-z0-9-]")
# A cheap first look: at least 13 digits in a row, single separators allowed.
_LONG_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12}")
PAN_MESSAGE = (
    "This looks like a card number. Storeloop never accepts card numbers: send the card id (token) "
    "from your payment provider, with the first six and last four digits."
)


def passes_luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    """13–19 digits, single spaces or dashes allowed between them, standing on their own (so a
    UUID or a longer id is not mistaken for one), that pass the Luhn check."""
    if not _LONG_DIGIT_RUN.search(text):
        return False
    length = len(text)
    for start in range(length):
        if not text[start].isdigit() or (start and _WORD.match(text[start - 1])):
            continue
        digits = ""
        position = start
        while position < length:
            char = text[position]
            if char.isdigit():
                digits += char
                if len(digits) > 19:
                    break
                after = text[position + 1] if position + 1 < length else ""
                ends_here = not after or not _WORD.match(after)
                if len(digits) >= 13 and ends_here and passes_luhn(digits):
                    return True
            elif (
                char in " -" and position + 1 < length and text[position + 1].isdigit() and text[position - 1].isdigit()
            ):
                pass
            else:
                break
            position += 1
    return False


def card_number_paths(value: Any, path: str = "") -> Iterator[str]:
    """Paths (`card.number`, `items[2].sku`) of every value in a JSON document that holds a card number."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from card_number_paths(item, f"{path}.{key}" if path else str(key))
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
            if request.body and contains_card_number(request.body.decode("utf-8", "replace")):
                try:
                    document = json.loads(request.body)
                except ValueError:
                    document = request.body.decode("utf-8", "replace")
                paths += list(card_number_paths(document)) or ["body"]
            if paths:
                return JsonResponse(
                    error_body("card_number_rejected", PAN_MESSAGE, {path: [PAN_MESSAGE] for path in paths}),
                    status=400,
                )
        return self.get_response(request)
