import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from payments.providers.base import CardNumberError, Channel, Kind, PayloadError, SignatureError, receive
from payments.providers.square import SquareAdapter
from tests.payments.fixtures import as_body, payload, raw_payload

KEY = "Ofh3lY2GxmC4kpmyVhdK6w"
OLD_KEY = "previous-signature-key"
URL = "https://storeloop.example/webhooks/square/3"
NOW = datetime(2025, 12, 3, 10, 0, tzinfo=UTC)


def signed_headers(body: bytes, key: str = KEY, url: str = URL) -> dict[str, str]:
    digest = hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()
    return {"x-square-hmacsha256-signature": base64.b64encode(digest).decode()}


def accept(body: bytes, headers: dict[str, str], secrets=(KEY,)):
    return receive(SquareAdapter(), headers=headers, raw_body=body, url=URL, secrets=list(secrets), now=NOW)


def test_a_signed_payment_is_verified_and_read():
    body = raw_payload("square", "payment_created_approved")

    [event] = accept(body, signed_headers(body))

    assert (event.event_id, event.kind) == ("13b867cf-db3d-4b1c-90b6-2f32a9d78124", Kind.AUTH)
    assert (event.transaction_id, event.amount_minor, event.currency) == ("hYy9pRFVxpDsO1FB05SunFWUe9JZY", 2500, "USD")
    assert event.occurred_at == datetime(2025, 12, 3, 10, 0, 0, 79000, tzinfo=UTC)
    assert (event.location_id, event.channel, event.reference) == (
        "S8GWD5R9QB376",
        Channel.IN_STORE,
        "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
    )
    [card] = event.cards
    assert (card.scope, card.kind, card.brand, card.last4, card.exp_month, card.exp_year) == (
        "6SSW7HV8K2ST5",
        "fingerprint",
        "MASTERCARD",
        "9029",
        11,
        2028,
    )
    assert card.value.startswith("sq-1-")
    assert event.customer is not None
    assert event.customer.customer_id == "VDKXEEKPJN48QDG3BGGFAK05P8"


def test_a_wrong_signature_is_refused():
    body = raw_payload("square", "payment_updated_completed")

    with pytest.raises(SignatureError, match="does not match"):
        accept(body, signed_headers(body, key="not-the-key"))


def test_the_signature_covers_the_notification_url():
    body = raw_payload("square", "payment_updated_completed")

    with pytest.raises(SignatureError):
        accept(body, signed_headers(body, url="https://storeloop.example/webhooks/square/4"))


def test_a_missing_signature_is_refused():
    with pytest.raises(SignatureError, match="missing"):
        accept(raw_payload("square", "payment_updated_completed"), {})


def test_the_second_of_two_keys_verifies_during_rotation():
    body = raw_payload("square", "payment_updated_completed")

    [event] = accept(body, signed_headers(body, key=OLD_KEY), secrets=(KEY, OLD_KEY))

    assert event.kind == Kind.CAPTURE


def test_auth_capture_partial_refund_and_refund_carry_their_amounts():
    names = [
        "payment_created_approved",
        "payment_updated_completed",
        "refund_created_pending",
        "refund_updated_completed_partial",
        "refund_updated_completed_rest",
    ]
    events = []
    for name in names:
        body = raw_payload("square", name)
        events.extend(accept(body, signed_headers(body)))

    assert [(e.kind, e.amount_minor) for e in events] == [
        (Kind.AUTH, 2500),
        (Kind.CAPTURE, 2500),
        (Kind.IGNORED, None),  # pending: the update that completes it follows
        (Kind.REFUND, 500),
        (Kind.REFUND, 2000),
    ]
    assert events[2].reason == "refund status PENDING"
    payment = "hYy9pRFVxpDsO1FB05SunFWUe9JZY"
    assert [e.original_transaction_id for e in events[3:]] == [payment, payment]
    assert events[3].transaction_id != events[4].transaction_id


def test_a_canceled_payment_is_a_void_and_a_failed_one_is_ignored():
    canceled = raw_payload("square", "payment_updated_canceled")
    failed = raw_payload("square", "payment_updated_failed")

    [void] = accept(canceled, signed_headers(canceled))
    [ignored] = accept(failed, signed_headers(failed))

    assert (void.kind, void.transaction_id) == (Kind.VOID, "Qm7fGzJr5BO0Bq5Ay6HpUcWc6bXZY")
    assert (ignored.kind, ignored.reason) == (Kind.IGNORED, "payment status FAILED")


def test_an_unknown_event_type_is_ignored_with_a_reason():
    body = raw_payload("square", "customer_created")

    [event] = accept(body, signed_headers(body))

    assert (event.kind, event.event_type, event.reason) == (
        Kind.IGNORED,
        "customer.created",
        "not an event Storeloop uses",
    )


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"\xff\xfe not utf-8", "body"),
        (b"[1, 2, 3]", "body"),
        (b'{"type": "payment.updated", "event_id": "e1", "data": {"object": {}}}', "data.object.payment"),
    ],
)
def test_a_body_that_is_not_a_square_event_is_a_payload_error(body, path):
    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body))
    assert error.value.path == path


def test_a_bad_amount_names_its_field():
    document = payload("square", "payment_updated_completed")
    document["data"]["object"]["payment"]["amount_money"]["amount"] = -1
    body = as_body(document)

    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body))
    assert error.value.path == "data.object.payment.amount_money.amount"


def test_a_card_number_in_any_string_is_refused_before_the_signature_is_checked():
    document = payload("square", "payment_updated_completed")
    document["data"]["object"]["payment"]["note"] = "refund to 4012 8888 8888 1881"
    body = as_body(document)

    with pytest.raises(CardNumberError) as error:
        accept(body, {"x-square-hmacsha256-signature": "forged"})
    assert error.value.path == "data.object.payment.note"
