"""API plumbing every app's endpoints share: strict input serializers, aware times, the error body."""

import copy
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.settings import api_settings

from core.lean_validation import SLOW, fast_converter


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


class StrictInputSerializer(LeanFieldCopies, serializers.Serializer):
    """An input serializer that refuses fields it does not know, instead of silently ignoring them.

    It validates as DRF does, through a shorter road for well-formed JSON (core.lean_validation).
    """

    def run_validation(self, data: Any = empty) -> Any:
        # DRF's Serializer.run_validation does nothing more than to_internal_value for a dict when the
        # serializer has no validators and no validate() of its own: the case of every nested line item.
        if type(data) is dict and not self.read_only and self._validates_fields_only:
            return self.to_internal_value(data)
        return super().run_validation(data)

    @cached_property
    def _validates_fields_only(self) -> bool:
        return not self.validators and type(self).validate is serializers.Serializer.validate

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return super().to_internal_value(data)  # DRF's own "expected a dictionary" error
        # DRF's Serializer.to_internal_value, with the per-call lookups (writable fields, validate_<name>
        # methods, the short road of each field) done once per instance: a batch runs this for 1,000 rows
        # and their line items.
        known, steps = self._input_plan
        unknown = data.keys() - known
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        plain = type(data) is dict  # a QueryDict (a form) takes DRF's road, which reads its lists
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, field, fast, validate_method, key, source_attrs in steps:
            try:
                value = fast(data.get(name, empty)) if plain and fast is not None else SLOW
                if value is SLOW:
                    value = field.run_validation(field.get_value(data))
                if validate_method is not None:
                    value = validate_method(value)
            except serializers.ValidationError as error:
                errors[name] = error.detail
            except DjangoValidationError as error:
                errors[name] = get_error_detail(error)
            except SkipField:
                pass
            else:
                if key is not None:
                    values[key] = value
                else:
                    self.set_value(values, source_attrs, value)
        if errors:
            raise serializers.ValidationError(errors)
        return values

    @cached_property
    def _input_plan(self) -> tuple[frozenset[str], list[tuple[Any, ...]]]:
        fields = self.fields
        steps = [
            (
                field.field_name,
                field,
                fast_converter(field),
                getattr(self, f"validate_{field.field_name}", None),
                field.source_attrs[0] if len(field.source_attrs) == 1 else None,
                field.source_attrs,
            )
            for field in fields.values()
            if not field.read_only
        ]
        return frozenset(fields.keys()), steps


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 moment with its offset (…Z or …+02:00): a local time without one is ambiguous."""

    default_error_messages = {"naive": "Give the time zone offset, e.g. 2026-11-23T10:15:00Z or …+01:00."}

    def __init__(self, **kwargs: Any) -> None:
        # The moment comes out in UTC, the zone every request runs in (settings.TIME_ZONE; nothing activates
        # another). Named here, DRF need not look the current zone up for each value: a context-local read
        # that was a tenth of a batch's validation.
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)
        formats = getattr(self, "input_formats", api_settings.DATETIME_INPUT_FORMATS)
        self.iso_first = bool(formats) and formats[0].lower() == ISO_8601

    def to_internal_value(self, value: Any) -> Any:
        # What DRF does first for an ISO 8601 string (Django's parse_datetime starts with fromisoformat),
        # taken directly when the string carries its offset: a batch parses a thousand of them.
        if type(value) is str and self.iso_first:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return self.enforce_timezone(parsed)
        parsed = super().to_internal_value(value)
        if isinstance(value, str) and not any(mark in value[10:] for mark in ("Z", "z", "+", "-")):
            self.fail("naive")
        return parsed


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: invalid, not_found, missing_scope, …")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per field (dotted for nested ones), the messages about it.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
