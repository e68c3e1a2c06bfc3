import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.providers import PaymentProvider
from payments.providers import ADAPTERS, adapter_for
from payments.providers.base import (
    CardNumberError,
    Kind,
    PayloadError,
    ProviderEvent,
    SignatureError,
    check_timestamp,
    header,
    load_json,
    local_to_utc,
    major_to_minor,
    receive,
    refuse_card_numbers,
)

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_there_is_one_adapter_per_provider():
    assert sorted(ADAPTERS) == sorted(p.value for p in PaymentProvider)
    adapter = adapter_for("stripe", account="acct_1")
    assert (adapter.provider, adapter.account) == ("stripe", "acct_1")
    with pytest.raises(KeyError):
        adapter_for("paypal")


@pytest.mark.parametrize("provider", sorted(ADAPTERS))
def test_every_adapter_answers_with_a_2xx_and_refuses_a_request_without_secrets(provider):
    adapter = adapter_for(provider)

    assert 200 <= adapter.acknowledgement().status < 300
    with pytest.raises(SignatureError, match="no signing secret"):
        adapter.verify({}, b"{}", "https://storeloop.example/", [], NOW)


@pytest.mark.parametrize("provider", sorted(ADAPTERS))
def test_every_adapter_refuses_a_card_number_before_it_checks_the_signature(provider):
    body = b'{"note": "4111-1111-1111-1111"}'

    with pytest.raises(CardNumberError) as error:
        receive(adapter_for(provider), headers={}, raw_body=body, url="https://x.example/", secrets=["s"], now=NOW)
    assert error.value.path == "note"


@pytest.mark.parametrize("provider", sorted(ADAPTERS))
def test_every_adapter_refuses_a_body_that_is_not_json_before_it_checks_the_signature(provider):
    with pytest.raises(PayloadError) as error:
        receive(
            adapter_for(provider), headers={}, raw_body=b"\x00garbage", url="https://x.example/", secrets=["s"], now=NOW
        )
    assert error.value.path == "body"


def test_an_event_cannot_be_changed_once_made():
    event = ProviderEvent("stripe", "evt_1", Kind.IGNORED, reason="test")

    with pytest.raises(dataclasses.FrozenInstanceError):
        event.kind = Kind.CAPTURE  # type: ignore[misc]


def test_json_fractions_are_decimals_and_non_numbers_are_refused():
    assert load_json(b'{"amount": 10.10}') == {"amount": Decimal("10.10")}
    for body in (b'{"amount": NaN}', b'{"amount": Infinity}', b"", b"[" * 100_000):
        with pytest.raises(PayloadError):
            load_json(body)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("10"), "GBP", 1000),
        (Decimal("12.34"), "EUR", 1234),
        ("1500", "JPY", 1500),
        ("1500", "KRW", 1500),
        ("1.234", "KWD", 1234),
        (Decimal("-10"), "GBP", -1000),
        (7, "USD", 700),
        ("0.1250", "CLF", 1250),
    ],
)
def test_major_units_become_minor_units_by_the_currency_digits(amount, currency, minor):
    assert major_to_minor(amount, currency, "amount") == minor


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("10.001", "EUR"),
        ("1500.5", "JPY"),
        ("1.2345", "KWD"),
        (True, "EUR"),
        ("ten", "EUR"),
        ("1e400", "EUR"),
        (None, "EUR"),
    ],
)
def test_an_amount_that_is_not_exact_in_the_currency_is_refused_with_its_path(amount, currency):
    with pytest.raises(PayloadError) as error:
        major_to_minor(amount, currency, "data.amount")
    assert error.value.path == "data.amount"


@pytest.mark.parametrize(
    ("stamp", "accepted"),
    [
        (str(int(NOW.timestamp())), True),
        (str(int(NOW.timestamp()) - 300), True),
        (str(int(NOW.timestamp()) + 300), True),
        (str(int(NOW.timestamp()) - 301), False),
        (str(int(NOW.timestamp()) + 301), False),
        ("9" * 400, False),
        ("9" * 20, False),
        ("", False),
        (" 1764756000", False),
        ("１７６４７５６０００", False),
    ],
)
def test_a_timestamp_is_within_its_tolerance_both_ways_and_never_overflows(stamp, accepted):
    def check():
        check_timestamp(stamp, NOW, tolerance=timedelta(seconds=300), unit=timedelta(seconds=1), name="t")

    if accepted:
        check()
    else:
        with pytest.raises(SignatureError):
            check()


def test_the_card_number_rule_names_the_first_field_and_reads_keys_and_lists():
    with pytest.raises(CardNumberError) as error:
        refuse_card_numbers({"items": [{"sku": "ok"}, {"sku": "5555 5555 5555 4444"}]}, {})
    assert error.value.path == "items[1].sku"

    with pytest.raises(CardNumberError) as error:
        refuse_card_numbers({"metadata": {"4111111111111111": "x"}}, {})
    assert error.value.path == "metadata.4111111111111111"


def test_numbers_ids_and_short_digits_are_not_card_numbers():
    refuse_card_numbers({"id": 4111111111111111, "uuid": "8bbbf56b-3819-473b-877d-cf2175f268f4", "last4": "4242"}, {})


def test_a_provider_identifier_is_exempt_only_in_its_field_and_its_shape():
    rule = {"items[].ref": lambda value: value.startswith("ref/")}

    refuse_card_numbers({"items": [{"ref": "ref/4111111111111111"}]}, rule)
    with pytest.raises(CardNumberError):
        refuse_card_numbers({"items": [{"ref": "4111111111111111"}]}, rule)
    with pytest.raises(CardNumberError):
        refuse_card_numbers({"items": [{"other": "ref/4111111111111111"}]}, rule)


def test_a_local_time_is_read_in_its_zone_around_the_clock_changes():
    # London, 29 March 2026: 01:00 GMT becomes 02:00 BST; 25 October 2026: 02:00 BST becomes 01:00 GMT
    assert local_to_utc("2026-03-29T00:30:00", "Europe/London", "d", "z") == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert local_to_utc("2026-03-29T02:30:00", "Europe/London", "d", "z") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # the repeated hour is read the first time it happens
    assert local_to_utc("2026-10-25T01:30:00", "Europe/London", "d", "z") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # a time that carries its own offset keeps it
    assert local_to_utc("2026-10-25T01:30:00+09:00", "Europe/London", "d", "z") == datetime(
        2026, 10, 24, 16, 30, tzinfo=UTC
    )


def test_a_header_is_found_whatever_the_case_of_its_name():
    assert header({"x-fidel-timestamp": "1"}, "X-Fidel-Timestamp") == "1"
    assert header({}, "X-Fidel-Timestamp") == ""
