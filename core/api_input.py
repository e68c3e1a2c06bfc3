"""Machine input (API bodies, webhooks): JSON decoded straight into msgspec structs.

An input shape is a `Body` subclass: a msgspec Struct that refuses fields it does not
know. `decode(body, Shape)` reads the request's bytes in one pass and turns msgspec's
first complaint into our error envelope, with the field as a dotted path
(`line_items.0.unit_price_minor`). The rules msgspec cannot state (an id that must
exist for this merchant, a blank or NUL-bearing string) are checked after decoding
with `FieldErrors`, still by path, and raised together.

Numbers are strict: an integer field takes a JSON integer, not "1500", not 1500.0 and
not true. A machine client gets the same answer every time instead of a guess.

Hostile bodies are refused here, for every endpoint alike: one nested too deeply to be read
(`too_deeply_nested`: any parser or walk over it would exhaust the stack) and one whose field
names hold a null character (`null_character`: PostgreSQL could store neither the name nor an
error quoting it). `document` reads a body as plain JSON for the layers that look at it before
its view (the idempotency hash), with the same refusals.

The same structs describe the request bodies in the OpenAPI document: `StructSchema`
hands drf-spectacular the JSON Schema msgspec derives from them, as OpenAPI 3.0.
"""

import re
from collections.abc import Iterable
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import msgspec.inspect
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_field
from drf_spectacular.settings import spectacular_settings
from rest_framework import serializers

from core.errors import ApplicationError


