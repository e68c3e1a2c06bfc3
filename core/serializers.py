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
    """A plain DRF input serializer that refuses fields it does not know, instead of silently ignoring them.

    For the few endpoints off the ingest path; ingest bodies are msgspec structs (core.api_input).
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = data.keys() - self.fields.keys()
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return super().to_internal_value(data)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: invalid, not_found, missing_scope, …")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per field (dotted for nested ones), the messages about it.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
