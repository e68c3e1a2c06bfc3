"""The home page at desktop and phone width, and a broadcast's progress updating by itself."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignSettings
from campaigns.services import broadcasts, sending
from merchants.permissions import Role
from profiles.models import JoinedVia
from tests.campaigns.engine.helpers import campaign_with_message, launched, reachable_shopper
from tests.factories import TEST_PASSWORD, MembershipFactory, MerchantFactory, StoreFactory, UserFactory
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, email):
    page.goto(f"{live_server.url}{reverse('account_login')}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def _document_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_the_owner_reads_the_morning_figures_and_follows_one(live_server, page, screenshot, width, height):
    merchant = MerchantFactory(name="Northwind Outfitters", currency="EUR", timezone="Europe/Paris")
    store = StoreFactory(merchant=merchant, name="Harbour Outlet")
    ProgramFactory(merchant=merchant)
    for shopper in ShopperFactory.create_batch(3, merchant=merchant, joined_via=JoinedVia.KIOSK):
        PurchaseFactory(
            merchant=merchant,
            shopper=shopper,
            store=store,
            channel="in_store",
            amount_minor=180000,
            occurred_at=timezone.now() - timedelta(seconds=5),
        )
    owner = UserFactory(email="owner@northwind.test")
    MembershipFactory(merchant=merchant, user=owner, role=Role.OWNER)
    page.set_viewport_size({"width": width, "height": height})

    _sign_in(page, live_server, "owner@northwind.test")
    page.locator("#home-sales").wait_for()

    sales_today = page.locator('#home-sales tr[data-figure="sales_minor"] td').first
    assert sales_today.locator("a").inner_text() == "€5,400.00"
    assert "vs €0.00" in sales_today.inner_text()
    kiosk = page.locator('#home-signups tr[data-figure="kiosk"] td').first
    assert kiosk.locator("a").inner_text() == "3"
    assert page.get_by_role("heading", name="Needs attention").is_visible()  # insights not computed yet
    assert _document_overflow(page) <= 0, "the page scrolls sideways"
    screenshot(f"home-{width}")

    sales_today.locator("a").click()
    page.wait_for_url(f"**{reverse('insights:overview')}")


def test_a_sending_broadcast_shows_its_progress_updating_by_itself(live_server, page, screenshot):
    merchant = MerchantFactory(name="Northwind Outfitters")
    CampaignSettings.objects.update_or_create(
        merchant=merchant, defaults={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
    )
    for _ in range(8):
        reachable_shopper(merchant)
    # Launched for later, then due: the test, not an eager task at launch, plays the worker.
    later = timezone.now() + timedelta(hours=1)
    campaign = launched(campaign_with_message(merchant, name="Winter sale", scheduled_at=later))
    Campaign.objects.for_merchant(merchant).filter(pk=campaign.pk).update(next_run_at=timezone.now())
    (run,) = broadcasts.broadcast_runs_start()
    broadcasts.broadcast_chunk_write(run_id=run.run_id, index=0)
    manager = UserFactory(email="manager@northwind.test")
    MembershipFactory(merchant=merchant, user=manager, role=Role.MANAGER)

    _sign_in(page, live_server, "manager@northwind.test")
    page.goto(f"{live_server.url}{reverse('campaigns:campaign_report', args=[campaign.pk])}")
    progress = page.locator("#broadcast-progress")
    assert progress.locator('[data-progress="remaining"] .figure').inner_text() == "8"
    assert progress.locator('[data-progress="sent"] .figure').inner_text() == "0"
    assert "in progress" in progress.locator("h2").inner_text()
    screenshot("broadcast-progress-sending")

    # when the worker sends while the page stays open, nobody reloading it
    while sending.outbox_send().claimed:
        pass

    # then the figures change by themselves and the polling stops at "complete"
    page.locator("#broadcast-progress h2", has_text="complete").wait_for(timeout=15_000)
    assert progress.locator('[data-progress="sent"] .figure').inner_text() == "8"
    assert progress.locator('[data-progress="remaining"] .figure').inner_text() == "0"
    assert progress.get_attribute("hx-trigger") is None
    # and the page reloaded once: the results below say the same
    page.get_by_label("Key figures").get_by_text("messages sent").wait_for()
    assert page.get_by_label("Key figures").locator("article").first.inner_text().startswith("8")
    screenshot("broadcast-progress-complete")
