import copy
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import SkipField, get_error_detail

from merchants.models import Merchant, Store


class StoreOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = [
            "id",
            "name",
            "address",
            "region",
            "timezone",
            "latitude",
            "longitude",
            "geofence_radius_m",
            "network_location_ids",
            "is_active",
        ]


class MerchantOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Merchant
        fields = ["slug", "name", "currency", "timezone", "default_language"]


class WhoAmIOutputSerializer(serializers.Serializer):
    merchant = MerchantOutputSerializer()
    key_name = serializers.CharField()
    key_prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())


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
    """An input serializer that refuses fields it does not know, instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return super().to_internal_value(data)  # DRF's own "expected a dictionary" error
        fields = self.fields
        unknown = sorted(data.keys() - fields.keys())
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        # DRF's Serializer.to_internal_value, with the per-call lookups (writable fields, validate_<name>
        # methods) done once per instance: a batch runs this for 1,000 rows and their line items.
        plan = self.__dict__.get("_input_plan")
        if plan is None:
            plan = self.__dict__["_input_plan"] = [
                (field, getattr(self, f"validate_{field.field_name}", None), field.source_attrs)
                for field in fields.values()
                if not field.read_only
            ]
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for field, validate_method, source_attrs in plan:
            try:
                value = field.run_validation(field.get_value(data))
                if validate_method is not None:
                    value = validate_method(value)
            except serializers.ValidationError as error:
                errors[field.field_name] = error.detail
            except DjangoValidationError as error:
                errors[field.field_name] = get_error_detail(error)
            except SkipField:
                pass
            else:
                self.set_value(values, source_attrs, value)
        if errors:
            raise serializers.ValidationError(errors)
        return values


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 moment with its offset (…Z or …+02:00): a local time without one is ambiguous."""

    default_error_messages = {"naive": "Give the time zone offset, e.g. 2026-11-23T10:15:00Z or …+01:00."}

    def to_internal_value(self, value: Any) -> Any:
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
