"""Hostile JSON on every API write: nested past any parser's stack, NUL in a field name. Each is a 400 in
the error shape, never a 500, with or without an Idempotency-Key."""

import json
import uuid

import pytest
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.models import IdempotencyRecord
from profiles.models import Purchase

pytestmark = pytest.mark.django_db

SOME_ID = uuid.uuid4()
WRITES = [
    "/api/v1/shoppers",
    f"/api/v1/shoppers/{SOME_ID}/consents",
    "/api/v1/cards",
    f"/api/v1/cards/{SOME_ID}/unlink",
    "/api/v1/purchases",
    "/api/v1/purchases/batch",
    f"/api/v1/purchases/{SOME_ID}/refund",
    "/api/v1/visits",
    "/api/v1/loyalty/redemptions",
    f"/api/v1/loyalty/redemptions/{SOME_ID}/reverse",
    "/api/v1/coupons/WELCOME10/redeem",
]


def _nested(depth, *, escaped=False):
    """A body `depth` levels deep, arrays inside objects; `escaped` puts a JSON escape in it (which makes
    the card-number scan parse the body)."""
    leaf = '"\\u0041"' if escaped else "1"
    return '{"purchases": ' + '[{"a": ' * depth + leaf + "}]" * depth + "}"


@pytest.mark.parametrize("path", WRITES)
@pytest.mark.parametrize("depth", [950, 5_000, 100_000])
def test_a_body_nested_too_deeply_is_a_400_with_an_idempotency_key(api_client, path, depth):
    response = api_client.post(path, _nested(depth), content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep-1")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_deeply_nested"
    assert "nested too deeply" in error["message"]
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("path", WRITES)
@pytest.mark.parametrize("escaped", [False, True])
def test_a_body_nested_too_deeply_is_refused_without_a_key(api_client, path, escaped):
    response = api_client.post(path, _nested(5_000, escaped=escaped), content_type="application/json")

    # Refused for what it is, or as a write to no such object, or for want of a key: never a 500.
    assert response.status_code in (400, 404)
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] in {"too_deeply_nested", "idempotency_key_required", "invalid", "not_found"}


@pytest.mark.parametrize("depth", [950, 100_000])
def test_a_deep_body_holding_an_escape_is_refused_before_any_view(api_client, depth):
    response = api_client.post(
        "/api/v1/purchases", _nested(depth, escaped=True), content_type="application/json", HTTP_IDEMPOTENCY_KEY="d2"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deeply_nested"


def _purchase(**extra):
    return {
        "external_id": "ORD-1",
        "amount_minor": 1500,
        "currency": "EUR",
        "occurred_at": "2026-11-23T10:15:00Z",
        "channel": "in_store",
        **extra,
    }


@pytest.mark.parametrize("key", [None, "nul-1"])
def test_a_null_character_in_a_batch_row_field_name_refuses_the_batch(api_client, merchant, key):
    rows = [_purchase(external_id="ORD-GOOD"), {**_purchase(external_id="ORD-BAD"), "no\u0000te": "x"}]
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}

    response = api_client.post(
        "/api/v1/purchases/batch", json.dumps({"purchases": rows}), content_type="application/json", **headers
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "null_character"
    assert error["fields"] == {"purchases.1.no\\u0000te": ["A field name may not contain a null character (\\u0000)."]}
    assert not Purchase.objects.for_merchant(merchant).exists()


def test_a_null_character_in_a_field_name_is_a_400_on_a_single_write(api_client):
    body = json.dumps({**_purchase(), "line_items": [{"name": "Tea", "unit_price_minor": 1, "\u0000": 1}]})

    response = api_client.post("/api/v1/purchases", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="n2")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "line_items.0.\\u0000": ["A field name may not contain a null character (\\u0000)."]
    }


class EchoApi(APIView):
    """A write whose answer quotes what the client sent, as an error in a batch row may."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @idempotent
    def post(self, request):
        return Response({"results": [{"error": {"fields": {request.data["name"]: ["Unknown field."]}}}]})


def test_a_response_quoting_a_null_character_is_stored_and_replayed(merchant):
    # jsonb holds no null character: the idempotency layer must still keep the first answer to replay it.
    def post(key):
        request = APIRequestFactory().post(
            "/api/v1/echo", {"name": "no\u0000te"}, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        request.merchant = merchant
        return EchoApi.as_view()(request)

    first, again = post("echo-1"), post("echo-1")

    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.data == first.data == {"results": [{"error": {"fields": {"no\u0000te": ["Unknown field."]}}}]}
