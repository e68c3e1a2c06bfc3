import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from payments.providers.base import CardIdentity, CardNumberError, Channel, Kind, PayloadError, SignatureError, receive
from payments.providers.fidel import FidelAdapter
from tests.payments.fixtures import as_body, payload, raw_payload

SECRET = "wh_test_3b4be60b-6596-4b40-ae3d-89b9fdaf132a"
OLD_SECRET = "wh_test_previous"
URL = "https://storeloop.example/webhooks/fidel/5"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
PROGRAM = "06471dbe-a3c7-429e-8a18-16dc97e5cf35"


def base64_digest(secret: str, text: str) -> str:
    """Fidel's documented JavaScript, line for line: createHmac("sha256", secret).update(s).digest("base64")."""
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, secret: str = SECRET, at: datetime = NOW, message_id: str = "msg-1") -> dict[str, str]:
    timestamp = str(int(at.timestamp() * 1000))
    signature = base64_digest(secret, base64_digest(secret, body.decode() + URL + timestamp))
    return {
        "x-fidel-signature": signature,
        "x-fidel-timestamp": timestamp,
        "fidel-message-id": message_id,
        "fidel-attempt-number": "1",
    }


def accept(body: bytes, headers: dict[str, str], secrets=(SECRET,)):
    return receive(FidelAdapter(), headers=headers, raw_body=body, url=URL, secrets=list(secrets), now=NOW)


def test_the_documented_auth_example_is_verified_and_read():
    body = raw_payload("fidel", "documented_transaction_auth")

    [event] = accept(body, signed_headers(body, message_id="a1b2c3"))

    assert (event.event_id, event.kind, event.event_type) == ("a1b2c3", Kind.AUTH, "transaction.auth")
    assert (event.transaction_id, event.amount_minor, event.currency) == (
        "7fdfd5d8-9589-402f-8477-4a727ad239a2",
        10000,  # 100 GBP in major units
        "GBP",
    )
    # 19:12:01 in London in March (GMT) is 19:12:01 UTC
    assert event.occurred_at == datetime(2019, 3, 12, 19, 12, 1, tzinfo=UTC)
    assert (event.location_id, event.channel) == ("7a916fbd-70a0-462f-8dbc-bd7dbfbea160", Channel.IN_STORE)
    assert event.cards == (
        CardIdentity("fidel", PROGRAM, "card_id", "bc538b71-31c5-4699-840a-6d4a08693314", "visa", "5001"),
    )


def test_a_local_time_is_read_in_the_location_time_zone():
    body = raw_payload("fidel", "transaction_auth")

    [event] = accept(body, signed_headers(body))

    # 18:05:52 in London in July (BST, UTC+1) is 17:05:52 UTC, as Fidel's own `created` says
    assert event.occurred_at == datetime(2020, 7, 8, 17, 5, 52, tzinfo=UTC)


def test_a_local_time_in_another_zone_moves_with_it():
    document = payload("fidel", "transaction_auth")
    document["location"]["timezone"] = "Asia/Seoul"
    body = as_body(document)

    [event] = accept(body, signed_headers(body))

    assert event.occurred_at == datetime(2020, 7, 8, 9, 5, 52, tzinfo=UTC)


def test_an_unknown_time_zone_names_its_field():
    document = payload("fidel", "transaction_auth")
    document["location"]["timezone"] = "Mars/Olympus_Mons"
    body = as_body(document)

    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body))
    assert error.value.path == "location.timezone"


def test_a_wrong_signature_is_refused():
    body = raw_payload("fidel", "transaction_auth")

    with pytest.raises(SignatureError, match="does not match"):
        accept(body, signed_headers(body, secret="someone-else"))


def test_the_signature_covers_the_timestamp():
    body = raw_payload("fidel", "transaction_auth")
    headers = signed_headers(body)
    headers["x-fidel-timestamp"] = str(int(headers["x-fidel-timestamp"]) + 1)

    with pytest.raises(SignatureError):
        accept(body, headers)


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=5, seconds=1), timedelta(minutes=-5, seconds=-1)], ids=["stale", "future"]
)
def test_a_timestamp_outside_five_minutes_is_refused(offset):
    body = raw_payload("fidel", "transaction_auth")

    with pytest.raises(SignatureError, match="tolerance|future"):
        accept(body, signed_headers(body, at=NOW - offset))


