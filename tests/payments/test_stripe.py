from datetime import UTC, datetime, timedelta

import pytest
import stripe

from payments.providers.base import (
    CardIdentity,
    CardNumberError,
    Channel,
    Kind,
    PayloadError,
    SignatureError,
    receive,
)
from payments.providers.stripe import StripeAdapter
from tests.payments.fixtures import as_body, payload, raw_payload

SECRET = "whsec_test_northwind_current"
OLD_SECRET = "whsec_test_northwind_previous"
URL = "https://storeloop.example/webhooks/stripe/7"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def signed_headers(body: bytes, secret: str = SECRET, at: datetime = NOW) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=int(at.timestamp()))
    return {"Stripe-Signature": header}


def accept(body: bytes, headers: dict[str, str], secrets=(SECRET,), adapter=None):
    return receive(
        adapter or StripeAdapter("acct_northwind"),
        headers=headers,
        raw_body=body,
        url=URL,
        secrets=list(secrets),
        now=NOW,
    )


def test_a_signed_event_is_verified_and_read():
    body = raw_payload("stripe", "charge_succeeded_uncaptured")

    [event] = accept(body, signed_headers(body))

    assert event.event_id == "evt_1NG8Du2eZvKYlo2CUI79vXWy"
    assert event.kind == Kind.AUTH
    assert event.transaction_id == "ch_3MmlLrLkdIwHu7ix0snN0B15"
    assert (event.amount_minor, event.currency) == (2500, "USD")
    assert event.occurred_at == datetime(2025, 12, 3, 10, 0, tzinfo=UTC)
    assert event.channel == Channel.IN_STORE
    assert event.cards == (
        CardIdentity("stripe", "acct_northwind", "fingerprint", "Xt5EWLLDS7FJjR1c", "visa", "4242", 8, 2029),
    )


def test_a_wrong_signature_is_refused():
    body = raw_payload("stripe", "charge_captured")

    with pytest.raises(SignatureError, match="does not match"):
        accept(body, signed_headers(body, secret="whsec_someone_else"))


def test_a_body_changed_after_signing_is_refused():
    body = raw_payload("stripe", "charge_captured")
    headers = signed_headers(body)

    with pytest.raises(SignatureError):
        accept(body.replace(b"2300", b"9300"), headers)


def test_a_missing_header_is_refused():
    with pytest.raises(SignatureError, match="missing Stripe-Signature"):
        accept(raw_payload("stripe", "charge_captured"), {})


@pytest.mark.parametrize("offset", [timedelta(seconds=301), timedelta(seconds=-301)], ids=["stale", "future"])
def test_a_timestamp_outside_300_seconds_is_refused(offset):
    body = raw_payload("stripe", "charge_captured")

    with pytest.raises(SignatureError, match="tolerance|future"):
        accept(body, signed_headers(body, at=NOW - offset))


def test_a_timestamp_within_300_seconds_passes():
    body = raw_payload("stripe", "charge_captured")

    assert accept(body, signed_headers(body, at=NOW - timedelta(seconds=299)))


@pytest.mark.parametrize("stamp", ["9" * 400, "", "1e9", "١٧٦٤٧٥٦٠٠٠", "-5"])
def test_a_timestamp_that_is_not_a_plain_unix_time_is_a_signature_error(stamp):
    body = raw_payload("stripe", "charge_captured")
    signature = signed_headers(body)["Stripe-Signature"].split(",", 1)[1]

    with pytest.raises(SignatureError):
        accept(body, {"Stripe-Signature": f"t={stamp},{signature}"})


def test_the_second_of_two_secrets_verifies_during_rotation():
    body = raw_payload("stripe", "charge_captured")

    [event] = accept(body, signed_headers(body, secret=OLD_SECRET), secrets=(SECRET, OLD_SECRET))

    assert event.kind == Kind.CAPTURE


