import pytest

from profiles.serializers import PurchaseOutputSerializer
from tests.factories import MerchantFactory, StoreFactory
from tests.profiles.factories import PurchaseFactory


@pytest.mark.django_db
def test_serializers_sharing_class_fields_keep_their_own_binding():
    """Fields are copied shallowly per instance (LeanFieldCopies): each copy binds to its own serializer."""
    merchant = MerchantFactory()
    in_store = PurchaseFactory(merchant=merchant, store=StoreFactory(merchant=merchant), channel="in_store")
    online = PurchaseFactory(merchant=merchant, store=None, channel="online")

    first = PurchaseOutputSerializer(in_store)
    second = PurchaseOutputSerializer(online)

    assert (first.data["store"], second.data["store"]) == (in_store.store_id, None)
    assert (first.data["external_id"], second.data["external_id"]) == (in_store.external_id, online.external_id)
    assert first.fields["store"] is not second.fields["store"]
    assert first.fields["store"].parent is first and second.fields["store"].parent is second
    # The class-level field stays unbound, so no request's serializer leaks into the next.
    assert PurchaseOutputSerializer._declared_fields["store"].parent is None
