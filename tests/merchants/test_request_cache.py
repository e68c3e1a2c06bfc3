"""The API caches keys and stores between requests; every change made through Storeloop is seen at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from merchants import services
from tests.factories import StoreFactory
from tests.payments.helpers import make_source
from tests.profiles.test_api import post, purchase_body

pytestmark = pytest.mark.django_db


def _tables_read(queries):
    tables = ("merchants_merchantapikey", "merchants_store")
    return {table for query in queries for table in tables if f'FROM "{table}"' in query}


def test_a_repeat_request_reads_neither_key_nor_store_from_the_database(api_client, merchant, store):
    assert post(api_client, "api_purchase_create", purchase_body(store, external_id="a")).status_code == 201

    with CaptureQueriesContext(connection) as queries:
        response = post(api_client, "api_purchase_create", purchase_body(store, external_id="b"))

    assert response.status_code == 201
    assert _tables_read(query["sql"] for query in queries.captured_queries) == set()


def test_a_revoked_key_is_refused_on_the_next_request(api_client, api_key_pair, owner):
    assert api_client.get(reverse("api_whoami")).status_code == 200

    services.api_key_revoke(api_key=api_key_pair[0], actor=owner)
    response = api_client.get(reverse("api_whoami"))

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has been revoked."


def test_a_changed_currency_applies_to_the_next_purchase(api_client, merchant, owner, store):
    assert post(api_client, "api_purchase_create", purchase_body(store, external_id="a")).status_code == 201

    services.merchant_update_settings(
        merchant=merchant,
        actor=owner,
        name=merchant.name,
        currency="GBP",
        timezone_name=merchant.timezone,
        default_language=merchant.default_language,
        require_mfa=merchant.require_mfa,
    )
    response = post(api_client, "api_purchase_create", purchase_body(store, external_id="b"))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "currency_mismatch"


def test_a_store_created_meanwhile_is_known_at_once(api_client, merchant, store):
    assert post(api_client, "api_purchase_create", purchase_body(store, external_id="a")).status_code == 201
    new_store = StoreFactory(merchant=merchant, name="New Town")

    response = post(api_client, "api_purchase_create", purchase_body(new_store, external_id="b"))

    assert response.status_code == 201
    assert response.json()["store"] == new_store.pk


def test_another_merchants_cached_store_stays_unknown(api_client, other_api_client, other_store):
    assert post(other_api_client, "api_purchase_create", purchase_body(other_store)).status_code == 201

    response = post(api_client, "api_purchase_create", purchase_body(other_store))

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["store"] == [f"No store with id {other_store.pk}."]


def test_a_new_network_feed_is_seen_by_the_next_request(api_client, merchant, store):
    assert post(api_client, "api_purchase_create", purchase_body(store, external_id="a")).status_code == 201
    make_source(merchant, "generic")

    with CaptureQueriesContext(connection) as queries:
        post(
            api_client,
            "api_purchase_create",
            purchase_body(store, external_id="b", line_items=[{"name": "Tee", "unit_price_minor": 4599}]),
        )

    # With a feed, a basket first looks for the network transaction it may belong to.
    assert any("pg_advisory_xact_lock(hashtextextended" in query["sql"] for query in queries.captured_queries)


@pytest.mark.parametrize("value", [True, "abc", 1.5, [1]])
def test_a_store_that_is_not_an_id_is_400(api_client, merchant, value):
    response = post(api_client, "api_purchase_create", purchase_body(store_id=value, channel="in_store"))

    assert response.status_code == 400
    assert "store" in response.json()["error"]["fields"]


def test_a_purchase_with_an_idempotency_key_costs_few_round_trips(api_client, merchant, store):
    # Round trips are what the ingest path spends its time on (see benchmarks/ingest_single.py).
    assert post(api_client, "api_purchase_create", purchase_body(store, external_id="a"), key="k-a").status_code == 201

    with CaptureQueriesContext(connection) as queries:
        response = post(api_client, "api_purchase_create", purchase_body(store, external_id="b"), key="k-b")

    assert response.status_code == 201
    # The test's own transaction turns the request's BEGIN/COMMIT into one savepoint: there is no other.
    statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert sum(query["sql"].startswith("SAVEPOINT") for query in queries.captured_queries) == 1
    # the key's lock, its stored response, the purchase with rollups, the response stored
    assert len(statements) <= 4, statements
