"""What counts as a card number (a primary account number, PAN): the one rule, at every entry point.

Pure Python, so logging can use it before Django is set up. The rule:

1. 13 to 19 decimal digits that pass the Luhn check. Digits of every script count: ASCII,
   full-width (４１５６…), Arabic-Indic (٤١٥٦…) and any other Unicode decimal digit.
2. Written as one run, or in groups. Between two groups stands a single space or dash, or
   "grouping marks": one or two spaces of any kind (no-break, thin, ideographic…), any one
   dash, or a dot. Where a dot or two spaces separate groups, every group holds 3 to 6 digits:
   "4156.2723.5837.9096" and "4156  2723  5837  9096" are card numbers, a decimal such as
   1701600000.123456 is not.
3. It stands on its own: a longer run of digits holds no card number (20 digits are not one),
   a "+" before it makes it a phone number ("+86 138 0013 8000"), and what touches it
   depends on where the text comes from:
   - an identifier (bodies and headers as sent, ids, tokens, keys): a letter, a digit or a
     dash touching it makes it part of a longer id ("order-4111…", a UUID's last group);
   - free text (names, addresses, comments, messages, log lines): letters touching a number
     written as one run of digits shield nothing ("x4156272358379096" is a card number): such
     text never legitimately holds 13–19 Luhn-valid digits. (Grouped digits glued to letters,
     as in a UUID's "a3e0-123456789012", still read as an id.)

`card_number_spans(text, free_text=…)` applies the rule; `contains_card_number` asks it, and
`redact` masks with the free-text reading (a log may mask too much, never too little).
"""

import re
import unicodedata
from collections.abc import Iterator

REDACTED = "[REDACTED]"

MIN_DIGITS, MAX_DIGITS = 13, 19
# Where a dot or a double space groups the digits, each group holds this many.
MARKED_GROUP_DIGITS = range(3, 7)


# Marks of other scripts, spelled "-" or "." once normalised (Unicode's dashes, the minus signs,
# full-width and small forms); every Unicode space is spelled " ".
_DASHES = (
    "\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014\u2015\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d"
    "\u301c\u3030\u30a0\ufe31\ufe32\ufe58\ufe63\uff0d\u2212"
)
_DOTS = "\uff0e\u2024\ufe52"
# A character normalisation would change: a digit, space, dash or dot outside ASCII.
_NON_ASCII_MARK = re.compile(f"[^\\x00-\\x7f](?<=[\\d\\s{_DASHES}{_DOTS}])")


class _Normalizer(dict[int, int | str]):
    """For str.translate: every Unicode decimal digit to its ASCII digit, every space to " ",
    every dash to "-", dot-like marks to "."; anything else unchanged. One character for one,
    so positions in the normalised text are positions in the original. Filled as characters
    are met (deciding for all of Unicode up front would cost a tenth of a second per process)."""

    def __missing__(self, code: int) -> int | str:
        char = chr(code)
        if char.isdecimal():
            found: int | str = str(unicodedata.decimal(char))
        elif char.isspace():
            found = " "
        elif char in _DASHES:
            found = "-"
        elif char in _DOTS:
            found = "."
        else:
            found = code
        self[code] = found
        return found


_NORMALIZER = _Normalizer()


def normalize(text: str) -> str:
    """Digits, spaces, dashes and dots of every script spelled in ASCII, each in its own place."""
    return text if text.isascii() else text.translate(_NORMALIZER)


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


# Groups of ASCII digits joined by one or two spaces, a dash or a dot (in normalised text).
_RUN = re.compile(r"[0-9]+(?:(?: {1,2}|[-.])[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")

# A card number lies in a stretch of characters drawn from the digits, space, dash and dot that
# holds 13 digits in a row once those marks are dropped. Such stretches are found in C: the
# text's bytes are mapped to "#" or "." and searched there (translate is far quicker than
# replace where marks abound, as in indented JSON).
_DIGITS_TABLE = bytes(ord("#") if chr(code) in "0123456789" else ord(".") for code in range(256))
_STRETCH_TABLE = bytes(ord("#") if chr(code) in "0123456789 -." else ord(".") for code in range(256))
_THIRTEEN = b"#" * MIN_DIGITS


