"""Every staff page on a phone (390×844): nothing reaches past the window's edge, and axe-core finds no serious or
critical accessibility violation.

The pages are enumerated from the URL conf (tests/browser/staff_pages.py), so a page added later is checked too.
Both checks share one visit per page to keep the test near a minute. axe-core is vendored under static/vendor.
"""

import os
from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.staff_pages import page_urls, signed_in_context, staff_page_urls, world_build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# URLs the world makes no object for: actions reached from a page (a POST on a merge, an API key, an invitation, a
# delivery). A new staff URL with another argument fails the test until the world makes an object for it.
UNFILLED_ON_PURPOSE = {
    "profiles:merge_undo",
    "settings_api_key_revoke",
    "settings_invitation_revoke",
    "signup_points:revoke",
    "payment_sources:delivery_replay",
    "webhooks:replay",
    "loyalty:partner_accept",
    "campaigns:campaign_action",
}
PHONE = {"width": 390, "height": 844}
AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core-4.11.0" / "axe.min.js"

WIDER_THAN_THE_WINDOW = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter((element) => element.getBoundingClientRect().right > width + 1)
    .filter((element) => !element.closest(".overflow-auto, .visually-hidden"))
    .filter((element) => element.getClientRects().length > 0)
    .slice(0, 5)
    .map((element) => element.tagName.toLowerCase() + (element.id ? "#" + element.id : ""));
}"""
SERIOUS_VIOLATIONS = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((violation) => ["serious", "critical"].includes(violation.impact))
    .map((violation) => violation.id + ": "
         + violation.nodes.slice(0, 3).map((node) => node.target.join(" ")).join(" | "));
}"""


def test_every_staff_page_fits_a_phone_and_passes_axe(live_server, browser):
    # given a merchant with one of everything, and its owner on a phone
    world = world_build()
    _urls, unfilled = staff_page_urls(world)
    assert set(unfilled) <= UNFILLED_ON_PURPOSE, "a staff URL the world has no object for"
    pages, broken = page_urls(world)
    assert broken == []
    assert len(pages) >= 37
    context = signed_in_context(browser, world, live_server.url, **PHONE)
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)

    # when each page is opened
    too_wide, inaccessible = {}, {}
    for name, url in pages.items():
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")
        document_width = page.evaluate("document.documentElement.scrollWidth")
        if document_width > PHONE["width"]:
            too_wide[name] = (document_width, page.evaluate(WIDER_THAN_THE_WINDOW))
        if document_width > PHONE["width"] or os.environ.get("PHONE_SCREENSHOTS"):  # for a person to look at
            page.screenshot(path=str(ARTIFACTS / f"phone-{name.replace(':', '-')}.png"), full_page=True)
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate(SERIOUS_VIOLATIONS)
        if violations:
            inaccessible[name] = violations
    context.close()

    # then the document is never wider than the window, and nothing serious stands in anyone's way
    assert too_wide == {}
    assert inaccessible == {}
