import pytest
from django.core import mail
from django.urls import reverse

from merchants import services
from merchants.models import AuditEvent, MerchantAPIKey, StaffInvitation, StaffMembership, Store, User
from merchants.permissions import PERMISSIONS, Role
from tests.factories import MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

# (url name, kwargs factory, permission, method)
PAGES = [
    ("dashboard", None, "dashboard.view"),
    ("settings_stores", None, "stores.view"),
    ("settings_store_create", None, "stores.manage"),
    ("settings_general", None, "merchant.manage"),
    ("settings_staff", None, "staff.manage"),
    ("settings_api_keys", None, "api_keys.manage"),
    ("settings_audit", None, "merchant.manage"),
]


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("settings_stores"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("url_name", "kwargs", "permission"), PAGES)
def test_each_role_sees_exactly_the_pages_of_its_permissions(
    role, url_name, kwargs, permission, user_for_role, client_for
):
    client = client_for(user_for_role(role))

    response = client.get(reverse(url_name))

    allowed = role in PERMISSIONS[permission][0]
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert "not available for your role" in response.content.decode()


def test_user_without_membership_is_told_how_to_join(client_for):
    response = client_for(UserFactory()).get(reverse("dashboard"))

    assert response.status_code == 403
    assert "not on a merchant" in response.content.decode()


def test_dashboard_shows_merchant_navigation_and_stores(owner_client, store):
    response = owner_client.get(reverse("dashboard"))

    page = response.content.decode()
    assert "Northwind" in page
    assert "Main Street" in page
    assert 'href="/settings/"' in page


def test_store_staff_navigation_has_no_settings(store_staff, client_for):
    page = client_for(store_staff).get(reverse("dashboard")).content.decode()

    assert 'href="/settings/"' not in page


# Tenant isolation: every object route answers 404 to staff of another merchant.


@pytest.fixture
def objects_of_merchant(merchant, owner, store):
    member = MembershipFactory(merchant=merchant, role=Role.ANALYST)
    invitation, _ = services.staff_invite(merchant=merchant, actor=owner, email="new@example.com", role=Role.ANALYST)
    api_key, _ = services.api_key_create(merchant=merchant, actor=owner, name="Till", scopes=["shoppers:read"])
    return {"store": store, "membership": member, "invitation": invitation, "api_key": api_key}


OBJECT_ROUTES = [
    ("get", "settings_store_edit", lambda o: {"store_id": o["store"].pk}),
    ("post", "settings_store_edit", lambda o: {"store_id": o["store"].pk}),
    ("get", "settings_membership_edit", lambda o: {"membership_id": o["membership"].pk}),
    ("post", "settings_membership_edit", lambda o: {"membership_id": o["membership"].pk}),
    ("post", "settings_membership_remove", lambda o: {"membership_id": o["membership"].pk}),
    ("post", "settings_invitation_revoke", lambda o: {"invitation_id": o["invitation"].pk}),
    ("post", "settings_api_key_revoke", lambda o: {"prefix": o["api_key"].prefix}),
]


@pytest.mark.parametrize(("method", "url_name", "kwargs"), OBJECT_ROUTES)
def test_outsider_gets_404_for_every_object_route(method, url_name, kwargs, objects_of_merchant, outsider_client):
    url = reverse(url_name, kwargs=kwargs(objects_of_merchant))

    response = getattr(outsider_client, method)(url, {"role": Role.OWNER, "name": "Hijacked"})

    assert response.status_code == 404
    # and nothing changed
    assert Store.all_merchants.get(pk=objects_of_merchant["store"].pk).name == "Main Street"
    assert StaffMembership.all_merchants.get(pk=objects_of_merchant["membership"].pk).role == Role.ANALYST
    assert StaffInvitation.all_merchants.get(pk=objects_of_merchant["invitation"].pk).revoked_at is None
    assert MerchantAPIKey.all_merchants.get(pk=objects_of_merchant["api_key"].pk).revoked is False


def test_lists_show_only_own_merchant(owner_client, store, other_store, outsider):
    page = owner_client.get(reverse("settings_stores")).content.decode()
    staff_page = owner_client.get(reverse("settings_staff")).content.decode()

    assert "Main Street" in page
    assert "Far Away" not in page
    assert outsider.email not in staff_page


# Stores


STORE_POST = {
    "name": "Harbour",
    "address": "Quay 1",
    "region": "West",
    "timezone": "Europe/Amsterdam",
    "latitude": "52.37",
    "longitude": "4.89",
    "geofence_radius_m": "150",
    "network_location_ids": "MID-9, LOC-22",
    "is_active": "on",
}


