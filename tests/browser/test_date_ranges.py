"""A from–to range on an insight page, chosen the way a merchant would: no reload, the URL keeps it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.staff_pages import signed_in_context, world_build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_merchant_picks_a_from_to_range_on_the_overview(live_server, browser):
    world = world_build()
    context = signed_in_context(browser, world, live_server.url, width=390, height=844)
    page = context.new_page()
    page.goto(f"{live_server.url}/insights/")
    page.evaluate("window.__notReloaded = true")
    assert not page.get_by_label("From", exact=True).is_visible()

    # choosing "From – to…" asks for the two days before anything changes
    page.locator("#id_period").select_option(label="From – to…")
    assert page.get_by_label("From", exact=True).is_visible()
    assert page.locator("#insight-body h2").first.inner_text().startswith("Last 28 days")

    last = timezone.localdate() - timedelta(days=2)
    first = last - timedelta(days=9)
    page.get_by_label("From", exact=True).fill(first.isoformat())
    page.get_by_label("To", exact=True).fill(last.isoformat())
    page.get_by_label("To", exact=True).dispatch_event("change")

    page.get_by_role("heading", name=f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}", exact=False).wait_for()
    assert page.evaluate("window.__notReloaded === true")
    assert "date_from=" in page.url and "period=custom" in page.url
    assert "computed for the preset periods only" in page.locator("#insight-body").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
