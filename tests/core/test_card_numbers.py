import re
import unicodedata
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.card_numbers import card_number_paths
from core.pan import card_number_spans, contains_card_number, passes_luhn, redact


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "card 4111 1111 1111 1111 exp 12/30",
        "378282246310005",
        "(5555555555554444)",
        "6011111111111117",
    ],
)
def test_card_numbers_are_found(text):
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails Luhn
        "order-4111111111111111",  # part of a longer id
        "x4111111111111111",
        "41111111111111111111",  # 20 digits
        "+31 6 1234 5678",
        "+86 138 0013 8002",  # 13 digits passing Luhn, but a phone number
        "2026-11-23T10:15:00Z",
        "123456",
    ],
)
def test_other_numbers_are_not(text):
    assert not contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "４１５６２７２３５８３７９０９６",  # full-width
        "٤١٥٦٢٧٢٣٥٨٣٧٩٠٩٦",  # Arabic-Indic
        "4156.2723.5837.9096",
        "4156  2723  5837  9096",
        "4156\u00a02723\u00a05837\u00a09096",  # no-break spaces
        "4156\u202f2723\u202f5837\u202f9096",  # narrow no-break spaces
        "4156\u20132723\u20135837\u20139096",  # en dashes
        "４１５６　２７２３　５８３７　９０９６",  # full-width digits, ideographic spaces
    ],
)
def test_card_numbers_in_any_digit_spelling_or_grouping_are_found(text):
    assert contains_card_number(text)
    assert redact(f"card {text}.") == "card [REDACTED]."


@pytest.mark.parametrize(
    "text",
    [
        "41.56.27.23.58.37.90.96",  # dots between groups of two: not how a card number is written
        "1701600000.123456",  # a decimal
        "4156   2723   5837   9096",  # three spaces apart: separate numbers
    ],
)
def test_grouping_marks_join_only_card_like_groups(text):
    assert not contains_card_number(text, free_text=True)


@pytest.mark.parametrize(
    ("text", "as_id", "as_free_text"),
    [
        ("x4156272358379096", False, True),
        ("4156272358379096x", False, True),
        ("Kim4156272358379096", False, True),
        ("x4156 2723 5837 9096", False, False),  # grouped digits glued to letters read as an id
        ("4156 2723 5837 9096x", False, False),
        ("order-4156272358379096", False, False),  # a dash joins it to the id in both readings
        ("a3e0-123456789012", False, False),
    ],
)
def test_letters_shield_a_number_only_in_an_identifier(text, as_id, as_free_text):
    assert contains_card_number(text) is as_id
    assert contains_card_number(text, free_text=True) is as_free_text


def test_uuids_are_never_taken_for_card_numbers():
    assert not any(contains_card_number(str(uuid.uuid4())) for _ in range(20_000))


def test_paths_point_at_the_field():
    document = {"card": {"id": "4111111111111111"}, "items": [{"sku": "A"}, {"name": "5555 5555 5555 4444"}], "n": 1}

    assert list(card_number_paths(document)) == ["card.id", "items[1].name"]


def test_redaction_masks_card_numbers_but_keeps_request_ids():
    request_id = "4b22e306-2651-4542-a3e0-123456789012"

    assert redact(f"id={request_id} card=4111 1111 1111 1111.") == f"id={request_id} card=[REDACTED]."


def test_other_unicode_digits_do_not_crash_the_check():
    assert not contains_card_number("1234567890123²")


def test_card_number_spelled_with_json_escapes_is_refused(api_client):
    from django.urls import reverse

    body = '{"first_name": "\\u0034111111111111111"}'

    response = api_client.post(reverse("api_shopper_create"), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"first_name": [response.json()["error"]["message"]]}


def _normal_char(char):
    if char.isdecimal():
        return str(unicodedata.decimal(char))
    if char.isspace():
        return " "
    if unicodedata.category(char) == "Pd" or char in "\u2212\ufe63\uff0d":
        return "-"
    return "." if char in "\uff0e\u2024\ufe52" else char