def test_manager_adds_a_store(manager, merchant, client_for):
    response = client_for(manager).post(reverse("settings_store_create"), STORE_POST)

    assert response.status_code == 302
    store = Store.objects.get(merchant=merchant, name="Harbour")
    assert store.network_location_ids == ["MID-9", "LOC-22"]
    assert AuditEvent.objects.filter(merchant=merchant, action="store.created", subject="Harbour").exists()


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice"),
        ({"latitude": "95"}, "latitude", "less than or equal to 90"),
        ({"name": ""}, "name", "This field is required"),
        ({"latitude": "52.1", "longitude": ""}, None, "Give both latitude and longitude"),
        ({"network_location_ids": "LOC-1"}, "network_location_ids", "already belongs to the store “Main Street”"),
        ({"name": "Main Street"}, "name", "already have a store with this name"),
    ],
)
def test_bad_store_input_is_a_form_error_and_changes_nothing(owner_client, store, merchant, override, field, message):
    response = owner_client.post(reverse("settings_store_create"), {**STORE_POST, **override})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert Store.objects.filter(merchant=merchant).count() == 1


def test_owner_edits_a_store(owner_client, store):
    response = owner_client.post(
        reverse("settings_store_edit", args=[store.pk]), {**STORE_POST, "name": "Main Street", "region": "East"}
    )

    assert response.status_code == 302
    store.refresh_from_db()
    assert store.region == "East"
    assert store.network_location_ids == ["MID-9", "LOC-22"]


def test_analyst_cannot_post_a_store(analyst, client_for, merchant):
    response = client_for(analyst).post(reverse("settings_store_create"), STORE_POST)

    assert response.status_code == 403
    assert not Store.objects.filter(merchant=merchant, name="Harbour").exists()


# Staff


def test_owner_invites_staff_who_accept_and_join(
    owner_client, merchant, client_for, store, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("settings_staff_invite"),
            {"email": "New.Person@Example.com", "role": Role.STORE_STAFF, "store": store.pk},
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    accept_path = "/" + mail.outbox[0].body.split("/", 3)[3].split()[0]

    newcomer = UserFactory(email="new.person@example.com")
    joined = client_for(newcomer).post(accept_path)

    assert joined.status_code == 302
    membership = StaffMembership.objects.get(merchant=merchant, user=newcomer)
    assert membership.role == Role.STORE_STAFF
    assert membership.store == store
    # the link works once
    assert client_for(newcomer).post(accept_path).status_code == 404


def test_invitation_for_someone_else_is_refused(owner, merchant, client_for):
    _invitation, token = services.staff_invite(merchant=merchant, actor=owner, email="a@example.com", role=Role.ANALYST)

    response = client_for(UserFactory(email="b@example.com")).post(reverse("invitation_accept", args=[token]))

    assert response.status_code == 400
    assert "sent to a@example.com" in response.content.decode()
    assert not StaffMembership.objects.filter(merchant=merchant, user__email="b@example.com").exists()


def test_invitation_link_lets_a_newcomer_sign_up(owner, merchant, client):
    _invitation, token = services.staff_invite(
        merchant=merchant, actor=owner, email="fresh@example.com", role=Role.ANALYST
    )

    welcome = client.get(reverse("invitation_accept", args=[token]))
    signup = client.post(
        reverse("account_signup"),
        {"email": "fresh@example.com", "password1": "a-long-enough-pass", "password2": "a-long-enough-pass"},
    )
    accepted = client.post(reverse("invitation_accept", args=[token]))

    assert "Create your account" in welcome.content.decode()
    assert signup.status_code == 302
    assert signup.url == reverse("invitation_accept", args=[token])
    assert accepted.status_code == 302
    assert StaffMembership.objects.get(merchant=merchant, user__email="fresh@example.com").role == Role.ANALYST


def test_signup_is_closed_without_an_invitation(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "random@example.com", "password1": "a-long-enough-pass", "password2": "a-long-enough-pass"},
    )

    assert "closed" in response.content.decode().lower()
    assert not StaffMembership.all_merchants.filter(user__email="random@example.com").exists()


def test_inviting_an_existing_member_is_a_form_error(owner_client, manager):
    response = owner_client.post(reverse("settings_staff_invite"), {"email": manager.email, "role": Role.ANALYST})

    assert response.status_code == 400
    assert "already on your team" in response.content.decode()


def test_last_owner_cannot_be_demoted_or_removed(owner, merchant, owner_client):
    membership = StaffMembership.objects.get(merchant=merchant, user=owner)

    demote = owner_client.post(reverse("settings_membership_edit", args=[membership.pk]), {"role": Role.ANALYST})
    remove = owner_client.post(reverse("settings_membership_remove", args=[membership.pk]), follow=True)

    assert "at least one owner" in demote.content.decode()
    assert "at least one owner" in remove.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_owner_changes_a_role_and_it_is_audited(owner_client, manager, merchant):
    membership = StaffMembership.objects.get(merchant=merchant, user=manager)

    owner_client.post(reverse("settings_membership_edit", args=[membership.pk]), {"role": Role.ANALYST})

    membership.refresh_from_db()
    assert membership.role == Role.ANALYST
    event = AuditEvent.objects.get(merchant=merchant, action="staff.role_changed")
    assert event.detail == {"previous": "manager", "role": "analyst"}


