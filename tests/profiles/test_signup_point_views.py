"""Settings → Kiosks and Wi-Fi: register (the URL shown once), revoke, audit, roles, tenancy."""

import pytest

from merchants.models import AuditEvent
from merchants.permissions import Role
from profiles.models import SignupPoint
from tests.profiles.shopper_fixtures import _fresh_limits_and_outbox, make_kiosk  # noqa: F401

pytestmark = pytest.mark.django_db

URL = "/settings/kiosks/"


def test_owner_registers_a_kiosk_and_sees_its_address_once(owner_client, store):
    response = owner_client.post(
        URL,
        {
            "kind": "kiosk",
            "store": store.pk,
            "name": "Level 2 kiosk",
            "welcome_message": "10% off today",
            "has_card_reader": "on",
        },
        follow=True,
    )

    point = SignupPoint.all_merchants.get()
    shown = response.context["new_url"]
    assert shown.startswith("http://testserver/s/kiosk/") and point.token_prefix in shown
    assert shown.split("/")[-2] not in point.token_hash  # only the hash is kept
    assert (point.store, point.has_card_reader, point.welcome_message) == (store, True, "10% off today")
    assert AuditEvent.all_merchants.filter(action="signup_point.created", subject="Level 2 kiosk").exists()
    # The page opens at that address; a reload does not show it again.
    assert owner_client.get(shown.removeprefix("http://testserver")).status_code == 200
    assert "new_url" not in owner_client.get(URL).context


def test_a_wifi_portal_needs_its_continue_address(owner_client, store):
    response = owner_client.post(URL, {"kind": "wifi", "store": store.pk, "name": "Guest Wi-Fi"})

    assert response.status_code == 400
    assert "web address" in response.text
    assert not SignupPoint.all_merchants.exists()


def test_revoking_closes_the_page_and_is_audited(owner_client, merchant, store):
    point, path = make_kiosk(merchant, store)

    owner_client.post(f"{URL}{point.pk}/revoke/")

    point.refresh_from_db()
    assert point.revoked_at is not None
    assert AuditEvent.all_merchants.filter(action="signup_point.revoked").exists()
    assert owner_client.get(path).status_code == 404


def test_managers_may_register_analysts_and_store_staff_may_not(client_for, user_for_role, store):
    assert client_for(user_for_role(Role.MANAGER)).get(URL).status_code == 200
    for role in (Role.ANALYST, Role.STORE_STAFF):
        client = client_for(user_for_role(role))
        assert client.get(URL).status_code == 403
        client.post(URL, {"kind": "kiosk", "store": store.pk, "name": "Sneaky"})
    assert not SignupPoint.all_merchants.exists()


def test_another_merchants_kiosk_is_a_404(outsider_client, merchant, store, other_store):
    point, path = make_kiosk(merchant, store)

    assert outsider_client.post(f"{URL}{point.pk}/revoke/").status_code == 404
    point.refresh_from_db()
    assert point.revoked_at is None
    # Nor can their form register a kiosk at our store.
    outsider_client.post(URL, {"kind": "kiosk", "store": store.pk, "name": "Theirs"})
    assert SignupPoint.all_merchants.count() == 1
    assert "Level 2 kiosk" not in outsider_client.get(URL).text


def test_settings_tabs_link_the_page(owner_client):
    assert 'href="/settings/kiosks/"' in owner_client.get("/settings/stores/").text
