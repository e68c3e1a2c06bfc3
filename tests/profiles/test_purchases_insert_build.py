"""Purchases built by the ingest path are the instances Purchase.from_db would build."""

import pytest
from django.db.models.signals import post_init

from profiles.models import Purchase
from profiles.services import purchases as purchase_services
from profiles.services.purchases import bulk
from tests.factories import MerchantFactory, StoreFactory
from tests.profiles.factories import ShopperFactory


@pytest.mark.django_db
def test_a_recorded_purchase_is_what_from_db_builds_and_reads_its_relations_without_a_query(
    django_assert_num_queries,
):
    merchant = MerchantFactory()
    store = StoreFactory(merchant=merchant)
    shopper = ShopperFactory(merchant=merchant)
    data = purchase_services.PurchaseInput(
        external_id="o-1",
        amount_minor=1200,
        currency=merchant.currency,
        occurred_at=_now(),
        channel="in_store",
        store=store,
    )

    (built,) = purchase_services.purchases_insert(
        merchant=merchant, rows=[purchase_services.ResolvedPurchase(data=data, card_id=None, shopper=shopper)]
    )

    stored = Purchase.all_merchants.get(pk=built.pk)
    assert {name: getattr(built, name) for name in bulk._PURCHASE_ATTNAMES} == {
        name: getattr(stored, name) for name in bulk._PURCHASE_ATTNAMES
    }
    assert (built._state.adding, built._state.db) == (False, "default")
    with django_assert_num_queries(0):
        assert (built.merchant, built.store, built.shopper) == (merchant, store, shopper)


@pytest.mark.django_db
def test_with_an_init_signal_listening_purchases_are_built_through_model_init():
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(listener, sender=Purchase)
    try:
        merchant = MerchantFactory()
        data = purchase_services.PurchaseInput(
            external_id="o-2", amount_minor=500, currency=merchant.currency, occurred_at=_now(), channel="online"
        )
        (built,) = purchase_services.purchases_insert(
            merchant=merchant, rows=[purchase_services.ResolvedPurchase(data=data, card_id=None, shopper=None)]
        )
    finally:
        post_init.disconnect(listener, sender=Purchase)

    assert built in seen


def _now():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.django_db
def test_a_card_resolved_shopper_is_what_from_db_builds_with_the_unread_fields_deferred(django_assert_num_queries):
    from django.db import transaction

    from profiles.models import Shopper
    from tests.profiles.factories import CardFactory

    merchant = MerchantFactory()
    shopper = ShopperFactory(merchant=merchant, first_name="Hana")
    card = CardFactory(shopper=shopper)

    with transaction.atomic():
        resolved = purchase_services.cards_resolve(merchant=merchant, card_tokens=[card.token])
    ((card_id, built),) = resolved.values()

    assert card_id == card.pk
    stored = Shopper.all_merchants.get(pk=shopper.pk)
    assert (built.pk, built.public_id, built.status, built.merged_into_id) == (
        stored.pk,
        stored.public_id,
        stored.status,
        stored.merged_into_id,
    )
    assert "first_name" in built.get_deferred_fields()
    with django_assert_num_queries(1):  # a deferred field loads on first access, as from_db's would
        assert built.first_name == "Hana"