def test_a_timestamp_within_five_minutes_passes():
    body = raw_payload("fidel", "transaction_auth")

    assert accept(body, signed_headers(body, at=NOW - timedelta(minutes=4, seconds=59)))


@pytest.mark.parametrize("stamp", ["9" * 400, "", "1.7e12", "-1"])
def test_a_timestamp_that_is_not_unix_milliseconds_is_a_signature_error(stamp):
    body = raw_payload("fidel", "transaction_auth")
    headers = signed_headers(body)
    headers["x-fidel-timestamp"] = stamp

    with pytest.raises(SignatureError):
        accept(body, headers)


def test_the_second_of_two_secrets_verifies_during_rotation():
    body = raw_payload("fidel", "transaction_auth")

    [event] = accept(body, signed_headers(body, secret=OLD_SECRET), secrets=(SECRET, OLD_SECRET))

    assert event.kind == Kind.AUTH


def test_auth_clearing_partial_refund_and_unmatched_refund_carry_their_amounts():
    names = ["transaction_auth", "transaction_clearing", "transaction_refund_partial", "transaction_refund_unmatched"]
    events = []
    for index, name in enumerate(names):
        body = raw_payload("fidel", name)
        events.extend(accept(body, signed_headers(body, message_id=f"msg-{index}")))

    assert [(e.kind, e.amount_minor, e.original_transaction_id) for e in events] == [
        (Kind.AUTH, 2550, ""),
        (Kind.CAPTURE, 2300, ""),  # cleared for less than authorised
        (Kind.REFUND, 500, "8bbbf56b-3819-473b-877d-cf2175f268f4"),
        (Kind.REFUND, 1800, ""),  # Fidel could not match it to a purchase
    ]
    assert events[0].transaction_id == events[1].transaction_id == "8bbbf56b-3819-473b-877d-cf2175f268f4"
    assert [e.event_id for e in events] == ["msg-0", "msg-1", "msg-2", "msg-3"]
    assert events[2].channel == Channel.ONLINE


def test_the_clearing_fidel_sends_for_a_refund_is_the_same_refund():
    body = raw_payload("fidel", "transaction_refund_partial")

    [first] = accept(body, signed_headers(body, message_id="refund-event"))
    [second] = accept(body, signed_headers(body, message_id="clearing-event"))

    assert (first.kind, second.kind) == (Kind.REFUND, Kind.REFUND)
    assert first.transaction_id == second.transaction_id


def test_a_linked_card_is_a_card_seen():
    body = raw_payload("fidel", "card_linked")

    [event] = accept(body, signed_headers(body))

    assert event.kind == Kind.CARD_SEEN
    assert event.cards == (
        CardIdentity("fidel", PROGRAM, "card_id", "556f8179-bfdb-4274-852e-ba6e43559590", "visa", "4735", 10, 2020),
    )


def test_another_fidel_event_is_ignored_with_a_reason():
    body = raw_payload("fidel", "location_status")

    [event] = accept(body, signed_headers(body))

    assert (event.kind, event.reason) == (Kind.IGNORED, "not a transaction or a linked card")


def test_an_amount_finer_than_the_currency_allows_names_its_field():
    body = raw_payload("fidel", "transaction_auth").replace(b'"amount": 25.5', b'"amount": 25.555')

    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body))
    assert error.value.path == "amount"


@pytest.mark.parametrize(
    ("body", "path"),
    [(b"not json", "body"), (b'"a string"', "body"), (b'{"card": {}, "amount": 1, "datetime": "x"}', "id")],
)
def test_a_body_that_is_not_a_fidel_transaction_is_a_payload_error(body, path):
    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body))
    assert error.value.path == path


def test_a_card_number_in_any_string_is_refused_before_the_signature_is_checked():
    document = payload("fidel", "transaction_auth")
    document["descriptor"]["storeName"] = "Bob's 4000056655665556"
    body = as_body(document)

    with pytest.raises(CardNumberError) as error:
        accept(body, {"x-fidel-signature": "forged", "x-fidel-timestamp": "1"})
    assert error.value.path == "descriptor.storeName"


def test_only_a_13_digit_sequence_number_is_exempt_from_the_card_number_rule():
    document = payload("fidel", "documented_transaction_auth")
    document["identifiers"]["mastercardTransactionSequenceNumber"] = "4000056655665556"
    body = as_body(document)

    with pytest.raises(CardNumberError):
        accept(body, signed_headers(body))
