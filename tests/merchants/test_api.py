import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from merchants import services
from merchants.models import MerchantAPIKey

pytestmark = pytest.mark.django_db


def _client(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def test_valid_key_identifies_its_merchant(api_client, merchant, api_key_pair):
    response = api_client.get(reverse("api_whoami"))

    assert response.status_code == 200
    assert response.json()["merchant"]["slug"] == "northwind"
    assert response.json()["key_prefix"] == api_key_pair[0].prefix


def test_key_use_is_recorded(api_client, api_key_pair):
    api_client.get(reverse("api_whoami"))

    api_key = MerchantAPIKey.all_merchants.get(pk=api_key_pair[0].pk)
    assert api_key.last_used_at is not None


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer abc", "Send the header as `Authorization: Api-Key <key>`."),
        ("Api-Key nope.nope", "This API key is not valid."),
    ],
)
def test_missing_or_bad_key_is_401_with_error_body(db, header, message):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(reverse("api_whoami"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json()["error"]["message"] == message
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_tampered_secret_with_real_prefix_is_refused(api_key_pair):
    _key, secret = api_key_pair
    prefix, _, rest = secret.partition(".")

    response = _client(f"{prefix}.{rest[::-1]}").get(reverse("api_whoami"))

    assert response.status_code == 401


def test_revoked_key_is_refused(api_key_pair, owner):
    api_key, secret = api_key_pair
    services.api_key_revoke(api_key=api_key, actor=owner)

    response = _client(secret).get(reverse("api_whoami"))

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has been revoked."


def test_expired_key_is_refused(api_key_pair):
    api_key, secret = api_key_pair
    MerchantAPIKey.all_merchants.filter(pk=api_key.pk).update(expiry_date=timezone.now() - timezone.timedelta(days=1))

    response = _client(secret).get(reverse("api_whoami"))

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has expired."


def test_store_list_holds_only_own_stores(api_client, store, other_store):
    response = api_client.get(reverse("api_store_list"))

    assert [row["name"] for row in response.json()] == ["Main Street"]


def test_other_merchants_store_is_404(api_client, other_store):
    response = api_client.get(reverse("api_store_detail", args=[other_store.pk]))

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_other_merchants_key_cannot_read_our_store(other_api_client, store):
    response = other_api_client.get(reverse("api_store_detail", args=[store.pk]))

    assert response.status_code == 404


def test_unknown_api_path_is_json_404(api_client):
    response = api_client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_scope_is_enforced(merchant, store):
    _key, secret = services.api_key_create(merchant=merchant, actor=None, name="Reader", scopes=["shoppers:read"])
    from merchants.api import StoreListApi

    StoreListApi.required_scopes = {"GET": "loyalty:read"}
    try:
        response = _client(secret).get(reverse("api_store_list"))
    finally:
        del StoreListApi.required_scopes

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "missing_scope",
        "message": "This API key lacks the scope `loyalty:read`.",
        "fields": {},
    }


def test_throttle_per_key(api_client, other_api_client, settings, monkeypatch):
    from django.core.cache import cache

    from merchants.api_auth import APIKeyRateThrottle

    cache.clear()
    monkeypatch.setattr(APIKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})

    statuses = [api_client.get(reverse("api_whoami")).status_code for _ in range(4)]
    other = other_api_client.get(reverse("api_whoami"))

    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 200
    limited = api_client.get(reverse("api_whoami"))
    assert limited.json()["error"]["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0


def test_schema_is_valid_openapi_3(client, db):
    from openapi_spec_validator import validate

    response = client.get(reverse("api_schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/stores" in schema["paths"]
    assert "ApiKeyAuth" in schema["components"]["securitySchemes"]


def test_api_docs_work_offline(client, db):
    response = client.get(reverse("api_docs"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
