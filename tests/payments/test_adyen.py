import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from payments.providers.adyen import AdyenAdapter
from payments.providers.base import CardNumberError, Channel, Kind, PayloadError, SignatureError, receive
from tests.payments.fixtures import as_body, payload, raw_payload

KEY = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"
DOCUMENTED_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
OLD_KEY = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
URL = "https://storeloop.example/webhooks/adyen/9"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def signed(document: dict, key: str = KEY) -> bytes:
    """Signs each item as Adyen documents it: the eight fields joined by colons, HMAC-SHA256 with the hex key."""
    for wrapper in document["notificationItems"]:
        item = wrapper["NotificationRequestItem"]
        fields = [item.get(name, "") for name in ("pspReference", "originalReference", "merchantAccountCode")]
        fields += [item.get("merchantReference", ""), item["amount"]["value"], item["amount"]["currency"]]
        fields += [item["eventCode"], item["success"]]
        data = ":".join(str(field) for field in fields).encode()
        digest = hmac.new(binascii.unhexlify(key), data, hashlib.sha256).digest()
        item.setdefault("additionalData", {})["hmacSignature"] = base64.b64encode(digest).decode()
    return as_body(document)


def accept(body: bytes, secrets=(KEY,)):
    return receive(AdyenAdapter(), headers={}, raw_body=body, url=URL, secrets=list(secrets), now=NOW)


def test_the_documented_example_verifies_with_its_documented_key_and_signature():
    [event] = accept(raw_payload("adyen", "documented_authorisation"), secrets=(DOCUMENTED_KEY,))

    assert (event.kind, event.transaction_id, event.amount_minor, event.currency) == (
        Kind.AUTH,
        "7914073381342284",
        1130,
        "EUR",
    )
    assert event.event_id == "7914073381342284:AUTHORISATION:true"
    assert event.occurred_at == datetime(2019, 5, 6, 15, 15, 34, 121000, tzinfo=UTC)


@pytest.mark.parametrize("name", ["signed_with_backslash", "signed_with_colon"])
def test_notifications_adyen_signed_verify_without_escaping_backslash_or_colon(name):
    [event] = accept(raw_payload("adyen", name))

    assert event.kind == Kind.AUTH


def test_a_wrong_signature_is_refused():
    body = signed(payload("adyen", "authorisation"), key=OLD_KEY)

    with pytest.raises(SignatureError, match="does not match"):
        accept(body)


def test_an_item_changed_after_signing_is_refused():
    body = raw_payload("adyen", "documented_authorisation").replace(b'"value": 1130', b'"value": 11300')

    with pytest.raises(SignatureError):
        accept(body, secrets=(DOCUMENTED_KEY,))


def test_every_item_of_a_batch_must_verify():
    document = payload("adyen", "refunds_batch")
    signed(document)
    document["notificationItems"][1]["NotificationRequestItem"]["additionalData"]["hmacSignature"] = "AAAA"

    with pytest.raises(SignatureError, match=r"notificationItems\[1\]"):
        accept(as_body(document))


def test_an_item_without_a_signature_is_refused():
    with pytest.raises(SignatureError, match="hmacSignature is missing"):
        accept(raw_payload("adyen", "authorisation"))


def test_a_key_that_is_not_hexadecimal_verifies_nothing():
    with pytest.raises(SignatureError, match="not hexadecimal"):
        accept(signed(payload("adyen", "authorisation")), secrets=("not-hex",))


def test_the_second_of_two_keys_verifies_during_rotation():
    [event] = accept(signed(payload("adyen", "authorisation"), key=OLD_KEY), secrets=(KEY, OLD_KEY))

    assert event.kind == Kind.AUTH


def test_auth_capture_partial_refund_and_refund_carry_their_amounts():
    events = []
    for name in ["authorisation", "capture", "refunds_batch"]:
        events.extend(accept(signed(payload("adyen", name))))

    payment = "QFQTPCQ8HXSKGK82"
    assert [(e.kind, e.transaction_id, e.original_transaction_id, e.amount_minor) for e in events] == [
        (Kind.AUTH, payment, "", 2500),
        (Kind.CAPTURE, payment, "", 2300),  # captured for less than authorised, on the same payment
        (Kind.REFUND, "LZ9CP4KTXNQJ2G85", payment, 500),
        (Kind.REFUND, "MX4KQ7S2VB8DLW86", payment, 1800),
    ]
    assert len({e.event_id for e in events}) == 4


