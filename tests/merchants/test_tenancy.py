"""Tenancy by construction: a query that names no merchant never reaches tenant rows."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.db.models import Count

from merchants.models import TenantModel, UnscopedTenantQuery
from profiles.models import Purchase, Shopper
from tests.factories import StoreFactory, UserFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

# Rows that carry a merchant but are plumbing, reached only by raw SQL keyed on the merchant.
NOT_TENANT_ROWS = {"core.IdempotencyRecord"}

TENANT_MODELS = sorted(
    (model for model in apps.get_models() if issubclass(model, TenantModel)), key=lambda model: model._meta.label
)


def test_every_model_with_a_merchant_inherits_the_tenant_base():
    with_merchant = {
        model._meta.label
        for model in apps.get_models()
        if any(field.name == "merchant" for field in model._meta.get_fields())
    }
    tenant = {model._meta.label for model in TENANT_MODELS}

    assert with_merchant - tenant - NOT_TENANT_ROWS == set()


# Every way a queryset reaches the database.
USES = {
    "iterate": list,
    "count": lambda rows: rows.count(),
    "exists": lambda rows: rows.exists(),
    "first": lambda rows: rows.first(),
    "get": lambda rows: rows.get(pk=1),
    "values": lambda rows: list(rows.values("pk")),
    "iterator": lambda rows: list(rows.iterator()),
    "aggregate": lambda rows: rows.aggregate(n=Count("pk")),
    "update": lambda rows: rows.update(merchant=None),
    "delete": lambda rows: rows.delete(),
}


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda model: model._meta.label)
def test_a_query_naming_no_merchant_is_refused(db, model):
    for name, use in USES.items():
        with pytest.raises(UnscopedTenantQuery):
            use(model.objects.filter(pk__gt=0))
            pytest.fail(f"{name} ran unscoped")


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda model: model._meta.label)
def test_a_query_naming_its_merchant_runs(model, merchant):
    assert model.objects.for_merchant(merchant).count() == 0
    assert list(model.objects.filter(merchant_id=merchant.pk)) == []
    assert not model.objects.filter(merchant__in=[merchant]).exists()


def test_a_filter_on_something_else_is_not_a_scope(merchant):
    with pytest.raises(UnscopedTenantQuery):
        Shopper.objects.filter(first_name="Ada").exclude(merchant=merchant).count()


def test_scoped_queries_see_only_their_merchant(merchant, other_merchant):
    mine = ShopperFactory(merchant=merchant)
    ShopperFactory(merchant=other_merchant)

    assert list(Shopper.objects.for_merchant(merchant)) == [mine]
    assert Shopper.all_merchants.count() == 2


def test_what_hangs_off_a_loaded_row_is_scoped_by_it(merchant, store):
    shopper = ShopperFactory(merchant=merchant)
    purchase = PurchaseFactory(merchant=merchant, shopper=shopper, store=store)

    assert list(shopper.purchases.all()) == [purchase]
    assert list(Purchase.objects.filter(shopper=shopper)) == [purchase]
    assert list(Shopper.objects.for_merchant(merchant).prefetch_related("purchases")) == [shopper]
    assert Purchase.objects.for_merchant(merchant).select_related("shopper").get().shopper == shopper


def test_the_rows_own_machinery_needs_no_scope(merchant, other_merchant):
    store = StoreFactory(merchant=merchant, name="Harbour")

    store.name = "Quay"
    store.save()
    store.refresh_from_db()
    store.full_clean()  # unique checks look across merchants, as the database constraint does
    other_merchant.delete()  # collecting cascaded rows uses the plain base manager
    merchant.delete()

    assert store.name == "Quay"


def test_the_admin_sees_every_merchant(client_for, merchant, other_merchant, store):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(superuser, generate_totp_secret())
    client = client_for(superuser)
    shopper = ShopperFactory(merchant=merchant, home_store=store)
    ShopperFactory(merchant=other_merchant)

    listing = client.get("/admin/profiles/shopper/")
    change = client.get(f"/admin/profiles/shopper/{shopper.pk}/change/")

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 2
    assert change.status_code == 200
    assert "Main Street" in change.content.decode()  # the raw-id widget names the home store
