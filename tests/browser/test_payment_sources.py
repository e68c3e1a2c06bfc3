import os
from pathlib import Path

import msgspec
import pytest

from merchants.permissions import Role
from payments.models import EventStatus, LocationMapping, PaymentEvent, PaymentSource
from payments.providers.base import Channel, Kind, ProviderEvent
from tests.browser.conftest import ARTIFACTS
from tests.factories import TEST_PASSWORD, MembershipFactory, MerchantFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "whsec_browser_Secret_0123456789abcdef"
# Where to also keep screenshots at each width (for a person to look at); the suite keeps them in test-artifacts.
EXTRA_SCREENSHOTS = os.environ.get("PAYMENTS_SCREENSHOTS_DIR", "")


def _too_wide(page) -> list[str]:
    """Elements of the page's content reaching past the window's right edge (tables scroll in their own box; the
    site header is the layout's, not this page's)."""
    return page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter((element) => element.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .filter((element) => !element.closest(".overflow-auto, .visually-hidden, .site-header"))
            .map((element) => element.tagName + "." + element.className + "#" + element.id)"""
    )


def _with_log(source):
    merchant = source.merchant
    LocationMapping.objects.create(merchant=merchant, source=source, location_id="LOC-MALL-2")
    statuses = [EventStatus.PROCESSED, EventStatus.FAILED, EventStatus.UNMAPPED, EventStatus.IGNORED]
    for number, status in enumerate(statuses):
        PaymentEvent.objects.create(
            merchant=merchant,
            source=source,
            event_id=f"evt_{number}",
            event_type="charge.captured",
            kind="capture",
            transaction_id=f"ch_3Mtw{number}",
            location_id="LOC-MALL-2" if status == EventStatus.UNMAPPED else "",
            data=msgspec.to_builtins(
                ProviderEvent(
                    "stripe",
                    f"evt_{number}",
                    Kind.CAPTURE,
                    event_type="charge.captured",
                    transaction_id=f"ch_3Mtw{number}",
                    amount_minor=2300,
                    currency=merchant.currency,
                    location_id="LOC-MALL-2" if status == EventStatus.UNMAPPED else "",
                    channel=Channel.IN_STORE,
                )
            ),
            status=status,
            detail={
                EventStatus.FAILED: "currency_mismatch: Northwind records purchases in EUR; this one is in USD.",
                EventStatus.UNMAPPED: "Location LOC-MALL-2 is not mapped to a store yet.",
                EventStatus.IGNORED: "not an event Storeloop uses",
            }.get(status, "capture"),
        )


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_a_manager_adds_a_stripe_source_and_reads_its_page(live_server, browser, width, height):
    merchant = MerchantFactory(name="Northwind Outfitters")
    store = StoreFactory(merchant=merchant, name="Riverside Mall")
    manager = UserFactory(email="manager@northwind.test")
    MembershipFactory(merchant=merchant, user=manager, role=Role.MANAGER)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()

    def shoot(name):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        if EXTRA_SCREENSHOTS:
            page.screenshot(path=str(Path(EXTRA_SCREENSHOTS) / f"{name}.png"), full_page=True)

    page.goto(f"{live_server.url}/settings/payments/")
    page.get_by_label("Email").fill("manager@northwind.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name="Add a source").wait_for()
    shoot(f"payment-sources-list-{width}")
    assert _too_wide(page) == []

    page.get_by_role("combobox", name="Provider").select_option(label="Stripe")
    page.get_by_label("Name").fill("Stripe — shops")
    page.get_by_label("Provider account id").fill("acct_northwind")
    page.get_by_label("Default store").select_option(label=store.name)
    page.get_by_label("Signing secret").fill(SECRET)
    shoot(f"payment-sources-add-{width}")
    page.get_by_role("button", name="Add source").click()

    page.get_by_role("heading", name="Source added. Now give the provider this webhook URL").wait_for()
    source = PaymentSource.objects.for_merchant(merchant).get()
    url = page.locator("#webhook-url").input_value()
    assert url.endswith(f"/api/v1/webhooks/{source.public_id}")
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert SECRET not in page.content()

    _with_log(source)
    page.reload()
    page.get_by_role("heading", name="Event log").wait_for()
    assert page.locator("tr.unmapped").count() == 1
    shoot(f"payment-source-page-{width}")
    assert _too_wide(page) == []

    page.get_by_label("Store for LOC-MALL-2").select_option(label=store.name)
    page.locator("tr.unmapped").get_by_role("button", name="Save").click()
    page.locator(".message-success", has_text="Location LOC-MALL-2 is Riverside Mall").wait_for()
    assert LocationMapping.objects.for_merchant(merchant).get(location_id="LOC-MALL-2").store == store

    page.get_by_role("link", name="Payment sources").first.click()
    page.get_by_role("link", name="Stripe — shops").wait_for()
    assert page.locator(f"#payment-source-{source.pk}").get_by_text("Active").is_visible()
    shoot(f"payment-sources-list-with-a-source-{width}")
    assert _too_wide(page) == []
    context.close()
