"""The OpenAPI document and the error bodies agree: `fields` is one flat object of dotted paths to lists
of strings, at every depth; a value of another JSON type than the document gives is refused."""

import json
import uuid

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from core.errors import api_exception_handler
from core.serializers import StrictInputSerializer

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document():
    """The OpenAPI document as /api/schema/ serves it (built once: it takes a while)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


def _error_schema(document):
    """The Error component, with its references resolved against the document."""
    return {**document["components"]["schemas"]["Error"], "components": document["components"]}


def _assert_matches_error_schema(document, body):
    jsonschema.validate(body, _error_schema(document), format_checker=None)
    assert all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in body["error"]["fields"].values()
    )


def test_the_document_says_fields_are_lists_of_strings_by_path(document):
    fields = document["components"]["schemas"]["ErrorDetail"]["properties"]["fields"]

    assert fields["type"] == "object"
    assert fields["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert "dotted path" in fields["description"]


def test_every_error_response_in_the_document_names_the_error_body(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if status.startswith(("4", "5")) and "content" in response:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_nested_field_errors_are_shown_under_dotted_paths():
    detail = {
        "line_items": [{}, {"name": ["This field may not be blank."], "unit_price_minor": ["Too big."]}],
        "card": {"id": ["Expected a string."], "non_field_errors": ["Give the card's id."]},
        "note": ["Unknown field."],
    }

    response = api_exception_handler(ValidationError(detail), {})

    assert response.data["error"]["fields"] == {
        "line_items.1.name": ["This field may not be blank."],
        "line_items.1.unit_price_minor": ["Too big."],
        "card.id": ["Expected a string."],
        "card": ["Give the card's id."],
        "note": ["Unknown field."],
    }


@pytest.mark.parametrize(
    ("route", "body", "path", "message"),
    [
        (
            "/api/v1/cards",
            {"card": {"id": 5, "last_four": "1111"}, "shopper": {"first_name": "Ana"}},
            "card.id",
            "Expected a string, got a whole number.",
        ),
        (
            "/api/v1/shoppers",
            {"first_name": "Ana", "card": {"id": 5, "last_four": "1111"}},
            "card.id",
            "Expected a string, got a whole number.",
        ),
        (
            "/api/v1/shoppers",
            {
                "first_name": "Ana",
                "consents": [{"channel": "email", "purpose": "marketing", "granted": True, "wording_version": 0}],
            },
            "consents.0.wording_version",
            "Expected a string, got a whole number.",
        ),
        (
            "/api/v1/purchases",
            {
                "external_id": 1001,
                "amount_minor": 1,
                "currency": "EUR",
                "channel": "online",
                "occurred_at": "2026-11-23T10:15:00Z",
            },
            "external_id",
            "Expected a string, got a whole number.",
        ),
        (
            "/api/v1/loyalty/redemptions",
            {"shopper_id": str(uuid.uuid4()), "reward_id": str(uuid.uuid4()), "order_reference": 5},
            "order_reference",
            "Expected a string, got a whole number.",
        ),
        (
            "/api/v1/loyalty/redemptions",
            {"shopper_id": 5, "reward_id": str(uuid.uuid4())},
            "shopper_id",
            "Expected a string, got a whole number.",
        ),
        (
            "/api/v1/coupons/WELCOME10/redeem",
            {"purchase_id": 12},
            "purchase_id",
            "Expected a string, got a whole number.",
        ),
    ],
)
def test_an_integer_where_the_document_says_string_is_refused(api_client, document, route, body, path, message):
    response = api_client.post(route, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))

    assert response.status_code == 400
    assert response.json()["error"]["fields"][path] == [message]
    _assert_matches_error_schema(document, response.json())


def test_the_document_gives_those_fields_as_strings(document):
    schemas = document["components"]["schemas"]

    assert schemas["CardInputRequest"]["properties"]["id"]["type"] == "string"
    assert schemas["ConsentInputRequest"]["properties"]["wording_version"]["type"] == "string"
    assert schemas["RedeemInputRequest"]["properties"]["order_reference"]["type"] == "string"


class _Strict(StrictInputSerializer):
    name = serializers.CharField()
    count = serializers.IntegerField(required=False)
    active = serializers.BooleanField(required=False)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": 5}, {"name": ["Expected a string, got a whole number."]}),
        ({"name": "a", "count": "5"}, {"count": ["Expected a whole number, got a string."]}),
        ({"name": "a", "count": 5.0}, {"count": ["Expected a whole number, got a number."]}),
        ({"name": "a", "count": True}, {"count": ["Expected a whole number, got true or false."]}),
        ({"name": "a", "active": "true"}, {"active": ["Expected true or false, got a string."]}),
        ({"name": "a", "active": 1}, {"active": ["Expected true or false, got a whole number."]}),
    ],
)
def test_strict_input_serializers_take_only_the_json_type_they_describe(data, errors):
    serializer = _Strict(data=data)

    assert not serializer.is_valid()
    assert serializer.errors == errors


def test_batch_row_errors_are_described_as_the_error_detail(document):
    row = document["components"]["schemas"]["BatchRowOutput"]["properties"]["error"]

    assert "ErrorDetail" in str(row)


def test_every_operation_lists_the_errors_the_plumbing_gives_before_any_view(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            expected = {"400", "503"} | ({"413", "415"} if method == "post" else set())
            assert expected <= operation["responses"].keys(), (method, path)


def test_a_card_number_in_the_query_of_a_read_is_an_answer_the_document_gives(api_client, document):
    response = api_client.get("/api/v1/me", {"note": "4156 2723 5837 9096"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "card_number_rejected"
    assert "400" in document["paths"]["/api/v1/me"]["get"]["responses"]
    _assert_matches_error_schema(document, response.json())
