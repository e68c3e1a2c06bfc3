"""Shared fixtures: a merchant with staff in every role, and an outsider from another merchant."""

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from merchants import services
from merchants.permissions import ALL_API_SCOPES, Role
from tests.factories import MembershipFactory, MerchantFactory, StoreFactory, UserFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: no API key, store or rate-limit count carried over."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def merchant(db):
    return MerchantFactory(name="Northwind", slug="northwind")


@pytest.fixture
def other_merchant(db):
    return MerchantFactory(name="Elsewhere Ltd", slug="elsewhere")


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, name="Main Street", network_location_ids=["LOC-1"])


@pytest.fixture
def other_store(other_merchant):
    return StoreFactory(merchant=other_merchant, name="Far Away", network_location_ids=["LOC-X"])


def _member(merchant, role, **kwargs):
    return MembershipFactory(merchant=merchant, role=role, **kwargs).user


@pytest.fixture
def owner(merchant):
    return _member(merchant, Role.OWNER, user=UserFactory(email="owner@northwind.test"))


@pytest.fixture
def manager(merchant):
    return _member(merchant, Role.MANAGER)


@pytest.fixture
def analyst(merchant):
    return _member(merchant, Role.ANALYST)


@pytest.fixture
def store_staff(merchant, store):
    return _member(merchant, Role.STORE_STAFF, store=store)


@pytest.fixture
def outsider(other_merchant):
    """Owner of another merchant: must never see this merchant's objects."""
    return _member(other_merchant, Role.OWNER, user=UserFactory(email="owner@elsewhere.test"))


@pytest.fixture
def user_for_role(merchant, store):
    def make(role):
        return _member(merchant, role, store=store if role == Role.STORE_STAFF else None)

    return make


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner)


@pytest.fixture
def outsider_client(outsider, client_for):
    return client_for(outsider)


@pytest.fixture
def api_key_pair(merchant):
    return services.api_key_create(merchant=merchant, actor=None, name="Checkout", scopes=ALL_API_SCOPES)


@pytest.fixture
def api_client(api_key_pair):
    _key, secret = api_key_pair
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def other_api_client(other_merchant):
    _key, secret = services.api_key_create(
        merchant=other_merchant, actor=None, name="Their checkout", scopes=ALL_API_SCOPES
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client