def test_the_card_is_known_by_its_payment_account_reference_and_its_alias():
    [event] = accept(signed(payload("adyen", "authorisation")))

    assert event.channel == Channel.IN_STORE
    assert [(c.scope, c.kind, c.value, c.brand, c.last4, c.exp_month, c.exp_year) for c in event.cards] == [
        ("network", "par", "V0010013822254720181000000001", "mc", "0004", 8, 2029),
        ("NorthwindPOS", "alias", "H167852639363479", "mc", "0004", 8, 2029),
    ]


def test_cancel_or_refund_follows_the_modification_action():
    document = payload("adyen", "cancel_or_refund")
    [void] = accept(signed(document))
    document["notificationItems"][0]["NotificationRequestItem"]["additionalData"] = {"modification.action": "refund"}
    [refund] = accept(signed(document))

    assert (void.kind, void.original_transaction_id, void.amount_minor) == (Kind.VOID, "VK9DRSLLRCQ2WN82", 900)
    assert refund.kind == Kind.REFUND


def test_a_chargeback_points_at_its_payment():
    [event] = accept(signed(payload("adyen", "chargeback")))

    assert (event.kind, event.original_transaction_id, event.amount_minor) == (
        Kind.CHARGEBACK,
        "QFQTPCQ8HXSKGK82",
        2300,
    )


def test_a_refused_authorisation_is_ignored_with_its_reason():
    [event] = accept(signed(payload("adyen", "authorisation_refused")))

    assert (event.kind, event.reason, event.event_id) == (
        Kind.IGNORED,
        "AUTHORISATION failed: Refused",
        "RF2XW8KDLQ4ZMN90:AUTHORISATION:false",
    )


def test_an_unknown_event_code_is_ignored_with_a_reason():
    [event] = accept(signed(payload("adyen", "report_available")))

    assert (event.kind, event.event_type, event.reason) == (
        Kind.IGNORED,
        "REPORT_AVAILABLE",
        "not an event Storeloop uses",
    )


def test_the_acknowledgement_is_accepted_in_plain_text():
    ack = AdyenAdapter().acknowledgement()

    assert (ack.status, ack.body, ack.content_type) == (200, "[accepted]", "text/plain")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"{not json", "body"),
        (b'{"live": "false"}', "notificationItems"),
        (b'{"live": "false", "notificationItems": []}', "notificationItems"),
        (b'{"notificationItems": [{"Item": {}}]}', "notificationItems[0].NotificationRequestItem"),
    ],
)
def test_a_body_that_is_not_an_adyen_batch_is_a_payload_error(body, path):
    with pytest.raises(PayloadError) as error:
        accept(body)
    assert error.value.path == path


def test_a_bad_field_of_a_verified_item_names_its_path():
    document = payload("adyen", "refunds_batch")
    document["notificationItems"][1]["NotificationRequestItem"]["amount"]["currency"] = "EURO"

    with pytest.raises(PayloadError) as error:
        accept(signed(document))
    assert error.value.path == "notificationItems[1].NotificationRequestItem.amount.currency"


def test_a_card_number_in_any_string_is_refused_before_the_signature_is_checked():
    document = payload("adyen", "authorisation")
    document["notificationItems"][0]["NotificationRequestItem"]["additionalData"]["shopperStatement"] = (
        "5555555555554444"
    )

    with pytest.raises(CardNumberError) as error:
        accept(as_body(document))
    assert error.value.path == "notificationItems[0].NotificationRequestItem.additionalData.shopperStatement"


def test_a_psp_reference_is_exempt_from_the_card_number_rule_but_only_in_its_own_field():
    # a 16-digit pspReference that happens to pass the Luhn check is Adyen's reference
    document = payload("adyen", "authorisation")
    item = document["notificationItems"][0]["NotificationRequestItem"]
    item["pspReference"] = "4111111111111111"
    assert accept(signed(document))[0].transaction_id == "4111111111111111"

    item["merchantReference"] = "4111111111111111"
    with pytest.raises(CardNumberError):
        accept(signed(document))
