import pytest
from django.core.management import call_command

from merchants.models import Merchant, MerchantAPIKey, Network, StaffMembership, Store, TenantModel, User
from merchants.permissions import Role

pytestmark = pytest.mark.django_db


def _counts():
    return {
        model.__name__: (model.all_merchants if issubclass(model, TenantModel) else model.objects).count()
        for model in (Network, Merchant, Store, User, StaffMembership, MerchantAPIKey)
    }


def test_seed_demo_creates_a_mall_with_two_merchants_and_every_role(capsys):
    call_command("seed_demo")

    network = Network.objects.get()
    assert network.merchants.count() == 2
    for merchant in Merchant.objects.all():
        roles = set(StaffMembership.objects.filter(merchant=merchant).values_list("role", flat=True))
        assert roles == set(Role)
        assert Store.objects.filter(merchant=merchant).count() >= 2
    operator = User.objects.get(email="operator@riverside.demo")
    assert StaffMembership.all_merchants.filter(user=operator).count() == 2
    assert "owner@northwind.demo" in capsys.readouterr().out


def test_seed_demo_twice_duplicates_nothing_and_prints_a_working_key(capsys):
    call_command("seed_demo")
    first = _counts()
    capsys.readouterr()

    call_command("seed_demo")

    assert _counts() == first
    output = capsys.readouterr().out
    secret = output.split("API key for Northwind Outfitters: ")[1].split()[0]
    assert MerchantAPIKey.all_merchants.get(prefix=secret.split(".")[0]).is_valid(secret)
