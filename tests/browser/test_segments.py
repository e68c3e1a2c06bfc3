import re

import pytest
from django.urls import reverse

from campaigns.models import Segment
from merchants.permissions import Role
from tests.campaigns.segments.population import population_build
from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# htmx binds the triggers of swapped-in rows as it settles them; a person is never faster than that, a test is.
_SETTLED = "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"


def _add_condition(page):
    page.get_by_role("button", name="Add a condition").click()
    page.wait_for_function(_SETTLED)


def test_a_manager_builds_a_segment_watching_the_count_and_saves_it(live_server, page, screenshot):
    population = population_build()
    manager = UserFactory(email="manager@northwind.test")
    MembershipFactory(merchant=population.merchant, user=manager, role=Role.MANAGER)

    page.goto(f"{live_server.url}{reverse('account_login')}")
    page.get_by_label("Email").fill("manager@northwind.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Segments").click()
    page.get_by_role("button", name="New segment").click()

    count = page.locator("[data-audience-count]")
    assert count.inner_text() == "4"  # no conditions: every active shopper
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Name").fill("English-speaking regulars")
    _add_condition(page)
    page.get_by_label("Condition 1: field").select_option(label="Language")
    page.wait_for_function(_SETTLED)
    page.get_by_role("checkbox", name="English").check()
    page.locator("[data-audience-count]").filter(has_text=re.compile(r"^2$")).wait_for()

    _add_condition(page)
    page.get_by_role("checkbox", name="Regular").check()
    page.locator("[data-audience-count]").filter(has_text=re.compile(r"^1$")).wait_for()
    assert page.evaluate("window.__notReloaded === true")
    screenshot("segments-builder")

    page.get_by_role("button", name="Remove condition 2").click()
    page.locator("[data-audience-count]").filter(has_text=re.compile(r"^2$")).wait_for()
    page.get_by_role("button", name="Save segment").click()
    page.locator(".message-success", has_text="is saved").wait_for()
    segment = Segment.objects.get(merchant=population.merchant)
    assert segment.name == "English-speaking regulars"
    assert segment.rules == {"match": "all", "conditions": [{"field": "language", "op": "in", "value": ["en"]}]}

    page.get_by_role("button", name="Freeze a snapshot of the saved rules").click()
    page.locator(".message-success", has_text="frozen with 2 shopper(s)").wait_for()
    page.get_by_role("link", name="Segments").first.click()
    assert page.locator(f'[data-segment-count="{segment.pk}"]').inner_text() == "2"
    screenshot("segments-list")
