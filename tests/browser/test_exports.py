import pytest

from merchants.permissions import Role
from tests.exports.conftest import read_csv
from tests.factories import TEST_PASSWORD, MembershipFactory, MerchantFactory, StoreFactory, UserFactory
from tests.profiles.factories import PurchaseFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_exports_purchases_from_a_phone(live_server, browser):
    merchant = MerchantFactory(name="Northwind")
    store = StoreFactory(merchant=merchant, name="Main Street")
    PurchaseFactory(merchant=merchant, store=store, external_id="order-1")
    manager = UserFactory(email="manager@northwind.test")
    MembershipFactory(merchant=merchant, user=manager, role=Role.MANAGER)
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()

    page.goto(f"{live_server.url}/settings/export/")
    page.get_by_label("Email").fill("manager@northwind.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name="Export your data").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.get_by_label("Store").select_option(label="Main Street")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()

    rows = read_csv(download.value.path().read_text(encoding="utf-8"))
    assert [row["external_id"] for row in rows] == ["order-1"]
    context.close()
