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
