import pytest
from rest_framework.exceptions import ValidationError

from profiles.serializers import PurchaseInputSerializer
from tests.factories import MerchantFactory, StoreFactory

BODY = {
    "external_id": "order-1",
    "amount_minor": 1200,
    "currency": "EUR",
    "occurred_at": "2026-11-20T10:00:00Z",
    "channel": "in_store",
    "line_items": [{"name": "Socks", "unit_price_minor": 1200}],
}


@pytest.mark.django_db
def test_serializers_sharing_class_fields_keep_their_own_context():
    """Fields are copied shallowly per instance (LeanFieldCopies): each copy binds to its own serializer."""
    ours, theirs = MerchantFactory(), MerchantFactory()
    store = StoreFactory(merchant=ours)

    first = PurchaseInputSerializer(data={**BODY, "store": store.pk}, context={"merchant": ours})
    second = PurchaseInputSerializer(data={**BODY, "store": store.pk}, context={"merchant": theirs})

    assert first.is_valid(), first.errors
    assert first.validated_data.store == store
    assert not second.is_valid()
    assert second.errors["store"] == [f"No store with id {store.pk}."]
    assert first.fields["store"] is not second.fields["store"]
    assert first.fields["store"].parent is first and second.fields["store"].parent is second
    # The class-level field stays unbound, so no request's serializer leaks into the next.
    assert PurchaseInputSerializer._declared_fields["store"].parent is None
    # Nested serializers are still deep-copied: their fields bind to this instance's copy.
    assert first.fields["line_items"].child.parent is first.fields["line_items"]


@pytest.mark.django_db
def test_input_serializers_keep_drf_rules_field_by_field():
    """StrictInputSerializer's own validation loop: unknown fields, validate_<name> methods, nested rows."""
    merchant = MerchantFactory()
    serializer = PurchaseInputSerializer(context={"merchant": merchant})

    with pytest.raises(ValidationError) as unknown:
        serializer.run_validation({**BODY, "colour": "red"})
    assert unknown.value.detail == {"colour": ["Unknown field."]}

    with pytest.raises(ValidationError) as future:
        serializer.run_validation({**BODY, "occurred_at": "2999-01-01T00:00:00Z"})
    assert future.value.detail == {"occurred_at": ["A purchase cannot be in the future."]}

    with pytest.raises(ValidationError) as nested:
        serializer.run_validation({**BODY, "line_items": [{"name": "Socks"}], "amount_minor": 0})
    assert set(nested.value.detail) == {"amount_minor", "line_items"}
    assert nested.value.detail["line_items"][0] == {"unit_price_minor": ["This field is required."]}

    with pytest.raises(ValidationError) as not_a_dict:
        serializer.run_validation(["not", "a", "dict"])
    assert "non_field_errors" in not_a_dict.value.detail

    # the same instance validates the next row afresh (the batch API reuses one)
    assert serializer.run_validation(BODY).external_id == "order-1"
