"""A property of every entry point: a Luhn-valid 13–19 digit number, spelled in any script's digits and
grouped with spaces, no-break spaces, dots or dashes, is refused, and nothing is stored.

The entry points: the API's JSON bodies (shopper, card and purchase writes), the Idempotency-Key header
(as it arrives over HTTP: UTF-8 bytes a WSGI server hands on as latin-1), the kiosk page's form, and every
payment provider adapter's `receive()`.
"""

import json

import pytest
from django.core import mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import IdempotencyRecord
from core.pan import header_as_sent, passes_luhn
from payments.providers import ADAPTERS, adapter_for
from payments.providers.base import CardNumberError, receive
from profiles.models import Card, ConsentEvent, Purchase, Shopper
from tests.core.test_forms import KIOSK_FORM
from tests.profiles.shopper_fixtures import _fresh_limits_and_outbox, make_kiosk  # noqa: F401 - autouse fixture

# The zero of each script's decimal digits.
ZEROS = {
    "ASCII": 0x30,
    "full-width": 0xFF10,
    "Arabic-Indic": 0x0660,
    "Extended Arabic-Indic": 0x06F0,
    "Devanagari": 0x0966,
    "Bengali": 0x09E6,
    "Thai": 0x0E50,
    "Mathematical bold": 0x1D7CE,
}
# Between groups: nothing, a space, a no-break space, two spaces, a thin space, an ideographic space, a dot,
# a dash, a full-width hyphen-minus.
SEPARATORS = ["", " ", "\u00a0", "  ", "\u2009", "\u3000", ".", "-", "\uff0d"]
EXAMPLES = settings(
    max_examples=30, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)


def _check_digit(digits: list[int]) -> int:
    for check in range(10):
        if passes_luhn("".join(map(str, [*digits, check]))):
            return check
    raise AssertionError("unreachable")


@st.composite
def card_numbers(draw) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.lists(st.integers(0, 9), min_size=length - 1, max_size=length - 1))
    digits = [*body, _check_digit(body)]
    scripts = draw(st.sampled_from(["one", "mixed"]))
    if scripts == "one":
        zeros = [draw(st.sampled_from(sorted(ZEROS.values())))] * length
    else:
        zeros = draw(st.lists(st.sampled_from(sorted(ZEROS.values())), min_size=length, max_size=length))
    spelled = "".join(chr(zero + digit) for zero, digit in zip(zeros, digits, strict=True))
    separator = draw(st.sampled_from(SEPARATORS))
    groups, rest = [], spelled
    while len(rest) > 6:  # groups of 3 to 6 digits, as cards print them
        size = draw(st.integers(3, min(6, len(rest) - 3)))
        groups.append(rest[:size])
        rest = rest[size:]
    return separator.join([*groups, rest])


def test_the_strategy_spells_luhn_valid_numbers_of_13_to_19_digits():
    @given(card_numbers())
    @EXAMPLES
    def check(number):
        digits = "".join(str(int(char)) for char in number if char.isdecimal())
        assert 13 <= len(digits) <= 19 and passes_luhn(digits)

    check()


def _nothing_stored(merchant):
    assert not Shopper.objects.for_merchant(merchant).exists()
    assert not Card.objects.for_merchant(merchant).exists()
    assert not Purchase.objects.for_merchant(merchant).exists()
    assert not ConsentEvent.objects.for_merchant(merchant).exists()
    assert not IdempotencyRecord.objects.filter(merchant=merchant).exists()


def _purchase(**extra):
    body = {"external_id": "web-1", "amount_minor": 1500, "currency": "EUR", "channel": "online"}
    return {**body, "occurred_at": "2026-11-23T10:15:00Z", **extra}


