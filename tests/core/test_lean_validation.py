"""The short road through validation (core.lean_validation) against DRF's own, on random input.

Every input serializer of the API takes the short road for well-formed JSON. Here each one
validates the same random bodies twice, once as it does in production and once with the
short road switched off (DRF field by field), and both must give the same value or the
same errors, codes included.
"""

import uuid
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

import core.serializers as merchant_serializers
from core.lean_validation import SLOW, fast_converter
from core.serializers import StrictInputSerializer
from profiles import serializers as s
from tests.factories import MerchantFactory, StoreFactory
from tests.profiles.factories import ShopperFactory

_ABSENT = object()

# Values of every JSON kind, and the strings that sit on DRF's edges.
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=10**13),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "   ", " padded ", "a\x00b", "\ud800", "x" * 101, "x" * 255, "12", "12.0", "1.5", "١٢"]),
    st.text(max_size=8),
    st.just([]),
    st.just({}),
    st.lists(st.integers(max_value=9), max_size=2),
    st.dictionaries(st.sampled_from(["a", "name"]), st.integers(max_value=9), max_size=2),
)


def _purchase_bodies(store_ids: list[int], shopper_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    item = st.fixed_dictionaries(
        {
            "sku": st.one_of(st.just(_ABSENT), st.just("SKU-1"), ODD_VALUES),
            "name": st.one_of(st.just("Socks"), st.just(_ABSENT), ODD_VALUES),
            "category": st.one_of(st.just(_ABSENT), st.just("Tops"), ODD_VALUES),
            "quantity": st.one_of(st.just(_ABSENT), st.integers(min_value=-1, max_value=100_001), ODD_VALUES),
            "unit_price_minor": st.one_of(st.integers(min_value=-1, max_value=10**12 + 1), ODD_VALUES),
            "colour": st.one_of(st.just(_ABSENT), st.just(_ABSENT), ODD_VALUES),
        }
    )
    return st.fixed_dictionaries(
        {
            "external_id": st.one_of(st.just("order-1"), ODD_VALUES),
            "amount_minor": st.one_of(st.integers(min_value=-1, max_value=10**12 + 1), ODD_VALUES),
            "currency": st.one_of(st.sampled_from(["EUR", "eur", "EURO", " EUR "]), ODD_VALUES),
            "occurred_at": st.one_of(
                st.sampled_from(
                    [
                        "2026-11-20T10:00:00Z",
                        "2026-11-20T10:00:00.123456+02:00",
                        "2026-11-20 10:00:00-05:30",
                        "2026-11-20T10:00:00",  # no offset
                        "2026-11-20",
                        "2999-01-01T00:00:00Z",  # in the future
                        "0001-01-01T00:00:00+14:00",  # out of range once in UTC
                        "20 Nov 2026",
                    ]
                ),
                ODD_VALUES,
            ),
            "channel": st.one_of(st.sampled_from(["in_store", "online", "shop"]), ODD_VALUES),
            "store": st.one_of(st.just(_ABSENT), st.sampled_from(store_ids), ODD_VALUES),
            "shopper_id": st.one_of(
                st.just(_ABSENT), st.sampled_from(shopper_ids), st.just(str(uuid.uuid4())), ODD_VALUES
            ),
            "card_id": st.one_of(st.just(_ABSENT), st.just("tok_1"), ODD_VALUES),
            "line_items": st.one_of(st.just(_ABSENT), st.lists(item, max_size=3), ODD_VALUES),
            "note": st.one_of(st.just(_ABSENT), st.just(_ABSENT), ODD_VALUES),
        }
    ).map(_without_absent)


def _without_absent(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_absent(item) for key, item in value.items() if item is not _ABSENT}
    if isinstance(value, list):
        return [_without_absent(item) for item in value]
    return value


@contextmanager
def _drf_only():
    """Validation with the short road off: every field through DRF's own run_validation."""
    patch = pytest.MonkeyPatch()
    patch.setattr(merchant_serializers, "fast_converter", lambda field: None)
    patch.setattr(StrictInputSerializer, "run_validation", serializers.Serializer.run_validation)
    try:
        yield
    finally:
        patch.undo()


def _outcome(serializer_class: type, data: Any, context: dict[str, Any]) -> tuple[str, Any]:
    serializer = serializer_class(context=context)
    try:
        return "valid", serializer.run_validation(data)
    except ValidationError as error:
        return "invalid", error.detail


def _both_roads(serializer_class: type, data: Any, context: dict[str, Any]) -> tuple[Any, Any]:
    short = _outcome(serializer_class, data, context)
    with _drf_only():
        drf = _outcome(serializer_class, data, context)
    return short, drf


@pytest.fixture
def tenant(db):
    merchant = MerchantFactory()
    stores = [StoreFactory(merchant=merchant), StoreFactory(merchant=merchant)]
    theirs = StoreFactory(merchant=MerchantFactory())
    shopper = ShopperFactory(merchant=merchant)
    context = {"merchant": merchant}
    batch_context = {**context, "stores": {store.pk: store for store in stores}}
    return {
        "store_ids": [store.pk for store in stores] + [theirs.pk],
        "shopper_ids": [str(shopper.public_id)],
        "context": context,
        "batch_context": batch_context,
    }


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.data())
def test_purchases_validate_alike_on_both_roads(tenant, data):
    body = data.draw(_purchase_bodies(tenant["store_ids"], tenant["shopper_ids"]))

    for context in (tenant["context"], tenant["batch_context"]):
        short, drf = _both_roads(s.PurchaseInputSerializer, body, context)
        assert short == drf


