"""The Program lift and Loyalty ROI pages in a real browser, on a laptop and on a phone."""

import pytest
from django.urls import reverse

from campaigns.services import holdout
from merchants.permissions import Role
from tests.browser.conftest import ARTIFACTS
from tests.factories import TEST_PASSWORD, MembershipFactory, MerchantFactory, UserFactory
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import ShopperFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _too_wide(page) -> list[str]:
    """Elements of the page's content reaching past the window's right edge (tables scroll in their own box)."""
    return page.evaluate(
        """() => [...document.querySelectorAll("main *")]
            .filter((element) => element.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .filter((element) => !element.closest(".overflow-auto, .visually-hidden"))
            .map((element) => element.tagName + "." + element.className + "#" + element.id)"""
    )


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_a_manager_turns_the_program_holdout_on_and_reads_both_pages(live_server, browser, width, height):
    merchant = MerchantFactory(name="Northwind Outfitters")
    ProgramFactory(merchant=merchant)
    for _ in range(40):
        ShopperFactory(merchant=merchant)
    manager = UserFactory(email="manager@northwind.test")
    MembershipFactory(merchant=merchant, user=manager, role=Role.MANAGER)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()

    def screenshot(name):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    page.goto(f"{live_server.url}{reverse('campaigns:program_lift')}")
    page.get_by_label("Email").fill("manager@northwind.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name="Program lift").wait_for()
    page.get_by_label("Keep a program holdout").check()
    page.get_by_label("Share held out (%)").fill("10")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("held-out shoppers get no marketing message this quarter").wait_for()
    assert holdout.program_holdout_settings_get(merchant=merchant).is_enabled
    assert page.locator("#program-groups").count() == 1
    screenshot(f"program-lift-{width}")
    assert _too_wide(page) == []

    page.goto(f"{live_server.url}{reverse('loyalty:roi')}")
    page.get_by_role("heading", name="By enrolment month").wait_for()
    screenshot(f"loyalty-roi-{width}")
    assert _too_wide(page) == []
    context.close()
