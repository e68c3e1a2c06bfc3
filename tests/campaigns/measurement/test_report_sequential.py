"""The report before its planned end: the confidence sequence's band, and the day the answer settled."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.measurement import selectors
from campaigns.models import AssignmentGroup, CampaignKind, CampaignStatus, Trigger
from tests.campaigns.factories import AssignmentFactory, CampaignFactory
from tests.profiles.factories import PurchaseFactory

pytestmark = pytest.mark.django_db


def _broadcast(merchant, *, assigned, treated_spend, held_spend, bought_after_days=1.5):
    """A broadcast with a 7-day window: 60 messaged shoppers, 40 held out; `treated_spend` and `held_spend`
    list what each buyer of a group spent, `bought_after_days` after the assignment (the rest bought nothing)."""
    campaign = CampaignFactory(merchant=merchant, attribution_days=7, kind=CampaignKind.BROADCAST)
    for group, shoppers, spends in (
        (AssignmentGroup.TREATMENT, 60, treated_spend),
        (AssignmentGroup.HOLDOUT, 40, held_spend),
    ):
        for index in range(shoppers):
            shopper = AssignmentFactory(campaign=campaign, group=group, assigned_at=assigned).shopper
            if index < len(spends):
                PurchaseFactory(
                    merchant=merchant,
                    shopper=shopper,
                    amount_minor=spends[index],
                    occurred_at=assigned + timedelta(days=bought_after_days),
                )
    return campaign


def test_a_clear_lift_before_the_planned_end_is_settled_on_the_day_it_showed(merchant, owner_client):
    # given: a broadcast sent 4 days ago (3 days before its planned end); nobody bought on its first day, then
    # 40 of 60 messaged shoppers spent 100.00 each and 10 of 40 held-out shoppers 10.00 each, a day and a half in
    assigned = timezone.now() - timedelta(days=4)
    campaign = _broadcast(merchant, assigned=assigned, treated_spend=[10_000] * 40, held_spend=[1000] * 10)

    # when
    report = selectors.campaign_report(merchant=merchant, campaign=campaign)
    page = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).content.decode()

    # then: the report judges by the always-valid band, which is wider than the single look's interval
    fixed = report.revenue_adjustment.difference
    assert report.is_sequential
    assert report.revenue_lift.estimate == pytest.approx(fixed.estimate)
    assert report.revenue_lift.high - report.revenue_lift.low > 1.5 * (fixed.high - fixed.low)
    assert report.revenue_lift.is_significant
    # and it settled at the end of the second day, the first daily look with buyers
    assert report.settled_at == assigned + timedelta(days=2)
    assert report.sentence.startswith("The lift is settled, however often this report is opened")
    assert "95 % always-valid interval" in report.sentence
    settled_day = timezone.localtime(assigned + timedelta(days=2), timezone.get_fixed_timezone(0)).strftime("%-d %b %Y")
    assert f"The answer became settled on {settled_day}" in page


def test_a_small_difference_before_the_planned_end_is_not_settled_yet(merchant, owner_client):
    # given: 40 of 60 messaged shoppers spending 52.00–55.90 and 24 of 40 held out spending 40.00: a difference
    # of about 2.4 standard errors, which a single look's interval would call significant
    assigned = timezone.now() - timedelta(days=4)
    campaign = _broadcast(
        merchant, assigned=assigned, treated_spend=[5200 + 10 * i for i in range(40)], held_spend=[4000] * 24
    )

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)
    page = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).content.decode()

    assert report.revenue_adjustment.difference.is_significant
    assert report.is_sequential and not report.revenue_lift.is_significant
    assert report.settled_at is None
    assert report.sentence.startswith("Not settled yet: the difference of")
    assert "Not settled yet. Open this report as often as you like" in page
    # the list page judges as the report does
    headline = selectors.campaign_headlines(merchant=merchant, campaigns=[campaign])[campaign.pk]
    assert headline.is_significant is False


def test_after_the_planned_end_the_report_gives_the_planned_analysis_and_keeps_the_settled_day(merchant):
    # given: the clear lift of the first test, looked at 10 days after the broadcast (its window was 7 days)
    assigned = timezone.now() - timedelta(days=10)
    campaign = _broadcast(merchant, assigned=assigned, treated_spend=[10_000] * 40, held_spend=[1000] * 10)

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    assert not report.is_sequential
    assert report.revenue_lift == report.revenue_adjustment.difference
    assert report.sentence.startswith("The lift is significant")
    assert report.settled_at == assigned + timedelta(days=2)


def test_a_triggered_campaign_without_an_end_date_is_always_judged_by_the_sequence(merchant):
    # given: a thank-you campaign running for 60 days with no end date
    assigned = timezone.now() - timedelta(days=60)
    campaign = _broadcast(merchant, assigned=assigned, treated_spend=[10_000] * 40, held_spend=[1000] * 10)
    campaign.kind, campaign.trigger, campaign.status = CampaignKind.REALTIME, Trigger.THANK_YOU, CampaignStatus.ACTIVE
    campaign.save()

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    assert report.is_sequential and report.planned_end is None
    assert report.revenue_lift.high - report.revenue_lift.low > report.revenue_adjustment.difference.high - (
        report.revenue_adjustment.difference.low
    )
    assert report.settled_at == assigned + timedelta(days=2)


def test_another_merchants_campaign_report_is_a_404(merchant, outsider_client):
    campaign = _broadcast(merchant, assigned=timezone.now() - timedelta(days=4), treated_spend=[], held_spend=[])
    assert outsider_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).status_code == 404
