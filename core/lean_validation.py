"""A shorter road through DRF's field validation for well-formed JSON input.

DRF validates each field through several layers (get_value, run_validation,
validate_empty_values, to_internal_value, run_validators and each validator's own
checks). A 1,000-row purchase batch with its line items is some 20,000 field
validations, and those layers were more than half of the request.

`fast_converter(field)` compiles, once per bound field, one function that gives the
value DRF would give for the input a client normally sends: strings, whole numbers,
choices, booleans, nulls, absent optional fields, lists of nested objects. For anything
else (another type, a value some check refuses, a field kind it does not know) it
returns `SLOW`, and the caller runs DRF's own `run_validation`, which raises DRF's own
error. So the short road never refuses anything and never accepts what DRF would
refuse; tests/merchants/test_lean_validation.py runs both on random input and compares.

When DRF has to decide, it validates that value (a whole list, for a list item) again:
validators and validate() methods must therefore have no side effects, and a lookup that
fails (an unknown shopper id) is made twice.
"""

from collections.abc import Callable
from typing import Any, Final

from django.core import validators as django_validators
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers
from rest_framework import validators as drf_validators
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty


class _Slow:
    def __repr__(self) -> str:
        return "SLOW"


SLOW: Final = _Slow()
"""What a converter returns when DRF's own path has to decide."""

Converter = Callable[[Any], Any]
Check = Callable[[Any], bool]

_UNVALIDATED = type(drf_fields.DictField().child)  # DRF's pass-through child of a DictField()

# get_value implementations that, for a plain dict and no partial update, read dictionary.get(field_name, empty).
_PLAIN_GET_VALUE = (
    drf_fields.Field.get_value,
    drf_fields.ListField.get_value,
    drf_fields.DictField.get_value,
    serializers.Serializer.get_value,
    serializers.ListSerializer.get_value,
)


def fast_converter(field: drf_fields.Field) -> Converter | None:
    """A converter for `field`'s raw value in a plain dict (`empty` when absent), or None when it has none.

    The converter may raise SkipField, as DRF does, for an absent optional field without a default.
    """
    if field.read_only or getattr(field.root, "partial", False):
        return None
    if type(field).get_value not in _PLAIN_GET_VALUE:
        return None
    return _run_validation(field)


def _run_validation(field: drf_fields.Field) -> Converter | None:
    """What field.run_validation(raw) returns, for the input this module knows."""
    kind = type(field)
    if (
        field.source == "*"
        or kind.validate_empty_values is not drf_fields.Field.validate_empty_values
        or kind.run_validators is not drf_fields.Field.run_validators
        or kind.get_default is not drf_fields.Field.get_default
    ):
        return None  # a field that changes how DRF runs it decides for itself
    body = _body(field)
    if body is None:
        return None
    required, allow_null, get_default = field.required, field.allow_null, _default_getter(field)

    def convert(raw: Any) -> Any:
        if raw is empty:
            return SLOW if required else get_default()
        if raw is None:
            return None if allow_null else SLOW
        return body(raw)

    return convert


def _default_getter(field: drf_fields.Field) -> Callable[[], Any]:
    """field.get_default, without its per-call checks where the default is a plain value or a factory."""
    default = field.default
    if default is empty or getattr(default, "requires_context", False):
        return field.get_default  # raises SkipField, or asks the default with the field
    if callable(default):
        return default
    return lambda: default


