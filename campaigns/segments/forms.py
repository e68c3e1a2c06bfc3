"""The segment builder's form: a name, "match all/any", and rows of conditions.

Each condition row posts its inputs under a prefix (`c3-field`, `c3-op`, `c3-values`, …); the
indices present are listed in `row`. `rules_from_data` turns the rows into the JSON rule format
as typed (amounts converted to minor units) and leaves judging them to `compiler.rules_check`,
so a page and any other caller get the same field-level errors.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.http import QueryDict

from campaigns.segments import compiler, selectors
from campaigns.segments.compiler import FIELDS, PREFERENCE_KINDS, Field
from core.forms import GuardedForm
from core.templatetags.money import minor_digits
from merchants.models import Merchant
from profiles.models import ConsentChannel

DEFAULT_FIELD = "lifecycle_stage"


class SegmentForm(GuardedForm):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    match = forms.ChoiceField(choices=compiler.MATCH_CHOICES, initial="all")


def _number(text: str) -> Any:
    text = (text or "").strip()
    return int(text) if text.lstrip("-").isdigit() else text


def _amount_minor(text: str, currency: str) -> Any:
    """ "12.50" EUR → 1250; what is not an amount is passed on as typed, for the checks to name."""
    text = (text or "").strip().replace(",", "")
    try:
        minor = Decimal(text).scaleb(minor_digits(currency))
    except InvalidOperation:
        return text
    return int(minor) if minor == minor.to_integral_value() else text


def _amount_text(minor: Any, currency: str) -> str:
    if not isinstance(minor, int):
        return str(minor or "")
    return format(Decimal(minor).scaleb(-minor_digits(currency)).normalize(), "f")


def row_indices(data: QueryDict) -> list[int]:
    indices = []
    for value in data.getlist("row"):
        if value.isdigit() and int(value) not in indices:
            indices.append(int(value))
    return indices[: compiler.MAX_CONDITIONS + 1]


def condition_from_data(data: QueryDict, index: int, currency: str) -> dict[str, Any]:
    """One row's inputs as a condition {field, op, value}, as typed."""

    def get(name: str) -> str:
        return (data.get(f"c{index}-{name}") or "").strip()

    field_key = get("field")
    spec = FIELDS.get(field_key)
    value: Any = None
    if spec is not None:
        kind = spec.kind
        if kind == compiler.CHOICES:
            value = data.getlist(f"c{index}-values")
        elif kind == compiler.NUMBER:
            value = _number(get("number"))
        elif kind == compiler.MONEY:
            value = _amount_minor(get("amount"), currency)
        elif kind == compiler.CATEGORY_SPEND:
            value = {
                "category": get("category"),
                "amount_minor": _amount_minor(get("amount"), currency),
                "days": _number(get("days")) or None,
            }
        elif kind == compiler.STORE_VISIT:
            value = {"store": _number(get("store")), "days": _number(get("days")) or None}
        elif kind == compiler.VISIT_COUNT:
            value = {"count": _number(get("number")), "days": _number(get("days")) or None}
        elif kind == compiler.PREFERENCE:
            value = {"kind": get("kind"), "value": get("text")}
        elif kind == compiler.CHANNEL:
            value = get("channel")
    return {"field": field_key, "op": get("op"), "value": value}


def rules_from_data(data: QueryDict, *, currency: str) -> dict[str, Any]:
    return {
        "match": data.get("match") or "all",
        "conditions": [condition_from_data(data, index, currency) for index in row_indices(data)],
    }


@dataclass
class ConditionRow:
    """What the builder shows for one condition: its inputs filled in, its choices, its error."""

    index: int
    spec: Field
    op: str
    values: list[str] = field(default_factory=list)
    number: str = ""
    amount: str = ""
    category: str = ""
    days: str = ""
    store: str = ""
    kind: str = ""
    text: str = ""
    channel: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    # Values to offer as the text is typed (categories sold lately).
    suggestions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def condition_rows(
    *, merchant: Merchant, rules: dict[str, Any], errors: dict[str, list[str]] | None = None
) -> list[ConditionRow]:
    """The rules' conditions as builder rows (numbered 0, 1, …), each with its error if any."""
    errors = errors or {}
    rows = []
    stores: list[tuple[str, str]] | None = None
    categories: list[str] | None = None
    for index, condition in enumerate(rules.get("conditions", [])):
        spec = FIELDS.get(condition.get("field")) or FIELDS[DEFAULT_FIELD]
        value = condition.get("value")
        row = ConditionRow(index=index, spec=spec, op=condition.get("op") or spec.ops[0][0])
        row.errors = list(errors.get(f"conditions.{index}", []))
        value_dict = value if isinstance(value, dict) else {}
        if spec.kind == compiler.CHOICES:
            row.choices = spec.choices(merchant) if spec.choices else []
            row.values = [str(item) for item in value] if isinstance(value, list) else []
        elif spec.kind == compiler.NUMBER:
            row.number = _text(value)
        elif spec.kind == compiler.MONEY:
            row.amount = _amount_text(value, merchant.currency)
        elif spec.kind == compiler.CATEGORY_SPEND:
            categories = categories if categories is not None else selectors.category_suggestions(merchant=merchant)
            row.suggestions = categories
            row.category = _text(value_dict.get("category"))
            row.amount = _amount_text(value_dict.get("amount_minor"), merchant.currency)
            row.days = _text(value_dict.get("days"))
        elif spec.kind == compiler.STORE_VISIT:
            stores = stores if stores is not None else compiler.store_choices(merchant)
            row.choices = stores
            row.store = _text(value_dict.get("store"))
            row.days = _text(value_dict.get("days"))
        elif spec.kind == compiler.VISIT_COUNT:
            row.number = _text(value_dict.get("count"))
            row.days = _text(value_dict.get("days"))
        elif spec.kind == compiler.PREFERENCE:
            row.choices = list(PREFERENCE_KINDS)
            row.kind = _text(value_dict.get("kind"))
            row.text = _text(value_dict.get("value"))
        elif spec.kind == compiler.CHANNEL:
            row.choices = list(ConsentChannel.choices)
            row.channel = _text(value)
        rows.append(row)
    return rows


def field_groups() -> list[tuple[str, list[Field]]]:
    """The fields for the builder's select, grouped as the optgroups show them."""
    groups: dict[str, list[Field]] = {}
    for spec in FIELDS.values():
        groups.setdefault(spec.group, []).append(spec)
    return list(groups.items())
