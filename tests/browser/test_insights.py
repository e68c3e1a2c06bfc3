import pytest
from django.urls import reverse

from insights import services
from merchants.permissions import Role
from tests.factories import (
    TEST_PASSWORD,
    MembershipFactory,
    MerchantFactory,
    NetworkFactory,
    StoreFactory,
    UserFactory,
)
from tests.insights.insight_data import NOW, history_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = ["overview", "lifecycle", "channels", "traffic", "reach", "stores", "products", "network"]


def test_an_analyst_opens_every_insight_page_and_filters_without_a_reload(live_server, page, screenshot):
    merchant = MerchantFactory(name="Northwind Outfitters")
    NetworkFactory(name="Riverside Mall", slug="riverside").merchants.add(merchant)
    StoreFactory(merchant=merchant, name="Riverside Mall", timezone="Europe/Amsterdam", region="North")
    StoreFactory(merchant=merchant, name="Harbour Outlet", timezone="Europe/London", region="West")
    history_load(merchant, shoppers=200, purchases=2500)
    services.insights_refresh(merchant=merchant, now=NOW)
    analyst = UserFactory(email="analyst@northwind.test")
    MembershipFactory(merchant=merchant, user=analyst, role=Role.ANALYST)

    page.goto(f"{live_server.url}{reverse('account_login')}")
    page.get_by_label("Email").fill("analyst@northwind.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Insights", exact=True).click()

    for name in PAGES:
        page.goto(f"{live_server.url}{reverse(f'insights:{name}')}")
        page.locator("#insight-body").wait_for()
        assert page.locator(".empty-state").count() == 0, name
        # Charts are drawn by Chart.js into their canvas.
        for canvas in page.locator("canvas[data-chart]").all():
            assert canvas.evaluate("element => Chart.getChart(element) !== undefined"), name
        screenshot(f"insights-{name}")

    page.goto(f"{live_server.url}{reverse('insights:overview')}")
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Store").select_option(label="Harbour Outlet")
    page.get_by_role("heading", name="Last 28 days · Harbour Outlet").wait_for()
    assert page.evaluate("window.__notReloaded === true")
    assert "scope=" in page.url
    screenshot("insights-overview-filtered")
