"""The input layer: bodies decoded into structs, msgspec's complaints as our envelope, structs as OpenAPI."""

import hashlib
import json
from typing import Annotated

import msgspec
import pytest

from core.api_input import Body, FieldErrors, InputError, decode, error_path, openapi_components
from core.errors import ApplicationError


class Leaf(Body):
    price_minor: Annotated[int, msgspec.Meta(ge=0)]
    label: str = ""


class Branch(Body):
    leaves: list[Leaf] = []
    note: str | None = None


class Root(Body):
    """A tree."""

    name: str
    branches: list[Branch] = []
    main: Branch | None = None


def _error(body: bytes) -> InputError:
    with pytest.raises(InputError) as raised:
        decode(body, Root)
    return raised.value


@pytest.mark.parametrize(
    ("located", "path"),
    [("", ""), (".name", "name"), (".line_items[0].unit_price_minor", "line_items.0.unit_price_minor"), ("[3]", "3")],
)
def test_msgspec_locations_read_as_dotted_paths(located, path):
    assert error_path(located) == path


def test_a_deeply_nested_bad_value_is_reported_at_its_path():
    body = {"name": "t", "branches": [{}, {"leaves": [{"price_minor": 1}, {"price_minor": "12"}]}]}

    error = _error(json.dumps(body).encode())

    assert error.code == "invalid" and error.status_code == 400
    assert error.fields == {"branches.1.leaves.1.price_minor": ["Expected a whole number, got a string."]}
    assert error.message == "branches.1.leaves.1.price_minor: Expected a whole number, got a string."


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "t", "colour": "red"}, "colour"),
        ({"name": "t", "main": {"colour": "red"}}, "main.colour"),
        ({"name": "t", "branches": [{"colour": "red"}]}, "branches.0.colour"),
        ({"name": "t", "branches": [{"leaves": [{"price_minor": 1, "colour": "red"}]}]}, "branches.0.leaves.0.colour"),
    ],
)
def test_unknown_fields_are_refused_at_every_level(body, path):
    assert _error(json.dumps(body).encode()).fields == {path: ["Unknown field."]}


def test_a_missing_field_is_named_by_its_own_path():
    error = _error(b'{"name": "t", "main": {"leaves": [{"label": "x"}]}}')

    assert error.fields == {"main.leaves.0.price_minor": ["This field is required."]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"1500"', "Expected a whole number, got a string."),
        ("true", "Expected a whole number, got true or false."),
        ("15.0", "Expected a whole number, got a number."),
        ("-1", "Must be at least 0."),
    ],
)
def test_numbers_are_strict(value, message):
    """A machine API gets one answer: "1500", 15.0 and true are not whole numbers (DRF converted the first two)."""
    error = _error(f'{{"name": "t", "main": {{"leaves": [{{"price_minor": {value}}}]}}}}'.encode())

    assert error.fields == {"main.leaves.0.price_minor": [message]}


def test_a_body_that_is_not_an_object_has_no_field():
    error = _error(b"[1, 2]")

    assert (error.code, error.fields) == ("invalid", {})
    assert "object" in error.message


def test_malformed_json_is_a_parse_error():
    with pytest.raises(ApplicationError) as raised:
        decode(b'{"name": ', Root)

    assert raised.value.code == "parse_error" and raised.value.status_code == 400


def test_an_empty_body_reads_as_an_empty_object():
    class Optional(Body):
        amount_minor: int | None = None

    assert decode(b"", Optional) == Optional()


def test_field_errors_collect_by_path_and_say_not_found_only_when_every_complaint_is_an_unknown_id():
    errors = FieldErrors(prefix="rows.")
    assert errors.text("name", "  Socks \n") == "Socks"
    errors.raise_if_any()  # nothing yet

    errors.add("store", "No store with id 9.", code="not_found")
    with pytest.raises(InputError) as only_ids:
        errors.raise_if_any()
    assert only_ids.value.code == "not_found" and only_ids.value.fields == {"rows.store": ["No store with id 9."]}

    errors.text("name", "   ")
    errors.text("sku", "a\x00b", required=False)
    with pytest.raises(InputError) as mixed:
        errors.raise_if_any()
    assert mixed.value.code == "invalid"
    assert mixed.value.fields == {
        "rows.store": ["No store with id 9."],
        "rows.name": ["This field may not be blank."],
        "rows.sku": ["Null characters are not allowed."],
    }


def test_structs_are_described_in_openapi_3_0():
    own, nested = openapi_components(Root, "Request")

    assert own["required"] == ["name"] and own["additionalProperties"] is False
    assert own["description"] == "A tree."
    assert own["properties"]["main"] == {
        "allOf": [{"$ref": "#/components/schemas/BranchRequest"}],
        "nullable": True,
        "default": None,
    }
    assert set(nested) == {"BranchRequest", "LeafRequest"}
    assert nested["BranchRequest"]["properties"]["note"] == {"type": "string", "nullable": True, "default": None}
    assert "required" not in nested["BranchRequest"]  # OpenAPI 3.0 refuses an empty list
    assert nested["LeafRequest"]["properties"]["price_minor"] == {"type": "integer", "minimum": 0}


def test_the_idempotency_hash_is_the_one_stored_before():
    """Stored keys still match after the change: the canonical body is the one json.dumps wrote from DRF's parse."""
    from core.idempotency import _request_hash

    raw = '{"b": [1, 2.5, "é", null, true], "a": {"z": 1, "y": "x"}}'.encode()

    class Request:
        method, path, body = "POST", "/api/v1/purchases", raw

    before = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), default=str)
    expected = hashlib.sha256(f"POST /api/v1/purchases\n{before}".encode()).hexdigest()
    assert _request_hash(Request()) == expected  # type: ignore[arg-type]
