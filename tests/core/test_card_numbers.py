import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.card_numbers import card_number_paths
from core.pan import card_number_spans, contains_card_number, redact


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
        "2026-11-23T10:15:00Z",
        "123456",
    ],
)
def test_other_numbers_are_not(text):
    assert not contains_card_number(text)


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


def _every_position(text):
    """The definition, walked the slow way: try each position left to right, skip past each find."""
    from core.pan import _DIGITS, _card_number_at

    start = 0
    while start < len(text):
        end = _card_number_at(text, start) if text[start] in _DIGITS else None
        if end is None:
            start += 1
            continue
        yield start, end
        start = end


_CARDS = ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"]


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(
            st.text(alphabet="0123456789 -", max_size=25),
            st.text(alphabet='0123456789 -ab_\u0663²é"{}:,', max_size=12),
            st.sampled_from(_CARDS),
        ),
        max_size=12,
    )
)
def test_the_quick_scan_finds_what_a_walk_over_every_position_finds(pieces):
    """card_number_spans looks only inside long runs of digits, spaces and dashes (found over bytes);
    a card number is never anywhere else, in ASCII text or not."""
    text = "".join(pieces)

    assert list(card_number_spans(text)) == list(_every_position(text))
