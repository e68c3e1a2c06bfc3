"""Recognising primary account numbers (card numbers). Pure Python: logging uses it before Django is set up.

A card number here is 13–19 digits, single spaces or dashes allowed between
them, standing on its own (not inside a longer id such as a UUID), that
passes the Luhn check.
"""

import re
from collections.abc import Iterator

_WORD = re.compile(r"[A-Za-z0-9-]")
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")
REDACTED = "[REDACTED]"
_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() also accepts "²", which int() refuses


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


# A card number lies inside a stretch of 13 or more characters drawn from the ASCII digits, space
# and dash, holding 13 digits or more. Such stretches are found in C: the text's UTF-8 bytes are
# mapped to "#" or "." (any other byte, a multi-byte character's included), and searched there.
_DIGITS_TABLE = bytes(ord("#") if chr(code) in "0123456789" else ord(".") for code in range(256))
_STRETCH_TABLE = bytes(ord("#") if chr(code) in "0123456789 -" else ord(".") for code in range(256))
_THIRTEEN = b"#" * 13


def _candidate_runs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of stretches of `text` that may hold a card number; every card number lies in one."""
    encoded = text.encode("utf-8", "surrogatepass")
    # With every separator dropped, a card number's digits stand 13 in a row: no such row, no card number.
    if _THIRTEEN not in encoded.translate(_DIGITS_TABLE, delete=b" -"):
        return
    if len(encoded) == len(text):  # ASCII: byte offsets are character offsets
        digits = encoded.translate(_DIGITS_TABLE)
        stretches = encoded.translate(_STRETCH_TABLE)
        start = stretches.find(_THIRTEEN)
        while start != -1:  # the first 13 in a row start their stretch: the byte before, if any, is "."
            end = stretches.find(b".", start)
            end = len(stretches) if end == -1 else end
            # Only a stretch with 13 digits can hold one (not indentation, not a line of dashes), and
            # within it only a run of digits and single separators.
            if digits.count(b"#", start, end) >= 13:
                for run in _DIGIT_RUN.finditer(text, start, end):
                    if run.end() - run.start() >= 13:
                        yield run.span()
            start = stretches.find(_THIRTEEN, end)
        return
    for run in _DIGIT_RUN.finditer(text):
        if run.end() - run.start() >= 13:
            yield run.span()


def card_number_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each card number in `text`, left to right, not overlapping."""
    for start, run_end in _candidate_runs(text):
        while start < run_end:
            end = _card_number_at(text, start) if text[start] in _DIGITS else None
            if end is None:
                start += 1
                continue
            yield start, end
            start = end


def _card_number_at(text: str, start: int) -> int | None:
    if start and _WORD.match(text[start - 1]):
        return None
    length = len(text)
    digits = ""
    position = start
    found = None
    while position < length:
        char = text[position]
        if char in _DIGITS:
            digits += char
            if len(digits) > 19:
                break
            after = text[position + 1] if position + 1 < length else ""
            if len(digits) >= 13 and (not after or not _WORD.match(after)) and passes_luhn(digits):
                found = position + 1
        elif not (
            char in " -" and position + 1 < length and text[position + 1] in _DIGITS and text[position - 1] in _DIGITS
        ):
            break
        position += 1
    return found


def contains_card_number(text: str) -> bool:
    return next(card_number_spans(text), None) is not None


def redact(text: str) -> str:
    spans = list(card_number_spans(text))
    for start, end in reversed(spans):
        text = text[:start] + REDACTED + text[end:]
    return text
