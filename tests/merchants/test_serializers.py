import pytest

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