def test_store_of_another_merchant_cannot_be_assigned(owner_client, manager, merchant, other_store):
    membership = StaffMembership.objects.get(merchant=merchant, user=manager)

    response = owner_client.post(
        reverse("settings_membership_edit", args=[membership.pk]), {"role": Role.STORE_STAFF, "store": other_store.pk}
    )

    assert "Select a valid choice" in response.content.decode()
    membership.refresh_from_db()
    assert membership.store is None


# API keys


def test_owner_creates_a_key_and_sees_the_secret_once(owner_client, merchant):
    response = owner_client.post(reverse("settings_api_keys"), {"name": "Web shop", "scopes": ["purchases:write"]})
    page = owner_client.get(response.url).content.decode()

    api_key = MerchantAPIKey.objects.get(merchant=merchant, name="Web shop")
    secret_start = page.index('id="new-key-secret">') + len('id="new-key-secret">')
    secret = page[secret_start : page.index("<", secret_start)]
    assert secret.startswith(api_key.prefix + ".")
    assert api_key.is_valid(secret)
    assert response.status_code == 302  # a reload cannot create a second key
    assert secret not in owner_client.get(reverse("settings_api_keys")).content.decode()
    assert secret not in api_key.hashed_key


def test_key_without_scope_is_a_form_error(owner_client, merchant):
    response = owner_client.post(reverse("settings_api_keys"), {"name": "Web shop"})

    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not MerchantAPIKey.objects.filter(merchant=merchant).exists()


def test_revoke_with_htmx_returns_the_row(owner_client, api_key_pair):
    api_key, _ = api_key_pair

    response = owner_client.post(reverse("settings_api_key_revoke", args=[api_key.prefix]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Revoked" in response.content.decode()
    assert "<html" not in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked and api_key.revoked_at is not None


# Merchant settings and the switcher


def test_owner_requires_mfa_and_staff_without_it_are_sent_to_set_it_up(owner_client, merchant, manager, client_for):
    owner_client.post(
        reverse("settings_general"),
        {
            "name": "Northwind",
            "currency": "eur",
            "timezone": "Europe/Amsterdam",
            "default_language": "en",
            "require_mfa": "on",
        },
    )
    merchant.refresh_from_db()
    response = client_for(manager).get(reverse("dashboard"))

    assert merchant.require_mfa and merchant.currency == "EUR"
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_bad_currency_is_a_form_error(owner_client, merchant):
    response = owner_client.post(
        reverse("settings_general"),
        {"name": "Northwind", "currency": "EURO", "timezone": "Europe/Amsterdam", "default_language": "en"},
    )

    assert "three-letter" in response.content.decode() or "at most 3" in response.content.decode()
    merchant.refresh_from_db()
    assert merchant.currency == "EUR"


def test_switcher_moves_between_own_merchants_only(owner, other_merchant, merchant, client_for):
    third = StoreFactory().merchant
    MembershipFactory(user=owner, merchant=third, role=Role.ANALYST)
    client = client_for(owner)

    client.post(reverse("merchant_switch"), {"merchant_id": third.pk})
    switched = client.get(reverse("dashboard")).content.decode()
    client.post(reverse("merchant_switch"), {"merchant_id": other_merchant.pk})
    refused = client.get(reverse("dashboard")).content.decode()

    assert f"<h1>{third.name}</h1>" in switched
    assert f"<h1>{other_merchant.name}</h1>" not in refused


def test_pages_need_csrf(owner, merchant):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(reverse("settings_store_create"), STORE_POST)

    assert response.status_code == 403
    assert not Store.objects.filter(merchant=merchant, name="Harbour").exists()


def test_invitation_sign_up_only_with_the_invited_address(owner, merchant, client):
    _invitation, token = services.staff_invite(
        merchant=merchant, actor=owner, email="fresh@example.com", role=Role.ANALYST
    )
    client.get(reverse("invitation_accept", args=[token]))

    response = client.post(
        reverse("account_signup"),
        {"email": "someone.else@example.com", "password1": "a-long-enough-pass", "password2": "a-long-enough-pass"},
    )

    assert "Sign up with fresh@example.com" in response.content.decode()
    assert not User.objects.filter(email="someone.else@example.com").exists()


def test_store_names_are_unique_whatever_the_case(owner_client, store, merchant):
    response = owner_client.post(reverse("settings_store_create"), {**STORE_POST, "name": "MAIN street"})

    assert "already have a store with this name" in response.content.decode()
    assert Store.objects.filter(merchant=merchant).count() == 1


def test_long_email_invitation_is_a_form_error(owner_client):
    response = owner_client.post(
        reverse("settings_staff_invite"), {"email": "a" * 250 + "@example.com", "role": Role.ANALYST}
    )

    assert response.status_code == 400
    assert "at most 254 characters" in response.content.decode()