def _body(field: drf_fields.Field) -> Converter | None:
    """The converter for a present, non-null value."""
    kind = type(field)
    if isinstance(field, serializers.ListSerializer):
        return _list_of_objects(field)
    if isinstance(field, serializers.BaseSerializer):
        return None  # a nested object: DRF calls its run_validation, which takes this road field by field
    checks = _checks(field)
    if kind.run_validation is drf_fields.CharField.run_validation:
        if kind.to_internal_value is drf_fields.CharField.to_internal_value:
            return _string(field, checks)
        return None
    if kind.run_validation is relations.RelatedField.run_validation:
        return _generic(field, checks, refuse_blank=True)  # RelatedField reads "" as null: DRF decides
    if kind.run_validation is not drf_fields.Field.run_validation:
        return None
    if kind.to_internal_value is drf_fields.IntegerField.to_internal_value:
        return _integer(checks)
    if kind.to_internal_value is drf_fields.ChoiceField.to_internal_value:
        return _choice(field, checks)
    if kind.to_internal_value is drf_fields.BooleanField.to_internal_value and not checks:
        return _boolean
    if kind.to_internal_value is drf_fields.ListField.to_internal_value:
        return _list(field, checks)
    if kind.to_internal_value is drf_fields.DictField.to_internal_value:
        return _dict(field, checks)
    return _generic(field, checks, refuse_blank=False)


def _string(field: drf_fields.CharField, checks: list[Check]) -> Converter:
    trim, allow_blank = field.trim_whitespace, field.allow_blank
    checks = _string_checks(field, checks)

    def convert(raw: Any) -> Any:
        if type(raw) is not str:
            return SLOW  # DRF turns numbers into strings; let it
        value = raw.strip() if trim else raw
        if not value:
            return "" if allow_blank else SLOW
        return _checked(value, checks)

    return convert


def _string_checks(field: drf_fields.CharField, checks: list[Check]) -> list[Check]:
    """Every CharField's own three (length, no NUL, no lone surrogate) as one check, and the rest as they are."""
    validators = field.validators
    standard = [
        validator
        for validator in validators
        if type(validator)
        in (
            django_validators.MaxLengthValidator,
            django_validators.ProhibitNullCharactersValidator,
            drf_validators.ProhibitSurrogateCharactersValidator,
        )
    ]
    lengths = [v.limit_value for v in standard if type(v) is django_validators.MaxLengthValidator]
    if len(standard) != 3 or len(lengths) != 1 or type(lengths[0]) is not int:
        return checks
    limit = lengths[0]

    def usual(value: str) -> bool:
        return len(value) <= limit and "\x00" not in value and (value.isascii() or _no_surrogates(value))

    folded = {id(validator) for validator in standard}
    return [usual] + [check for validator, check in zip(validators, checks, strict=True) if id(validator) not in folded]


def _integer(checks: list[Check]) -> Converter:
    def convert(raw: Any) -> Any:
        if type(raw) is not int:  # bool, float and numeric strings go DRF's way
            return SLOW
        return _checked(raw, checks)

    return convert


def _choice(field: drf_fields.ChoiceField, checks: list[Check]) -> Converter:
    def convert(raw: Any) -> Any:
        if type(raw) is not str:
            return SLOW
        if raw == "" and field.allow_blank:
            value = ""
        else:
            value = field.choice_strings_to_values.get(raw, SLOW)
            if value is SLOW:
                return SLOW
        return _checked(value, checks)

    return convert


def _checked(value: Any, checks: list[Check]) -> Any:
    """The value if every check lets it through, else SLOW."""
    for check in checks:
        if not check(value):
            return SLOW
    return value


def _boolean(raw: Any) -> Any:
    return raw if raw is True or raw is False else SLOW


def _generic(field: drf_fields.Field, checks: list[Check], *, refuse_blank: bool) -> Converter:
    """DRF's own to_internal_value, then the checks: it skips only run_validation's layers."""
    to_internal_value = field.to_internal_value

    def convert(raw: Any) -> Any:
        if refuse_blank and raw == "":
            return SLOW
        try:
            value = to_internal_value(raw)
        except (ValidationError, DjangoValidationError):
            return SLOW
        return _checked(value, checks)

    return convert


def _list(field: drf_fields.ListField, checks: list[Check]) -> Converter | None:
    if type(field).run_child_validation is not drf_fields.ListField.run_child_validation:
        return None
    item = _run_validation(field.child)
    if item is None:
        return None
    allow_empty = field.allow_empty

    def convert(raw: Any) -> Any:
        if type(raw) is not list or (not raw and not allow_empty):
            return SLOW
        values = []
        for element in raw:
            value = item(element)
            if value is SLOW:
                return SLOW
            values.append(value)
        return _checked(values, checks)

    return convert