@SETTINGS
@given(data=st.data())
def test_a_batch_parses_alike_on_both_roads(tenant, data):
    rows = data.draw(
        st.one_of(
            st.lists(st.one_of(_purchase_bodies(tenant["store_ids"], tenant["shopper_ids"]), ODD_VALUES), max_size=4),
            ODD_VALUES,
        )
    )
    body = data.draw(st.sampled_from([{"purchases": rows}, {"purchases": rows, "extra": 1}, {}]))

    short, drf = _both_roads(s.BatchInputSerializer, body, tenant["context"])

    assert short == drf


def _shopper_bodies() -> st.SearchStrategy[dict[str, Any]]:
    consent = st.fixed_dictionaries(
        {
            "channel": st.one_of(st.sampled_from(["email", "sms", "fax"]), ODD_VALUES),
            "purpose": st.one_of(st.sampled_from(["marketing", "feedback"]), ODD_VALUES),
            "granted": st.one_of(st.booleans(), st.sampled_from(["true", "yes", 1, 0, "off"]), ODD_VALUES),
            "wording_version": st.one_of(st.just(_ABSENT), st.just("v1"), ODD_VALUES),
        }
    )
    return st.fixed_dictionaries(
        {
            "first_name": st.one_of(st.just(_ABSENT), st.just("Ana"), ODD_VALUES),
            "email": st.one_of(st.just(_ABSENT), st.just("ana@example.com"), st.just("not-an-email"), ODD_VALUES),
            "email_verified": st.one_of(st.just(_ABSENT), st.booleans(), ODD_VALUES),
            "phone": st.one_of(st.just(_ABSENT), st.just("+31612345678"), ODD_VALUES),
            "birthday": st.one_of(st.just(_ABSENT), st.sampled_from(["1990-02-03", "1990-02-30"]), ODD_VALUES),
            "language": st.one_of(st.just(_ABSENT), st.sampled_from(["en", "ko", "xx", ""]), ODD_VALUES),
            "joined_via": st.one_of(st.just(_ABSENT), st.sampled_from(["kiosk", "checkout", "mail"]), ODD_VALUES),
            "consents": st.one_of(st.just(_ABSENT), st.lists(consent, max_size=2), ODD_VALUES),
            "preferences": st.one_of(
                st.just(_ABSENT),
                st.fixed_dictionaries(
                    {"sizes": st.one_of(st.lists(st.one_of(st.just("M"), ODD_VALUES), max_size=3), ODD_VALUES)}
                ),
                ODD_VALUES,
            ),
            "card": st.one_of(
                st.just(_ABSENT),
                st.fixed_dictionaries(
                    {
                        "id": st.one_of(st.just("tok_9"), ODD_VALUES),
                        "last_four": st.one_of(st.sampled_from(["1234", "12345", "12a4"]), ODD_VALUES),
                        "first_six": st.one_of(st.just(_ABSENT), st.sampled_from(["411111", ""]), ODD_VALUES),
                        "expiry_month": st.one_of(st.just(_ABSENT), st.integers(min_value=0, max_value=13)),
                    }
                ),
                ODD_VALUES,
            ),
        }
    ).map(_without_absent)


@SETTINGS
@given(data=st.data())
def test_shoppers_validate_alike_on_both_roads(tenant, data):
    """Nested objects, lists of them, list fields and a serializer-level validate() of its own."""
    body = data.draw(_shopper_bodies())

    short, drf = _both_roads(s.ShopperCreateSerializer, body, tenant["context"])

    assert short == drf


