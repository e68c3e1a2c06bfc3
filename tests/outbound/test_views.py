"""Settings → Webhooks as owners, managers, analysts and outsiders use it."""

import re

import pytest

from merchants.models import AuditEvent
from outbound.models import Delivery, DeliveryStatus, Endpoint
from outbound.services import endpoints
from tests.outbound.test_delivery import shopper_new

URL = "/settings/webhooks/"


@pytest.fixture
def endpoint(merchant, receiver):
    return endpoints.endpoint_create(
        merchant=merchant, actor=None, url=receiver.url, events=["consent.changed", "shopper.created"]
    ).endpoint


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(owner_client, merchant, receiver):
    response = owner_client.post(
        URL, {"url": receiver.url, "events": ["shopper.created", "consent.changed"], "description": "CRM"}, follow=True
    )

    assert response.status_code == 200
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", response.content.decode()).group(0)
    endpoint = Endpoint.objects.get(merchant=merchant)
    assert endpoint.secret == secret
    assert sorted(endpoint.events) == ["consent.changed", "shopper.created"]
    again = owner_client.get(f"{URL}{endpoint.pk}/")
    assert "whsec_" not in again.content.decode()
    audit = AuditEvent.objects.get(merchant=merchant, action="webhook.endpoint_created")
    assert "whsec" not in str(audit.detail)


def test_a_bad_address_is_a_form_error_and_nothing_is_made(owner_client, merchant, settings):
    settings.OUTBOUND_WEBHOOKS_ALLOW_PRIVATE = False
    response = owner_client.post(URL, {"url": "https://127.0.0.1/hooks", "events": ["shopper.created"]})

    assert response.status_code == 400
    assert "private network" in response.content.decode()
    assert not Endpoint.objects.filter(merchant=merchant).exists()


def test_a_manager_pauses_resumes_and_replays(
    client_for, manager, merchant, endpoint, receiver, django_capture_on_commit_callbacks
):
    client = client_for(manager)
    with django_capture_on_commit_callbacks(execute=True):
        shopper_new(merchant)
    (delivered,) = Delivery.objects.filter(merchant=merchant)

    page = client.get(f"{URL}{endpoint.pk}/")
    assert "shopper.created" in page.content.decode()
    assert "200" in page.content.decode()

    client.post(f"{URL}{endpoint.pk}/pause/")
    assert not Endpoint.objects.get(merchant=merchant, pk=endpoint.pk).is_active
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{URL}{endpoint.pk}/deliveries/{delivered.pk}/replay/")
    assert len(receiver.requests) == 1  # paused: the replay waits
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{URL}{endpoint.pk}/resume/")

    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert Delivery.objects.filter(merchant=merchant, status=DeliveryStatus.SUCCEEDED).count() == 2
    actions = set(AuditEvent.objects.filter(merchant=merchant).values_list("action", flat=True))
    assert {"webhook.endpoint_paused", "webhook.endpoint_resumed", "webhook.delivery_replayed"} <= actions


def test_rotating_shows_the_new_secret_once(owner_client, merchant, endpoint):
    old = endpoint.secret
    response = owner_client.post(f"{URL}{endpoint.pk}/secret/", follow=True)

    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in response.content.decode()
    assert old not in response.content.decode()


def test_an_analyst_may_not_open_the_page(client_for, analyst, endpoint):
    assert client_for(analyst).get(URL).status_code == 403
    assert client_for(analyst).post(f"{URL}{endpoint.pk}/pause/").status_code == 403


def test_another_merchants_endpoint_is_a_404(outsider_client, endpoint):
    for method, path in [
        ("get", f"{URL}{endpoint.pk}/"),
        ("post", f"{URL}{endpoint.pk}/pause/"),
        ("post", f"{URL}{endpoint.pk}/resume/"),
        ("post", f"{URL}{endpoint.pk}/secret/"),
    ]:
        assert getattr(outsider_client, method)(path).status_code == 404
    assert Endpoint.objects.get(merchant=endpoint.merchant, pk=endpoint.pk).is_active
