"""API plumbing every app's endpoints share: lean output fields, strict input serializers, the error body."""

import copy
from typing import Any

from rest_framework import serializers


class LeanFieldCopies:
    """Cheaper per-instance fields for serializers on the ingest hot path.

    DRF deep-copies every declared field for each serializer instance, and a field's
    __deepcopy__ runs its __init__ again: about half a millisecond a request. A shallow copy
    of the unbound class-level field serves as well, since binding only sets attributes on
    the copy. Fields that hold other fields (nested serializers, list and dict fields,
    many-related fields) are still deep-copied, so their children bind to the copy.
    """

    _declared_fields: dict[str, serializers.Field]

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: copy.deepcopy(field) if _holds_fields(field) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


def _holds_fields(field: serializers.Field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation")


class StrictInputSerializer(serializers.Serializer):
    """A plain DRF input serializer that refuses fields it does not know, instead of silently ignoring them,
    and values of another JSON type than the OpenAPI document gives (DRF would take 5 for a string field
    and "5" for a number): the same strict types as the ingest bodies, with the same messages.

    For the few endpoints off the ingest path; ingest bodies are msgspec structs (core.api_input).
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors = {name: ["Unknown field."] for name in sorted(data.keys() - self.fields.keys())}
            for name, field in self.fields.items():
                if name in data and not field.read_only:
                    wrong = _type_error(field, data[name])
                    if wrong:
                        errors[name] = [wrong]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


_JSON_KINDS = (
    (bool, "true or false"),
    (int, "a whole number"),
    (float, "a number"),
    (str, "a string"),
    (dict, "an object"),
    (list, "an array"),
)
# What each kind of field is in the OpenAPI document, by the JSON value it takes.
_STRING_FIELDS = (
    serializers.CharField,
    serializers.UUIDField,
    serializers.ChoiceField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.SlugRelatedField,
)


def _kind(value: Any) -> str:
    return next((name for kind, name in _JSON_KINDS if isinstance(value, kind)), "null")


def _type_error(field: serializers.Field, value: Any) -> str | None:
    """ "Expected a string, got a whole number." when `value` is not of the JSON type `field` takes."""
    if value is None:
        return None  # the field's own allow_null decides
    if isinstance(field, serializers.BooleanField):
        wanted = "true or false"
    elif isinstance(field, serializers.IntegerField):
        wanted = "a whole number"
    elif isinstance(field, _STRING_FIELDS):
        wanted = "a string"
    else:
        return None
    got = _kind(value)
    return None if got == wanted else f"Expected {wanted}, got {got}."


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: invalid, not_found, missing_scope, …")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    # The body's own key: DRF moves a declared field off the class, so Serializer.fields still works.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text=(
            "Per field, the messages about it; a nested field by its dotted path (`line_items.0.unit_price_minor`, "
            "`card.id`), a header as `headers.<Name>`. Always a flat object of lists of strings; empty when the "
            "error concerns no one field."
        ),
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