def _stretches(ascii_text: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of the parts of the text (as ASCII bytes, one per character) where every card
    number lies."""
    if _THIRTEEN not in ascii_text.translate(_DIGITS_TABLE, delete=b" -."):
        return
    digits = ascii_text.translate(_DIGITS_TABLE)
    stretches = ascii_text.translate(_STRETCH_TABLE)
    start = stretches.find(_THIRTEEN)
    while start != -1:  # the first 13 in a row start their stretch: the byte before, if any, is "."
        end = stretches.find(b".", start)
        end = len(stretches) if end == -1 else end
        if digits.count(b"#", start, end) >= MIN_DIGITS:  # not indentation, not a line of dashes
            yield start, end
        start = stretches.find(_THIRTEEN, end)


def _is_id_character(char: str) -> bool:
    return char.isalnum() or char == "-"


def _spans_in_run(text: str, context: str, start: int, end: int, free_text: bool) -> Iterator[tuple[int, int]]:
    """Card numbers among the digit groups of one run of `text` (digits and marks in ASCII);
    `context` holds the characters around it as written."""
    groups = [match.span() for match in _GROUP.finditer(text, start, end)]
    if sum(group_end - group_start for group_start, group_end in groups) < MIN_DIGITS:
        return
    marks = [text[group_end:next_start] for (_, group_end), (next_start, _) in zip(groups, groups[1:], strict=False)]
    before = context[start - 1] if start else ""
    after = context[end] if end < len(context) else ""
    first = 0
    while first < len(groups):
        found = _longest_from(text, groups, marks, first, before, after, free_text)
        if found is None:
            first += 1
            continue
        yield groups[first][0], groups[found][1]
        first = found + 1


def _longest_from(
    text: str,
    groups: list[tuple[int, int]],
    marks: list[str],
    first: int,
    before: str,
    after: str,
    free_text: bool,
) -> int | None:
    """The last group of the longest card number starting at group `first`, if any."""
    if first == 0:
        if before == "+":  # an international phone number (E.164), never written so for a card
            return None
        clean_start = before == "" or not _is_id_character(before)
        glued_start = free_text and before.isalpha()  # stands only as one run of digits
        if not (clean_start or glued_start):
            return None
    else:
        clean_start, glued_start = marks[first - 1] != "-", False
        if not clean_start:
            return None
    found = None
    digits = ""
    marked = False
    for last in range(first, len(groups)):
        if last > first:
            if glued_start and not clean_start:
                break
            marked = marked or marks[last - 1] in (".", "  ")
        group_start, group_end = groups[last]
        digits += text[group_start:group_end]
        if len(digits) > MAX_DIGITS:
            break
        if marked and any(g_end - g_start not in MARKED_GROUP_DIGITS for g_start, g_end in groups[first : last + 1]):
            continue
        if last == len(groups) - 1:
            closes = after == "" or not _is_id_character(after) or (free_text and after.isalpha() and last == first)
        else:
            closes = marks[last] != "-"
        if len(digits) >= MIN_DIGITS and closes and passes_luhn(digits):
            found = last
    return found


def card_number_spans(text: str, *, free_text: bool = False) -> Iterator[tuple[int, int]]:
    """(start, end) of each card number in `text`, left to right, not overlapping; from each
    start the longest. `free_text`: see the rule above."""
    if text.isascii():
        digits_text = context = text
    elif _NON_ASCII_MARK.search(text) is None:
        # Other scripts' letters only: their digits and marks are ASCII. Each other character
        # reads as "?" for finding the digits (one for one); its neighbours are read as written.
        digits_text, context = text.encode("ascii", "replace").decode("ascii"), text
    else:
        digits_text = context = normalize(text)
    for stretch_start, stretch_end in _stretches(digits_text.encode("ascii", "replace")):
        for run in _RUN.finditer(digits_text, stretch_start, stretch_end):
            yield from _spans_in_run(digits_text, context, *run.span(), free_text)


def contains_card_number(text: str, *, free_text: bool = False) -> bool:
    return next(card_number_spans(text, free_text=free_text), None) is not None


def redact(text: str) -> str:
    """`text` with every card number masked, read as free text."""
    spans = list(card_number_spans(text, free_text=True))
    for start, end in reversed(spans):
        text = text[:start] + REDACTED + text[end:]
    return text


def header_as_sent(value: str) -> str:
    """An HTTP header's value as the client wrote it. A WSGI server (gunicorn included) hands a header's
    bytes on as latin-1 characters (PEP 3333), so UTF-8 full-width or Arabic-Indic digits arrive as
    "ï¼\x94…", which no digit rule reads: such a value is read again as UTF-8."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:  # not latin-1 characters (already text), or not UTF-8 bytes
        return value