def test_no_secret_verifies_nothing():
    body = raw_payload("stripe", "charge_captured")

    with pytest.raises(SignatureError, match="no signing secret"):
        accept(body, signed_headers(body), secrets=())


def test_auth_capture_partial_refund_and_refund_carry_their_amounts():
    names = ["charge_succeeded_uncaptured", "charge_captured", "charge_refunded_partial", "charge_refunded_full"]
    events = []
    for name in names:
        body = raw_payload("stripe", name)
        events.extend(accept(body, signed_headers(body)))

    assert [(e.kind, e.amount_minor, e.refunded_total_minor) for e in events] == [
        (Kind.AUTH, 2500, None),
        (Kind.CAPTURE, 2300, None),  # captured for less than authorised
        (Kind.REFUND, None, 500),
        (Kind.REFUND, None, 2300),  # the running total: this refund is 2300 - 500
    ]
    charge = "ch_3MmlLrLkdIwHu7ix0snN0B15"
    assert {e.transaction_id for e in events[:2]} == {charge}
    assert [e.original_transaction_id for e in events[2:]] == [charge, charge]
    assert events[2].transaction_id != events[3].transaction_id


def test_a_connect_event_scopes_the_fingerprint_by_its_account_and_an_online_card_keeps_its_wallet():
    body = raw_payload("stripe", "charge_succeeded_online_connect")

    [event] = accept(body, signed_headers(body))

    assert event.kind == Kind.CAPTURE
    assert (event.amount_minor, event.currency, event.channel) == (1099, "GBP", Channel.ONLINE)
    [card] = event.cards
    assert (card.scope, card.value, card.brand, card.last4, card.wallet) == (
        "acct_1032D82eZvKYlo2C",
        "mQvPmA7cL2dF9kTz",
        "mastercard",
        "4444",
        "apple_pay",
    )


def test_a_failed_charge_is_ignored_with_a_reason():
    body = raw_payload("stripe", "charge_failed")

    [event] = accept(body, signed_headers(body))

    assert (event.kind, event.reason) == (Kind.IGNORED, "the payment failed")


def test_an_unknown_event_type_is_ignored_with_a_reason():
    body = raw_payload("stripe", "customer_created")

    [event] = accept(body, signed_headers(body))

    assert (event.kind, event.event_type, event.reason) == (
        Kind.IGNORED,
        "customer.created",
        "not an event Storeloop uses",
    )


def test_a_dispute_is_a_chargeback_of_its_charge():
    body = raw_payload("stripe", "charge_dispute_created")

    [event] = accept(body, signed_headers(body))

    assert (event.kind, event.original_transaction_id, event.amount_minor) == (
        Kind.CHARGEBACK,
        "ch_3MmlLrLkdIwHu7ix0snN0B15",
        2300,
    )


def test_a_body_that_is_not_json_is_a_payload_error():
    body = b"<xml>not json</xml>"

    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body))
    assert error.value.path == "body"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda e: e.pop("data"), "data"),
        (lambda e: e["data"]["object"].update(amount="25.00"), "data.object.amount"),
        (lambda e: e["data"]["object"].update(currency="dollars"), "data.object.currency"),
        (lambda e: e["data"]["object"].update(object="refund"), "data.object.object"),
        (lambda e: e.update(object="list"), "object"),
    ],
)
def test_a_body_that_is_not_a_stripe_event_names_the_field(change, path):
    document = payload("stripe", "charge_captured")
    change(document)
    body = as_body(document)

    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body))
    assert error.value.path == path


def test_a_card_number_in_any_string_is_refused_before_the_signature_is_checked():
    document = payload("stripe", "charge_captured")
    document["data"]["object"]["description"] = "card 4111 1111 1111 1111"
    body = as_body(document)

    with pytest.raises(CardNumberError) as error:
        accept(body, {"Stripe-Signature": "t=1,v1=forged"})
    assert error.value.path == "data.object.description"


def test_the_acknowledgement_is_a_plain_200():
    assert StripeAdapter().acknowledgement().status == 200
