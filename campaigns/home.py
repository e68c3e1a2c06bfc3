"""The home page's campaigns card (see merchants.home): running campaigns with their lift so far, and
the campaigns about to go nowhere because nobody in their audience can be reached."""

from django.urls import reverse
from django.utils.translation import gettext as _

from campaigns.measurement import selectors
from campaigns.models import CampaignStatus
from merchants.home import Attention, HomeCard, HomePeriods
from merchants.models import Merchant, StaffMembership

# The home page lists this many running campaigns (the latest launched) and links to the rest.
RUNNING_SHOWN = 5
# Campaigns checked for a reachable audience: the latest active or scheduled ones.
REACH_CHECKED = 20


def campaigns_card(*, merchant: Merchant, membership: StaffMembership, periods: HomePeriods) -> HomeCard:
    live = list(
        selectors.campaign_list(merchant=merchant)
        .filter(status__in=(CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED))
        .order_by("-launched_at", "-created_at", "-pk")[:REACH_CHECKED]
    )
    running = [campaign for campaign in live if campaign.status == CampaignStatus.ACTIVE][:RUNNING_SHOWN]
    # The lift as the campaign report and list show it (adjusted for spend before the campaign).
    headlines = selectors.campaign_headlines(merchant=merchant, campaigns=running, with_cost=False)
    unreachable = selectors.campaigns_without_reachable_audience(merchant=merchant, campaigns=live)
    attention = tuple(
        Attention(
            text=_("“%(name)s” has nobody in its audience who can be sent a message") % {"name": campaign.name},
            url=reverse("campaigns:campaign_report", args=[campaign.pk]),
        )
        for campaign in unreachable
    )
    return HomeCard(
        key="campaigns",
        title=_("Running campaigns"),
        template="campaigns/_home_campaigns.html",
        context={
            "rows": [headlines[campaign.pk] for campaign in running],
            "currency": merchant.currency,
            "url": reverse("campaigns:campaign_list"),
        },
        attention=attention,
        order=40,
    )