@SETTINGS
@given(data=st.data())
def test_visits_and_consent_changes_validate_alike_on_both_roads(tenant, data):
    visit = data.draw(
        st.fixed_dictionaries(
            {
                "store": st.one_of(st.sampled_from(tenant["store_ids"]), ODD_VALUES),
                "occurred_at": st.one_of(st.just("2026-11-20T10:00:00Z"), ODD_VALUES),
                "source": st.one_of(st.sampled_from(["wifi", "kiosk", "radio"]), ODD_VALUES),
                "shopper_id": st.one_of(st.just(_ABSENT), st.sampled_from(tenant["shopper_ids"]), ODD_VALUES),
            }
        ).map(_without_absent)
    )
    consents = data.draw(st.one_of(st.lists(ODD_VALUES, max_size=2), ODD_VALUES))

    short, drf = _both_roads(s.VisitInputSerializer, visit, tenant["context"])
    assert short == drf
    short, drf = _both_roads(s.ConsentChangeSerializer, {"consents": consents}, tenant["context"])
    assert short == drf


def test_a_well_formed_purchase_never_reaches_drfs_own_field_validation(tenant, monkeypatch):
    """The point of the short road: a good row with line items is validated without DRF's layers."""
    store = tenant["batch_context"]["stores"][tenant["store_ids"][0]]
    body = {
        "external_id": "order-7",
        "amount_minor": 3990,
        "currency": "EUR",
        "occurred_at": "2026-11-20T10:00:00+01:00",
        "channel": "in_store",
        "store": store.pk,
        "card_id": "tok_1",
        "line_items": [
            {"sku": "A-1", "name": "Tee", "category": "Tops", "unit_price_minor": 2495},
            {"name": "Socks", "quantity": 3, "unit_price_minor": 498},
        ],
    }
    serializer = s.PurchaseInputSerializer(context=tenant["batch_context"])
    calls = []
    real = drf_fields.Field.run_validation
    monkeypatch.setattr(drf_fields.Field, "run_validation", lambda *args: calls.append(args) or real(*args))

    row = serializer.run_validation(body)

    assert calls == []
    assert (row.store, row.amount_minor, row.occurred_at.isoformat()) == (store, 3990, "2026-11-20T09:00:00+00:00")
    assert [(item.name, item.quantity, item.sku) for item in row.line_items] == [("Tee", 1, "A-1"), ("Socks", 3, "")]


def test_fields_of_unknown_kinds_take_drfs_road():
    class Odd(serializers.Field):
        def get_value(self, dictionary):  # reads the body its own way
            return dictionary.get("elsewhere", drf_fields.empty)

    class Form(StrictInputSerializer):
        odd = Odd(required=False)
        name = serializers.CharField()
        tags = serializers.MultipleChoiceField(choices=["a", "b"], required=False)

    class EvenNumber(serializers.IntegerField):
        def run_validators(self, value):
            super().run_validators(value)
            if value % 2:
                raise serializers.ValidationError("Give an even number.")

    class Counted(StrictInputSerializer):
        n = EvenNumber()

    with pytest.raises(ValidationError) as odd:
        Counted().run_validation({"n": 3})
    assert odd.value.detail == {"n": ["Give an even number."]}

    form = Form()
    assert fast_converter(form.fields["odd"]) is None
    assert fast_converter(form.fields["name"])(" Ana ") == "Ana"
    assert fast_converter(form.fields["name"])(7) is SLOW  # DRF turns it into "7": its road decides
    assert fast_converter(form.fields["tags"]) is None  # it reads a form's lists its own way


def _moment(field: serializers.Field, value: Any) -> tuple[str, Any]:
    try:
        parsed = field.to_internal_value(value)
    except ValidationError as error:
        return "invalid", [detail.code for detail in error.detail]
    return "valid", (parsed, parsed.tzinfo)


@settings(max_examples=500, deadline=None)
@given(
    value=st.one_of(
        st.builds(
            lambda moment, style: moment.isoformat(sep=style[0], timespec=style[1]),
            st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
            st.tuples(st.sampled_from(["T", " "]), st.sampled_from(["auto", "seconds", "milliseconds", "minutes"])),
        ),
        st.sampled_from(
            ["2026-11-20T10:00Z", "20261120T100000+0100", "2026-11-20T10:00:00z", "0001-01-01T00:00+01:00"]
        ),
        st.text(alphabet="0123456789-:+TZ. ", max_size=26),
        ODD_VALUES,
    )
)
def test_aware_moments_parse_as_drf_parses_them(value):
    """AwareDateTimeField reads an ISO 8601 string with an offset itself; DRF's DateTimeField (in UTC) and
    the offset rule decide the same."""

    class Reference(serializers.DateTimeField):
        def to_internal_value(self, value):
            parsed = super().to_internal_value(value)
            if isinstance(value, str) and not any(mark in value[10:] for mark in ("Z", "z", "+", "-")):
                self.fail("naive")
            return parsed

    ours = merchant_serializers.AwareDateTimeField()
    reference = Reference(default_timezone=UTC)
    reference.default_error_messages = ours.default_error_messages
    reference.error_messages = {**reference.error_messages, **ours.error_messages}

    assert _moment(ours, value) == _moment(reference, value)
