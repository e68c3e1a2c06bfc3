"""GET /api/v1/exports/<kind>.csv for integrators: scope, filters, errors, the audit log, the OpenAPI document."""

import pytest
from rest_framework.test import APIClient

from merchants import services as merchant_services
from merchants.models import AuditEvent
from tests.exports.conftest import read_csv

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def test_an_integrator_streams_purchases_for_a_period_and_store(api_client, api_key_pair, merchant, history):
    response = api_client.get("/api/v1/exports/purchases.csv", {**MARCH, "store": history.second_store.pk})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = read_csv(b"".join(response.streaming_content))
    assert [(row["external_id"], row["store"], row["amount"]) for row in rows] == [("order-3", "Gangnam", "3000")]
    (event,) = AuditEvent.objects.for_merchant(merchant).filter(action="data.exported")
    key, _secret = api_key_pair
    assert (event.actor, event.detail["api_key"], event.detail["rows"], event.detail["delivery"]) == (
        None, key.prefix, 1, "api",
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["shoppers", "consents", "ledger", "messages"])
def test_every_kind_answers_with_its_header(api_client, history, kind):
    response = api_client.get(f"/api/v1/exports/{kind}.csv", MARCH)

    assert response.status_code == 200
    first_line = b"".join(response.streaming_content).decode().splitlines()[0]
    assert first_line.split(",")[0] in {"shopper_id", "event_id", "entry_id", "message_id"}


def test_another_merchants_store_is_a_400_naming_the_field(api_client, other_store, history):
    response = api_client.get("/api/v1/exports/purchases.csv", {**MARCH, "store": other_store.pk})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == ["store"]


def test_bad_dates_are_a_400_naming_the_query_parameter(api_client):
    response = api_client.get("/api/v1/exports/shoppers.csv", {"from": "2026-13-01"})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"from", "to"}
    assert response["Content-Type"] == "application/json"


def test_an_unknown_kind_is_a_json_404(api_client):
    response = api_client.get("/api/v1/exports/cards.csv", MARCH)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_key_without_the_exports_scope_gets_403(merchant, history):
    _key, secret = merchant_services.api_key_create(
        merchant=merchant, actor=None, name="Checkout only", scopes=["shoppers:read"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    response = client.get("/api/v1/exports/purchases.csv", MARCH)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert not AuditEvent.objects.for_merchant(merchant).filter(action="data.exported").exists()


def test_another_merchants_key_sees_none_of_these_rows(other_api_client, history):
    response = other_api_client.get("/api/v1/exports/purchases.csv", MARCH)

    assert read_csv(b"".join(response.streaming_content)) == []


def test_the_openapi_document_describes_the_csv_endpoint(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/json"}).json()

    operation = schema["paths"]["/api/v1/exports/{kind}.csv"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"kind", "from", "to", "store"}
    assert "exports:read" in operation["description"]
