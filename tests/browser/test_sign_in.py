import pytest

from merchants.models import MerchantAPIKey
from merchants.permissions import Role
from tests.factories import TEST_PASSWORD, MembershipFactory, MerchantFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_signs_in_opens_the_dashboard_and_revokes_a_key(live_server, page, screenshot):
    merchant = MerchantFactory(name="Northwind Outfitters")
    StoreFactory(merchant=merchant, name="Riverside Mall")
    owner = UserFactory(email="owner@northwind.test")
    MembershipFactory(merchant=merchant, user=owner, role=Role.OWNER)

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Email").fill("owner@northwind.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    screenshot("sign-in")
    page.get_by_role("button", name="Sign In").click()

    page.get_by_role("heading", name="Northwind Outfitters").wait_for()
    assert page.get_by_role("link", name="Settings").is_visible()
    assert page.get_by_text("Riverside Mall").first.is_visible()
    screenshot("dashboard")

    # Create a key, then revoke it through htmx (which must carry the CSRF token).
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("Web checkout")
    page.get_by_label("Record and refund purchases, post visits").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-secret").inner_text()
    assert "." in secret
    screenshot("api-key-created")

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Web checkout").click()
    page.locator(".badge-revoked").wait_for()
    screenshot("api-key-revoked")
    assert MerchantAPIKey.objects.for_merchant(merchant).get(name="Web checkout").revoked
