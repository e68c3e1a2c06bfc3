"""The builder as a merchant meets it: send now, a trigger setting in the words of its trigger, shares that add up
with the holdout, and the audience in the same numbers and words on the builder, the review and the report."""

import json
import re

import pytest
from django.urls import reverse

from campaigns.models import AssignmentGroup, Campaign, CampaignStatus
from campaigns.services import launch
from tests.campaigns.engine.helpers import reachable_shopper
from tests.campaigns.factories import AssignmentFactory
from tests.campaigns.pages.test_views import _builder_data

pytestmark = pytest.mark.django_db


def test_send_now_saves_a_broadcast_that_goes_out_when_launched(owner_client, merchant, owner):
    # when the merchant ticks "Send now" instead of choosing a time
    response = owner_client.post(reverse("campaigns:campaign_create"), _builder_data(scheduled_at="", send_now="on"))

    # then the draft is saved, its builder shows "Send now" ticked, and launching schedules it for now
    assert response.status_code == 302
    campaign = Campaign.objects.get(merchant=merchant, name="Spring hello")
    assert campaign.scheduled_at is None
    builder = owner_client.get(reverse("campaigns:campaign_edit", args=[campaign.pk])).content.decode()
    assert re.search(r'<input type="checkbox" name="send_now"[^>]* checked', builder)
    launched = launch.campaign_launch(campaign=campaign, actor=owner)
    assert launched.status == CampaignStatus.SCHEDULED and launched.scheduled_at is not None


def test_send_now_and_a_time_together_is_a_friendly_error(owner_client):
    response = owner_client.post(reverse("campaigns:campaign_create"), _builder_data(send_now="on"))

    assert response.status_code == 400
    assert "Choose one: send now, or a time to send at." in response.content.decode()


def test_a_spend_trigger_takes_an_amount_in_the_currency_and_keeps_minor_units(owner_client, merchant):
    # given a merchant in euros, when a "purchase over an amount" campaign is set at €25.50
    data = _builder_data(kind="realtime", trigger="spend_over", trigger_value="25.50", scheduled_at="")
    response = owner_client.post(reverse("campaigns:campaign_create"), data)

    # then 2550 cents are kept, and the builder shows it back as euros, labelled as an amount in euros
    assert response.status_code == 302
    campaign = Campaign.objects.get(merchant=merchant, name="Spring hello")
    assert campaign.trigger_params == {"amount_minor": 2550}
    builder = owner_client.get(reverse("campaigns:campaign_edit", args=[campaign.pk])).content.decode()
    assert 'value="25.50"' in builder
    labels = json.loads(re.search(r'<script id="trigger-settings" type="application/json">(.*?)</script>', builder)[1])
    assert labels["spend_over"]["label"] == "Purchase amount over (€)"  # the label the page shows for this trigger
    assert labels["win_back"]["label"] == "Days without a purchase"
    assert "minor units" not in builder

    # and a cent's fraction is refused in words
    data["trigger_value"] = "25.505"
    response = owner_client.post(reverse("campaigns:campaign_create"), data)
    assert "Amounts in EUR have at most 2 decimals." in response.content.decode()


def test_new_variant_shares_add_up_with_the_holdout(owner_client):
    builder = owner_client.get(reverse("campaigns:campaign_create")).content.decode()

    # a 10 % holdout by default: 45 % for A and 45 % for B
    assert 'name="holdout_percent" value="10"' in builder
    assert 'name="weight_A" value="45"' in builder and 'name="weight_B" value="45"' in builder


def test_the_audience_reads_the_same_on_the_builder_the_review_and_the_report(owner_client, merchant, owner):
    # given 40 reachable shoppers and a draft with a 10 % holdout
    shoppers = [reachable_shopper(merchant) for _ in range(40)]
    owner_client.post(reverse("campaigns:campaign_create"), _builder_data())
    campaign = Campaign.objects.get(merchant=merchant, name="Spring hello")
    words = "<strong>40</strong> reachable · <strong>4</strong> held out · <strong>36</strong> to be messaged"

    # the builder's hint and the review say it in the same words
    hint = owner_client.get(
        reverse("campaigns:audience_hint"), {"holdout_percent": "10", "attribution_days": "7", "channel": "email"}
    )
    assert words in hint.content.decode()
    review = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).content.decode()
    assert words in review
    assert review.count("</strong> reachable · ") == 1  # no second, different count before anyone is sent
    # and the review previews each variant as a shopper gets it, before launch
    assert "Preview as a shopper gets it" in review

    # and once sent, the report counts who was held out and who was messaged in the same words
    for number, shopper in enumerate(shoppers):
        group = AssignmentGroup.HOLDOUT if number < 4 else AssignmentGroup.TREATMENT
        AssignmentFactory(campaign=campaign, merchant=merchant, shopper=shopper, group=group)
    Campaign.objects.for_merchant(merchant).filter(pk=campaign.pk).update(status=CampaignStatus.COMPLETED)
    report = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).content.decode()
    assert words in report
