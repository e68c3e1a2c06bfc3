"""The report's lift adjusted for each shopper's spend before the campaign (CUPED), recomputed from raw rows."""

import math
import random
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.measurement import selectors
from campaigns.models import AssignmentGroup, CampaignKind
from tests.campaigns.factories import AssignmentFactory, CampaignFactory
from tests.profiles.factories import PurchaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign_with_history(merchant):
    """40 messaged and 30 held-out shoppers; what each spent 30 days before predicts what they spend after.

    Returns the campaign and, per group, (spend in the 90 days before, spend in the window) per shopper."""
    rng = random.Random(7)
    assigned = timezone.now() - timedelta(days=8)
    campaign = CampaignFactory(merchant=merchant, attribution_days=7, kind=CampaignKind.BROADCAST)
    pairs = {AssignmentGroup.TREATMENT: [], AssignmentGroup.HOLDOUT: []}
    for group, shoppers, bump in ((AssignmentGroup.TREATMENT, 40, 800), (AssignmentGroup.HOLDOUT, 30, 0)):
        for index in range(shoppers):
            shopper = AssignmentFactory(campaign=campaign, group=group, assigned_at=assigned).shopper
            before = rng.choice([0, 2000, 4000, 8000, 12000])
            after = round(before * 0.6 + rng.uniform(0, 1500) + bump) if index % 3 else 0

            def buy(amount, days, shopper=shopper):
                PurchaseFactory(
                    merchant=merchant, shopper=shopper, amount_minor=amount, occurred_at=assigned + timedelta(days=days)
                )

            if before:
                buy(before, -30)
            if after:
                buy(after, 2)
            buy(50_000, -120)  # before the lookback: no part of the adjustment
            pairs[group].append((before, after))
    return campaign, pairs


def _by_hand(pairs):
    """θ, the adjusted difference of means and ρ², in plain floats."""

    def centred(values):
        mean = sum(values) / len(values)
        return [value - mean for value in values]

    x_spread = y_spread = cross = 0.0
    for group in pairs.values():
        xs, ys = centred([x for x, _y in group]), centred([y for _x, y in group])
        x_spread += sum(x * x for x in xs)
        y_spread += sum(y * y for y in ys)
        cross += sum(x * y for x, y in zip(xs, ys, strict=True))
    theta = cross / x_spread

    def mean(group, index):
        return sum(pair[index] for pair in group) / len(group)

    treated, held = pairs[AssignmentGroup.TREATMENT], pairs[AssignmentGroup.HOLDOUT]
    estimate = mean(treated, 1) - mean(held, 1) - theta * (mean(treated, 0) - mean(held, 0))
    return theta, estimate, cross * cross / (x_spread * y_spread)


def test_the_lift_is_adjusted_for_spend_before_the_campaign(merchant, campaign_with_history, owner_client):
    campaign, pairs = campaign_with_history
    theta, estimate, explained = _by_hand(pairs)

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)
    page = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).content.decode()

    assert report.revenue_adjustment.theta == pytest.approx(theta)
    assert report.revenue_lift.estimate == pytest.approx(estimate)
    fewer = math.floor(100 * explained)
    assert fewer >= 30
    assert report.fewer_shoppers_percent == fewer
    assert f"the same answer with {fewer} % fewer shoppers" in page
    # the adjusted interval is narrower than the unadjusted one, as the figure says
    plain = selectors.statistics.difference_of_means(report.treatment.revenue, report.holdout.revenue)
    assert report.revenue_lift.high - report.revenue_lift.low < plain.high - plain.low


def test_the_list_page_judges_the_lift_as_the_report_does(merchant, campaign_with_history):
    campaign, _pairs = campaign_with_history

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)
    headline = selectors.campaign_headlines(merchant=merchant, campaigns=[campaign])[campaign.pk]

    assert headline.is_significant == report.revenue_lift.is_significant
    assert headline.incremental_revenue_minor == report.incremental_revenue_minor
