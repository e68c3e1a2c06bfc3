import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from payments.providers.base import (
    CardNumberError,
    Channel,
    CustomerHints,
    Kind,
    LineItem,
    PayloadError,
    SignatureError,
    receive,
)
from payments.providers.shopify import ShopifyAdapter
from tests.payments.fixtures import as_body, payload, raw_payload

SECRET = "shpss_northwind_client_secret"
OLD_SECRET = "shpss_northwind_previous_secret"
URL = "https://storeloop.example/webhooks/shopify/2"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
ORDER = "820982911946154508"


def signed_headers(
    body: bytes, topic: str, secret: str = SECRET, webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
):
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "northwind.myshopify.com",
        "X-Shopify-API-Version": "2025-10",
    }


def accept(body: bytes, headers: dict[str, str], secrets=(SECRET,)):
    return receive(ShopifyAdapter(), headers=headers, raw_body=body, url=URL, secrets=list(secrets), now=NOW)


def test_a_signed_order_is_verified_and_read():
    body = raw_payload("shopify", "orders_create_authorized_pos")

    [event] = accept(body, signed_headers(body, "orders/create"))

    assert (event.event_id, event.kind, event.event_type) == (
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        Kind.AUTH,
        "orders/create",
    )
    assert (event.transaction_id, event.amount_minor, event.currency, event.reference) == (ORDER, 3000, "USD", "#9999")
    assert event.occurred_at == datetime(2025, 12, 3, 10, 0, tzinfo=UTC)
    assert (event.channel, event.location_id) == (Channel.IN_STORE, "655441491")
    assert event.cards == ()
    assert event.customer == CustomerHints(
        customer_id="115310627314723954",
        email="john@example.com",
        is_email_verified=True,
        phone="+15551234567",
        accepts_marketing=True,
    )
    assert event.line_items == (
        LineItem("BEAN-FW-250", "Flat white beans 250 g", "Coffee", 2, 1250),
        LineItem("CUP-CER-01", "Ceramic cup", "Homeware", 1, 500),
    )


def test_headers_are_read_whatever_their_case():
    body = raw_payload("shopify", "orders_paid")
    headers = {name.lower(): value for name, value in signed_headers(body, "orders/paid").items()}

    [event] = accept(body, headers)

    assert event.kind == Kind.CAPTURE


def test_an_online_order_is_online_and_keeps_its_marketing_answer():
    body = raw_payload("shopify", "orders_create_paid_online")

    [event] = accept(body, signed_headers(body, "orders/create"))

    assert (event.kind, event.channel, event.location_id, event.amount_minor) == (
        Kind.CAPTURE,
        Channel.ONLINE,
        "",
        1250,
    )
    assert event.customer == CustomerHints("207119551", "bob.norman@example.com", False, "", False)


def test_a_wrong_signature_is_refused():
    body = raw_payload("shopify", "orders_paid")

    with pytest.raises(SignatureError, match="does not match"):
        accept(body, signed_headers(body, "orders/paid", secret="someone-else"))


def test_a_missing_signature_is_refused():
    body = raw_payload("shopify", "orders_paid")
    headers = signed_headers(body, "orders/paid")
    del headers["X-Shopify-Hmac-Sha256"]

    with pytest.raises(SignatureError, match="missing"):
        accept(body, headers)


def test_the_second_of_two_secrets_verifies_during_rotation():
    body = raw_payload("shopify", "orders_paid")

    [event] = accept(body, signed_headers(body, "orders/paid", secret=OLD_SECRET), secrets=(SECRET, OLD_SECRET))

    assert event.kind == Kind.CAPTURE


def test_auth_capture_partial_refund_and_refund_carry_their_amounts():
    steps = [
        ("orders_create_authorized_pos", "orders/create"),
        ("orders_paid", "orders/paid"),
        ("refunds_create_partial", "refunds/create"),
        ("refunds_create_rest", "refunds/create"),
    ]
    events = []
    for index, (name, topic) in enumerate(steps):
        body = raw_payload("shopify", name)
        events.extend(accept(body, signed_headers(body, topic, webhook_id=f"delivery-{index}")))

    assert [(e.kind, e.transaction_id, e.original_transaction_id, e.amount_minor) for e in events] == [
        (Kind.AUTH, ORDER, "", 3000),
        (Kind.CAPTURE, ORDER, "", 2750),  # paid after a discount
        (Kind.REFUND, "929361462", ORDER, 500),
        (Kind.REFUND, "929361470", ORDER, 2250),
    ]
    assert events[2].line_items == (LineItem("CUP-CER-01", "Ceramic cup", "Homeware", 1, 500),)
    assert [e.event_id for e in events] == ["delivery-0", "delivery-1", "delivery-2", "delivery-3"]


def test_a_refund_that_moved_no_money_is_ignored():
    body = raw_payload("shopify", "refunds_create_restock_only")

    [event] = accept(body, signed_headers(body, "refunds/create"))

    assert (event.kind, event.reason) == (Kind.IGNORED, "the refund moved no money (a restock or a note)")


def test_an_unknown_topic_is_ignored_with_a_reason():
    body = raw_payload("shopify", "products_update")

    [event] = accept(body, signed_headers(body, "products/update"))

    assert (event.kind, event.event_type, event.reason) == (
        Kind.IGNORED,
        "products/update",
        "not a topic Storeloop uses",
    )


def test_a_missing_topic_is_a_payload_error():
    body = raw_payload("shopify", "orders_paid")
    headers = signed_headers(body, "orders/paid")
    del headers["X-Shopify-Topic"]

    with pytest.raises(PayloadError) as error:
        accept(body, headers)
    assert error.value.path == "headers.X-Shopify-Topic"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda o: o.update(total_price="thirty"), "total_price"),
        (lambda o: o.update(total_price="30.005"), "total_price"),
        (lambda o: o.update(currency="XXX1"), "currency"),
        (lambda o: o["line_items"][1].update(price=None), "line_items[1].price"),
        (lambda o: o["line_items"][0].pop("quantity"), "line_items[0].quantity"),
        (lambda o: o.update(processed_at="3 December"), "processed_at"),
    ],
)
def test_a_bad_field_names_its_path(change, path):
    document = payload("shopify", "orders_paid")
    change(document)
    body = as_body(document)

    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body, "orders/paid"))
    assert error.value.path == path


def test_a_body_that_is_not_json_is_a_payload_error():
    body = b"order=1"

    with pytest.raises(PayloadError) as error:
        accept(body, signed_headers(body, "orders/paid"))
    assert error.value.path == "body"


def test_a_card_number_in_any_string_is_refused_before_the_signature_is_checked():
    document = payload("shopify", "orders_paid")
    document["note"] = "paid with 3782 822463 10005"
    body = as_body(document)

    with pytest.raises(CardNumberError) as error:
        accept(body, {"X-Shopify-Topic": "orders/paid", "X-Shopify-Hmac-Sha256": "forged"})
    assert error.value.path == "note"


def test_a_shopify_global_id_is_not_a_card_number_but_the_same_digits_elsewhere_are():
    document = payload("shopify", "orders_paid")
    # an id whose digits happen to pass the Luhn check
    document["line_items"][0]["admin_graphql_api_id"] = "gid://shopify/LineItem/4111111111111111"
    body = as_body(document)
    assert accept(body, signed_headers(body, "orders/paid"))

    document["line_items"][0]["sku"] = "4111111111111111"
    body = as_body(document)
    with pytest.raises(CardNumberError) as error:
        accept(body, signed_headers(body, "orders/paid"))
    assert error.value.path == "line_items[0].sku"
