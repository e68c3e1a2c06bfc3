import random
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus
from demo.campaigns import _broadcast
from merchants.permissions import Role
from profiles.models import ConsentEvent, ContactPoint, Shopper
from tests.campaigns.engine.helpers import reachable_shopper
from tests.factories import TEST_PASSWORD, MembershipFactory, MerchantFactory, StoreFactory, UserFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, email):
    page.goto(f"{live_server.url}{reverse('account_login')}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_a_manager_builds_a_campaign_and_opens_reports(live_server, page, screenshot):
    merchant = MerchantFactory(name="Northwind Outfitters")
    store = StoreFactory(merchant=merchant, name="Harbour Outlet")
    shoppers = [reachable_shopper(merchant) for _ in range(300)]
    ShopperFactory.create_batch(20, merchant=merchant)  # no consent: the campaign cannot reach them
    # They consented before the demo broadcast went out, 30 days ago (it sends only to shoppers reachable then).
    before_launch = timezone.now() - timedelta(days=60)
    ConsentEvent.objects.filter(merchant=merchant).update(occurred_at=before_launch)
    ContactPoint.objects.filter(merchant=merchant, is_verified=True).update(verified_at=before_launch)
    # Some in-store history: the demo campaign's returning shoppers buy at the hours these were made.
    for day in range(60):
        PurchaseFactory(
            merchant=merchant,
            shopper=shoppers[day],
            store=store,
            channel="in_store",
            amount_minor=4500,
            occurred_at=timezone.now() - timedelta(days=day, hours=3),
        )
    finished = _broadcast(
        merchant, list(Shopper.objects.for_merchant(merchant).values_list("pk", flat=True)), random.Random(3)
    )
    manager = UserFactory(email="manager@northwind.test")
    MembershipFactory(merchant=merchant, user=manager, role=Role.MANAGER)

    _sign_in(page, live_server, "manager@northwind.test")
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_role("heading", name="Campaigns").wait_for()
    assert page.get_by_role("link", name=finished.name).is_visible()
    screenshot("campaigns-list")

    # The builder: the audience hint updates as the holdout changes (htmx).
    page.get_by_role("button", name="New campaign").click()
    page.locator("#sample-hint").wait_for()
    assert "300 reachable · 30 held out · 270 to be messaged" in page.locator("#sample-hint").inner_text()
    page.get_by_label("Holdout (%)").fill("20")
    page.get_by_label("Holdout (%)").dispatch_event("change")
    page.get_by_text("300 reachable · 60 held out · 240 to be messaged", exact=False).wait_for()
    page.get_by_label("Name").fill("Spring comeback")
    page.get_by_label("Send at").fill("2030-03-01T10:00")
    page.locator("#id_subject_A_en").fill("Spring is here, {{ first_name }}")
    page.locator("#id_body_A_en").fill("Come and see the new collection.")
    page.locator("#id_subject_B_en").fill("New season, new looks")
    page.locator("#id_body_B_en").fill("The spring collection has landed.")
    screenshot("campaign-builder")
    page.get_by_role("button", name="Save and review").click()

    page.locator("#significance").wait_for()
    created = Campaign.objects.for_merchant(merchant).get(name="Spring comeback")
    assert created.status == CampaignStatus.DRAFT and created.holdout_percent == 20
    assert sorted(created.variants.values_list("key", flat=True)) == ["A", "B"]
    assert page.get_by_role("heading", name="Spring comeback").is_visible()
    assert "Before launch" in page.locator("#sample-hint").inner_text()
    screenshot("campaign-report-draft")

    # A finished campaign's report: groups, lift with its interval, variants, redemption, ROI.
    page.goto(f"{live_server.url}{reverse('campaigns:campaign_report', args=[finished.pk])}")
    page.locator("#groups-table").wait_for()
    assert page.locator("#groups-table tbody tr").count() == 2
    assert page.locator("#variants-table tbody tr").count() == 2
    # A few hundred shoppers may leave too few held-out buyers to judge: then the report says so instead.
    report_text = page.locator("main").inner_text()
    assert "95 % interval" in report_text or "Not enough data yet" in report_text
    screenshot("campaign-report-finished")


def test_a_shopper_answers_the_survey_in_arabic_and_staff_see_it(live_server, page, screenshot):
    from urllib.parse import urlsplit

    from campaigns.links import feedback_url
    from campaigns.models import CampaignKind, FeedbackResponse, Trigger
    from tests.campaigns.factories import AssignmentFactory, CampaignFactory, OutboxMessageFactory

    merchant = MerchantFactory(name="Northwind Outfitters")
    store = StoreFactory(merchant=merchant, name="Harbour Outlet")
    shopper = ShopperFactory(merchant=merchant, language="ar")
    purchase = PurchaseFactory(merchant=merchant, shopper=shopper, store=store, channel="in_store")
    campaign = CampaignFactory(merchant=merchant, kind=CampaignKind.REALTIME, trigger=Trigger.FEEDBACK_REQUEST)
    assignment = AssignmentFactory(campaign=campaign, shopper=shopper, dedupe_key=f"purchase:{purchase.pk}")
    message = OutboxMessageFactory(assignment=assignment, status="sent")
    MembershipFactory(merchant=merchant, user=UserFactory(email="analyst@northwind.test"), role=Role.ANALYST)

    link = urlsplit(feedback_url(message_id=message.pk))
    page.goto(f"{live_server.url}{link.path}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.locator("label.score", has_text="9").click()
    page.locator("#id_comment").fill("خدمة رائعة")
    screenshot("feedback-survey-ar")
    page.locator("button[type=submit]").click()
    page.get_by_role("heading", name="شكرًا على إجابتك!").wait_for()
    screenshot("feedback-survey-ar-thanks")
    answer = FeedbackResponse.objects.for_merchant(merchant).get()
    assert (answer.score, answer.comment, answer.language, answer.store) == (9, "خدمة رائعة", "ar", store)

    _sign_in(page, live_server, "analyst@northwind.test")
    page.goto(f"{live_server.url}{reverse('campaigns:feedback')}")
    page.locator("#feedback-stores").wait_for()
    assert "Harbour Outlet" in page.locator("#feedback-stores").inner_text()
    assert "خدمة رائعة" in page.locator("main").inner_text()
    screenshot("feedback-dashboard")
