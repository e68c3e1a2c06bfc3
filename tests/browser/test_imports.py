import pytest

from merchants.permissions import Role
from profiles.models import Purchase
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_payment_sources import _too_wide
from tests.factories import TEST_PASSWORD, MembershipFactory, MerchantFactory, UserFactory
from tests.imports.files import csv_bytes
from tests.imports.test_shoppers_and_templates import SHOPIFY_ORDERS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORDERS = [
    [
        "#1001",
        "a@example.com",
        "paid",
        "",
        "USD",
        "30.00",
        "32.50",
        "2024-05-01 10:00:00 -0400",
        "2",
        "Tee",
        "10.00",
        "T-1",
        "5123456789013",
        "",
        "",
    ],
    ["#1001", "", "", "", "", "", "", "", "1", "Cap", "12.50", "C-1", "", "", ""],
    [
        "#1002",
        "b@example.com",
        "paid",
        "",
        "USD",
        "5.00",
        "5.00",
        "2024-05-02 09:00:00 -0400",
        "1",
        "Pin",
        "5.00",
        "P-1",
        "5123456789021",
        "",
        "",
    ],
]


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_a_manager_imports_a_shopify_orders_export(live_server, browser, tmp_path, width, height):
    merchant = MerchantFactory(name="Northwind Outfitters")
    manager = UserFactory(email="manager@northwind.test")
    MembershipFactory(merchant=merchant, user=manager, role=Role.MANAGER)
    upload = tmp_path / "orders_export_1.csv"
    upload.write_bytes(csv_bytes(ORDERS, SHOPIFY_ORDERS))
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()

    def shoot(name):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)

    page.goto(f"{live_server.url}/settings/import/")
    page.get_by_label("Email").fill("manager@northwind.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name="Import your history").wait_for()
    assert page.get_by_role("link", name="Import", exact=True).get_attribute("aria-current") == "page"
    assert _too_wide(page) == []

    page.get_by_label("The file holds").select_option(label="Purchases with line items")
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and map the columns").click()
    page.get_by_text("recognised as a Shopify orders export").wait_for()
    # the columns are already mapped from the export's own names
    assert page.get_by_label("Order id").input_value() == "Name"
    assert page.get_by_label("Item unit price").input_value() == "Lineitem price"
    shoot("import-mapping")
    assert _too_wide(page) == []

    page.get_by_role("button", name="Save the columns and check the file").click()
    page.get_by_text("Every row passed the check. Nothing has been written yet.").wait_for()
    assert Purchase.objects.for_merchant(merchant).count() == 0
    page.get_by_role("button", name="Import 3 rows").click()
    page.get_by_text("3 of 3 rows applied; 2 new records.").wait_for()
    shoot("import-done")
    assert _too_wide(page) == []
    assert Purchase.objects.for_merchant(merchant).count() == 2
    context.close()