def _reads_as(text, start, end, free_text):
    """Whether text[start:end] (normalised) is a card number, from the rule in core.pan's docstring alone."""
    candidate = text[start:end]
    if not re.fullmatch(r"[0-9]+(?:(?: {1,2}|[-.])[0-9]+)*", candidate):
        return False
    groups = re.findall(r"[0-9]+", candidate)
    digits = "".join(groups)
    if not 13 <= len(digits) <= 19 or not passes_luhn(digits):
        return False
    if ("." in candidate or "  " in candidate) and any(not 3 <= len(group) <= 6 for group in groups):
        return False
    if start and text[start - 1] == "+":
        return False
    for neighbour in (text[start - 1] if start else "", text[end] if end < len(text) else ""):
        if neighbour.isdigit() or neighbour == "-":
            return False
        if neighbour.isalnum() and not (free_text and len(groups) == 1):
            return False
    return True


def _every_substring(text, free_text=False):
    """The rule, applied the slow way: from each position left to right, the longest substring that
    reads as a card number; skip past each find."""
    normal = "".join(map(_normal_char, text))
    start = 0
    while start < len(normal):
        end = next((end for end in range(len(normal), start, -1) if _reads_as(normal, start, end, free_text)), None)
        if end is None:
            start += 1
            continue
        yield start, end
        start = end


_CARDS = [
    "4111111111111111",
    "4111 1111 1111 1111",
    "5555-5555-5555-4444",
    "378282246310005",
    "４１５６２７２３５８３７９０９６",
    "4156.2723.5837.9096",
    "4156\u00a0\u00a02723\u00a0\u00a05837\u00a0\u00a09096",
    "٤١٥٦ ٢٧٢٣ ٥٨٣٧ ٩٠٩٦",
]


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(
            st.text(alphabet="0123456789 -.", max_size=25),
            st.text(alphabet='0123456789 -.+ab_\u0663\u00a0\uff14²é"{}:,', max_size=12),
            st.sampled_from(_CARDS),
        ),
        max_size=10,
    ),
    free_text=st.booleans(),
)
def test_the_quick_scan_finds_what_the_rule_read_the_slow_way_finds(pieces, free_text):
    """card_number_spans looks only inside long runs of digits and marks (found over bytes in ASCII
    text); a card number is never anywhere else, in ASCII text or not."""
    text = "".join(pieces)

    assert list(card_number_spans(text, free_text=free_text)) == list(_every_substring(text, free_text))


def test_an_idempotency_key_holding_a_card_number_is_refused_and_not_stored(api_client):
    from django.urls import reverse

    from core.models import IdempotencyRecord

    response = api_client.post(
        reverse("api_shopper_create"),
        {"first_name": "Mina"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="4156 2723 5837 9096",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "card_number_rejected"
    assert list(response.json()["error"]["fields"]) == ["headers.Idempotency-Key"]
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "x4156272358379096"}, "first_name"),  # free text: glued to a letter still counts
        ({"first_name": "Mina", "last_name": "４１５６２７２３５８３７９０９６"}, "last_name"),
        ({"first_name": "Mina", "preferences": {"note": "4156\u00a02723\u00a05837\u00a09096"}}, "preferences.note"),
    ],
)
def test_the_api_refuses_a_card_number_in_any_spelling_before_storing_anything(api_client, merchant, body, field):
    from django.urls import reverse

    from profiles.models import Shopper

    response = api_client.post(reverse("api_shopper_create"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not Shopper.objects.filter(merchant=merchant).exists()


def test_an_identifier_glued_to_letters_is_not_taken_for_a_card_number():
    document = {"external_id": "ORD4156272358379096", "first_name": "Mina"}

    assert list(card_number_paths(document)) == []
    assert list(card_number_paths({"first_name": "ORD4156272358379096"})) == ["first_name"]