def _dict(field: drf_fields.DictField, checks: list[Check]) -> Converter | None:
    if type(field).run_child_validation is not drf_fields.DictField.run_child_validation:
        return None
    allow_empty = field.allow_empty
    if type(field.child) is _UNVALIDATED and not field.child.validators and not checks:
        # DictField() with no child: DRF copies the dict, keys as strings (JSON's already are), values as they are.

        def copy(raw: Any) -> Any:
            if type(raw) is not dict or (not raw and not allow_empty):
                return SLOW
            return {str(key): value for key, value in raw.items()}

        return copy
    item = _run_validation(field.child)
    if item is None:
        return None

    def convert(raw: Any) -> Any:
        if type(raw) is not dict or (not raw and not allow_empty):
            return SLOW
        values = {}
        for key, element in raw.items():
            value = item(element)
            if value is SLOW:
                return SLOW
            values[str(key)] = value
        return _checked(values, checks)

    return convert


def _list_of_objects(field: serializers.ListSerializer) -> Converter | None:
    """many=True: each item through its serializer's run_validation (which takes this road too, field by field)."""
    if type(field) is not serializers.ListSerializer or field.validators:
        return None
    child = field.child
    if child is None:
        return None
    run_child = child.run_validation
    allow_empty = field.allow_empty
    low = field.min_length or 0
    high = field.max_length

    def convert(raw: Any) -> Any:
        if type(raw) is not list or (not raw and not allow_empty) or len(raw) < low:
            return SLOW
        if high is not None and len(raw) > high:
            return SLOW
        items = []
        for item in raw:
            if type(item) is not dict:
                return SLOW
            try:
                items.append(run_child(item))
            except (ValidationError, DjangoValidationError):
                return SLOW  # DRF runs the list again and reports the item's errors under its index
        return items

    return convert


def _checks(field: drf_fields.Field) -> list[Check]:
    """One predicate per validator of the field, True when the validator lets the value through."""
    checks = []
    for validator in field.validators:
        check = _known_check(validator)
        if check is None:
            check = _calling_check(validator, field)
        checks.append(check)
    return checks


def _known_check(validator: Any) -> Check | None:
    kind = type(validator)
    limit = getattr(validator, "limit_value", None)
    if kind is django_validators.MaxLengthValidator and type(limit) is int:
        return lambda value: len(value) <= limit
    if kind is django_validators.MinLengthValidator and type(limit) is int:
        return lambda value: len(value) >= limit
    if kind is django_validators.MaxValueValidator and type(limit) is int:
        return lambda value: value <= limit
    if kind is django_validators.MinValueValidator and type(limit) is int:
        return lambda value: value >= limit
    if kind is django_validators.ProhibitNullCharactersValidator:
        return lambda value: "\x00" not in str(value)
    if kind is drf_validators.ProhibitSurrogateCharactersValidator:
        return _no_surrogates
    if kind is django_validators.RegexValidator:
        search, inverse = validator.regex.search, validator.inverse_match
        return lambda value: (search(str(value)) is None) is inverse
    return None


def _no_surrogates(value: Any) -> bool:
    text = str(value)
    if text.isascii():
        return True
    try:
        text.encode("utf-8")  # fails on a lone surrogate, and on nothing else
    except UnicodeEncodeError:
        return False
    return True


def _calling_check(validator: Any, field: drf_fields.Field) -> Check:
    """A validator this module does not know: call it, as DRF's run_validators would."""
    with_context = getattr(validator, "requires_context", False)

    def check(value: Any) -> bool:
        try:
            if with_context:
                validator(value, field)
            else:
                validator(value)
        except (ValidationError, DjangoValidationError):
            return False
        return True

    return check