# (route, body holding the number) for each kind of field: names and free text, ids and tokens, nested rows.
API_WRITES = [
    ("/api/v1/shoppers", lambda n: {"first_name": n}),
    ("/api/v1/shoppers", lambda n: {"last_name": "Lima", "preferences": {"brands": [n]}}),
    ("/api/v1/shoppers", lambda n: {"first_name": "Ana", "card": {"id": n, "last_four": "1111"}}),
    ("/api/v1/cards", lambda n: {"card": {"id": n, "last_four": "1111"}, "shopper": {"first_name": "Ana"}}),
    ("/api/v1/cards", lambda n: {"card": {"id": "tok_1", "last_four": "1111"}, "shopper": {"last_name": n}}),
    ("/api/v1/purchases", lambda n: _purchase(external_id=n)),
    ("/api/v1/purchases", lambda n: _purchase(card_id=n)),
    ("/api/v1/purchases", lambda n: _purchase(line_items=[{"name": n, "unit_price_minor": 1500}])),
    (
        "/api/v1/purchases/batch",
        lambda n: {"purchases": [_purchase(line_items=[{"sku": n, "name": "Tea", "unit_price_minor": 1500}])]},
    ),
]


@pytest.mark.django_db
def test_the_api_refuses_a_card_number_in_any_spelling_in_any_write(api_client, merchant):
    @given(number=card_numbers(), write=st.sampled_from(API_WRITES), escaped=st.booleans())
    @EXAMPLES
    def check(number, write, escaped):
        route, body = write
        # As UTF-8, or with every non-ASCII character as a JSON escape (\uff14…).
        raw = json.dumps(body(number), ensure_ascii=escaped)

        response = api_client.post(route, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="spell-1")

        assert response.status_code == 400, (route, number, response.content)
        assert response.json()["error"]["code"] == "card_number_rejected"
        _nothing_stored(merchant)

    check()


@pytest.mark.django_db
def test_an_idempotency_key_spelling_a_card_number_is_refused(api_client, merchant):
    @given(number=card_numbers())
    @EXAMPLES
    def check(number):
        # A WSGI server hands a header's UTF-8 bytes on as latin-1 characters (PEP 3333).
        on_the_wire = number.encode().decode("latin-1")

        response = api_client.post(
            "/api/v1/shoppers", {"first_name": "Ana"}, format="json", HTTP_IDEMPOTENCY_KEY=on_the_wire
        )

        assert response.status_code == 400, (number, response.content)
        assert list(response.json()["error"]["fields"]) == ["headers.Idempotency-Key"]
        _nothing_stored(merchant)

    check()


@pytest.mark.django_db
def test_the_kiosk_refuses_a_card_number_in_any_spelling(client, merchant, store):
    _point, path = make_kiosk(merchant, store, has_card_reader=True)

    @given(number=card_numbers(), field=st.sampled_from(["first_name", "last_name", "card_token"]))
    @EXAMPLES
    def check(number, field):
        response = client.post(path, {**KIOSK_FORM, field: number, "card_last_four": "9096", "link_card": "on"})

        assert response.status_code == 400, (field, number)
        assert "This looks like a card number" in response.text
        _nothing_stored(merchant)
        assert not mail.outbox

    check()


@pytest.mark.parametrize("provider", sorted(ADAPTERS))
def test_every_provider_adapter_refuses_a_card_number_in_any_spelling(provider):
    @given(number=card_numbers(), escaped=st.booleans(), field=st.sampled_from(["description", "metadata.note"]))
    @EXAMPLES
    def check(number, escaped, field):
        outer, _, inner = field.partition(".")
        document = {outer: {inner: number}} if inner else {outer: number}
        raw = json.dumps(document, ensure_ascii=escaped).encode()

        with pytest.raises(CardNumberError) as refused:
            receive(adapter_for(provider), headers={}, raw_body=raw, url="https://x.example/", secrets=["s"], now=None)
        assert refused.value.path == field

    check()


def test_a_header_is_read_as_the_client_wrote_it():
    written = "４１５６ ٢٧٢٣ 5837 ९०९६"

    assert header_as_sent(written.encode().decode("latin-1")) == written
    assert header_as_sent(written) == written  # already text
    assert header_as_sent("caf\xe9") == "caf\xe9"  # latin-1 bytes that are no UTF-8: left alone