class Body(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every input shape: unknown fields are refused, never silently dropped."""


class LenientBody(msgspec.Struct):
    """Base of a payment provider's event shapes: fields we do not read are let through (providers add them
    without notice, and refusing one would lose a real purchase)."""


BodyT = TypeVar("BodyT", bound=msgspec.Struct)


class InputError(ApplicationError):
    """Input that does not fit its shape: a 400 whose `fields` name each wrong value by its path."""

    default_code = "invalid"


# No body this API takes nests more than a few levels; a body nested hundreds deep is an attack on the
# parser's stack, refused wherever it is met (msgspec, json, or a walk over the document).
TOO_DEEP = "too_deeply_nested"
TOO_DEEP_MESSAGE = "The JSON body is nested too deeply to be read; no request to this API nests more than a few levels."
NULL_CHARACTER = "null_character"
NULL_IN_NAME = "A field name may not contain a null character (\\u0000)."


def too_deeply_nested() -> ApplicationError:
    return ApplicationError(TOO_DEEP_MESSAGE, code=TOO_DEEP)


def document(body: bytes) -> Any:
    """`body` as plain JSON values (for the layers that read a body before its view does: the idempotency
    hash, the card-number scan); a 400 when it is not JSON or is nested too deeply to read."""
    try:
        return msgspec.json.decode(body)
    except RecursionError:
        raise too_deeply_nested() from None
    except msgspec.DecodeError as error:
        raise ApplicationError(f"The body is not valid JSON: {error}.", code="parse_error") from None


def visible(text: str) -> str:
    """`text` with its null characters written as the escape a client sent (`\\u0000`): an error that
    echoes a name or a value must stay storable (PostgreSQL's text and jsonb hold no NUL) and readable."""
    return text.replace("\x00", "\\u0000") if "\x00" in text else text


def _null_character_names(value: Any, path: str = "") -> list[str]:
    """Paths of the object keys holding a null character, at any depth (iteratively: the depth is the
    client's to choose)."""
    found = []
    pending = [(path, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                key_path = f"{where}.{key}" if where else key
                if "\x00" in key:
                    found.append(visible(key_path))
                pending.append((key_path, child))
        elif isinstance(item, list):
            pending.extend((f"{where}.{index}" if where else str(index), child) for index, child in enumerate(item))
    return sorted(found)


def choice(options: Iterable[tuple[str, Any]], *, blank: bool = False) -> Any:
    """A string field taking one of these (value, label) choices' values (and "" when `blank`).

    Described in OpenAPI exactly as DRF describes a ChoiceField, so it shares the enum components
    (`PurchaseChannelEnum`, …) the output serializers use.
    """
    field = serializers.ChoiceField(choices=list(options), allow_blank=blank)
    values = tuple(field.choices) + (("",) if blank else ())
    return Annotated[Literal[values], msgspec.Meta(extra_json_schema=build_choice_field(field))]


# Errors


REQUIRED = "This field is required."
UNKNOWN = "Unknown field."

_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_JSON_KINDS = {
    "int": "a whole number",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "null": "null",
    "object": "an object",
    "array": "an array",
    "datetime": "a date and time (ISO 8601)",
    "date": "a date (YYYY-MM-DD)",
    "uuid": "an id (a UUID)",
}
_REWORDED = (
    (re.compile(r"^Object missing required field `(?P<field>[^`]+)`$"), lambda m: REQUIRED),
    (re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$"), lambda m: UNKNOWN),
    (
        re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$"),
        lambda m: f"Expected {_kind(m['want'])}, got {_kind(m['got'])}.",
    ),
    (re.compile(r"^Expected `int` >= (?P<n>-?\d+)$"), lambda m: f"Must be at least {m['n']}."),
    (re.compile(r"^Expected `int` <= (?P<n>-?\d+)$"), lambda m: f"Must be at most {m['n']}."),
    (re.compile(r"^Expected `str` of length <= (?P<n>\d+)$"), lambda m: f"At most {m['n']} characters."),
    (re.compile(r"^Expected `str` of length >= (?P<n>\d+)$"), lambda m: f"At least {m['n']} characters."),
    (re.compile(r"^Expected `array` of length <= (?P<n>\d+)$"), lambda m: f"At most {m['n']} items."),
    (re.compile(r"^Expected `array` of length >= (?P<n>\d+)$"), lambda m: f"At least {m['n']} item(s)."),
    (re.compile(r"^Expected `str` matching regex '(?P<regex>.*)'$"), lambda m: f"Must match {m['regex']}."),
    (re.compile(r"^Invalid enum value (?P<value>.*)$"), lambda m: f"{m['value']} is not one of the allowed values."),
    (
        re.compile(r"^Expected `datetime` with a timezone component$"),
        lambda m: "Give the time zone offset, e.g. 2026-11-23T10:15:00Z or …+01:00.",
    ),
    (
        re.compile(r"^Invalid RFC3339 encoded datetime$"),
        lambda m: "Expected a date and time in ISO 8601, e.g. 2026-11-23T10:15:00Z.",
    ),
    (re.compile(r"^Invalid RFC3339 encoded date$"), lambda m: "Expected a date, e.g. 2026-11-23."),
    (re.compile(r"^Invalid UUID$"), lambda m: "Expected an id (a UUID)."),
)


def _kind(name: str) -> str:
    return _JSON_KINDS.get(name, f"`{name}`")


def error_path(located: str) -> str:
    """msgspec's `$.line_items[0].unit_price_minor` (without the `$`) as `line_items.0.unit_price_minor`."""
    return ".".join(key or index for key, index in _STEP.findall(located))


def from_validation_error(error: msgspec.ValidationError) -> InputError:
    """Our 400 for msgspec's complaint: a message a person can act on, under the path of the value."""
    raw_message, _, located = visible(str(error)).partition(" - at `$")
    path = error_path(located.removesuffix("`"))
    message = raw_message
    for pattern, reword in _REWORDED:
        found = pattern.match(raw_message)
        if found is not None:
            message = reword(found)
            if "field" in found.groupdict():  # a missing or unknown field: the path names the field itself
                path = f"{path}.{found['field']}" if path else found["field"]
            break
    if not path:
        return InputError(message)
    return InputError(f"{path}: {message}", fields={path: [message]})


@cache
def _decoder(shape: type[BodyT]) -> "msgspec.json.Decoder[BodyT]":
    return msgspec.json.Decoder(shape)


def decode(body: bytes | msgspec.Raw, shape: type[BodyT]) -> BodyT:
    """`body` (JSON bytes) as a `shape`, or an InputError (400) saying what is wrong and where.

    An empty body reads as `{}`, so a shape whose fields all have defaults accepts it. A field name holding
    a null character refuses the whole body (`null_character`), whatever part of it is read as raw JSON
    to be decoded later: such a name is no typing slip, and nothing could store it.
    """
    if isinstance(body, bytes) and b"\\u0000" in body:
        _refuse_null_character_names(body)
    try:
        return _decoder(shape).decode(body or b"{}")
    except msgspec.ValidationError as error:
        raise from_validation_error(error) from None
    except msgspec.DecodeError as error:
        raise ApplicationError(f"The body is not valid JSON: {error}.", code="parse_error") from None
    except RecursionError:
        raise too_deeply_nested() from None


def _refuse_null_character_names(body: bytes) -> None:
    try:
        paths = _null_character_names(document(body))
    except ApplicationError:
        return  # not JSON, or too deep: decoding says so in its own words
    if paths:
        message = f"{paths[0]}: {NULL_IN_NAME}" if len(paths) == 1 else "Some field names hold a null character."
        raise InputError(message, code=NULL_CHARACTER, fields={path: [NULL_IN_NAME] for path in paths})


class FieldErrors:
    """Checks after decoding, collected by field path and raised as one InputError.

    The code is `not_found` when every complaint is an id this merchant does not have, else `invalid`.
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.fields: dict[str, list[str]] = {}
        self.codes: set[str] = set()

    def add(self, path: str, message: str, *, code: str = "invalid") -> None:
        self.fields.setdefault(f"{self.prefix}{path}", []).append(message)
        self.codes.add(code)

    def text(self, path: str, value: str, *, required: bool = True) -> str:
        """`value` with its surrounding whitespace trimmed; blank refused when required, NUL always."""
        value = value.strip()
        if "\x00" in value:
            self.add(path, "Null characters are not allowed.")
        elif required and not value:
            self.add(path, "This field may not be blank.")
        return value

    def raise_if_any(self) -> None:
        if not self.fields:
            return
        code = "not_found" if self.codes == {"not_found"} else "invalid"
        messages = [f"{path}: {message}" for path, messages in self.fields.items() for message in messages]
        message = messages[0] if len(messages) == 1 else "The request has invalid fields; see `fields`."
        raise InputError(message, code=code, fields=self.fields)


# OpenAPI


def _openapi_3_0(schema: Any) -> Any:
    """JSON Schema as msgspec writes it (2020-12), in OpenAPI 3.0's dialect: `nullable` instead of a null type,
    no empty `required` list."""
    if isinstance(schema, list):
        return [_openapi_3_0(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _openapi_3_0(value) for key, value in schema.items()}
    if schema.get("required") == []:
        del schema["required"]  # 3.0 wants at least one name, or no list
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del schema["anyOf"]
        if len(rest) == 1 and "$ref" in rest[0]:
            schema.update({"allOf": rest, "nullable": True})
        elif len(rest) == 1:
            schema.update({**rest[0], "nullable": True})
        else:
            schema.update({"anyOf": rest, "nullable": True})
    return schema


def openapi_components(shape: type[msgspec.Struct], suffix: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """(`shape`'s own schema, the schemas of the structs it holds by name), for OpenAPI 3.0.

    Component names are the struct names plus `suffix`.
    """
    (_ref,), components = msgspec.json.schema_components([shape], ref_template="#/components/schemas/{name}" + suffix)
    own = components.pop(shape.__name__)
    return _openapi_3_0(own), {f"{name}{suffix}": _openapi_3_0(schema) for name, schema in components.items()}


class StructSchema(OpenApiSerializerExtension):
    """Lets `extend_schema(request=SomeBody)` describe a msgspec struct, nested structs as components."""

    target_class = msgspec.Struct
    match_subclasses = True

    def get_name(self, auto_schema: Any, direction: str) -> str:
        return self.target.__name__

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        suffix = "Request" if direction == "request" and spectacular_settings.COMPONENT_SPLIT_REQUEST else ""
        own, nested = openapi_components(self.target, suffix)
        structs = _structs_within(self.target)
        for name, schema in nested.items():
            # The struct itself is the component's identity, as it is when an endpoint names it directly.
            shape = structs[name.removesuffix(suffix)] if suffix else structs[name]
            auto_schema.registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=shape, schema=schema)
            )
        return own


def _structs_within(shape: type[msgspec.Struct]) -> dict[str, type]:
    """Every struct `shape` holds, at any depth, by name (the names msgspec gives their schemas)."""
    found: dict[str, type] = {}

    def visit(info: Any) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls.__name__ in found:
                return
            found[info.cls.__name__] = info.cls
        for name in getattr(info, "__struct_fields__", ()):
            value = getattr(info, name)
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, msgspec.inspect.Type | msgspec.inspect.Field):
                    visit(item)

    visit(msgspec.inspect.type_info(shape))
    return found
