import pytest
from django.urls import reverse


def test_liveness_needs_nothing(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_checks_database_and_broker(client, settings):
    response = client.get(reverse("readyz"))

    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readiness_reports_an_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get(reverse("readyz"))

    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("failed")
    assert response.json()["checks"]["database"] == "ok"


@pytest.fixture
def database_away(django_db_blocker):
    """The default connection pointed at a port where nothing listens: a real failed connect."""
    from django.db import connections

    connection = connections["default"]
    with django_db_blocker.unblock():
        connection.close()
        real_port, real_host = connection.settings_dict["PORT"], connection.settings_dict["HOST"]
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.update(HOST=real_host, PORT=real_port)


def test_the_api_answers_a_json_503_with_retry_after_while_the_database_is_away(database_away):
    from rest_framework.test import APIClient

    client = APIClient(raise_request_exception=False)

    response = client.post("/api/v1/purchases", {"amount_minor": 100}, format="json", HTTP_AUTHORIZATION="Api-Key a.b")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "database_unavailable"


def test_a_page_says_back_in_a_moment_while_the_database_is_away(database_away):
    from django.test import Client

    response = Client(raise_request_exception=False).get("/s/kiosk/any-kiosk/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Back in a moment" in response.content.decode()


def test_readiness_says_the_database_is_away(client, database_away):
    response = client.get(reverse("readyz"))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["checks"]["database"] == "failed: OperationalError"
