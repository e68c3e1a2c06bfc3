"""Staff campaign pages: who sees and changes what, the builder's validation, drafts only, reports."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import (
    AssignmentGroup,
    Campaign,
    CampaignSettings,
    CampaignStatus,
    FeedbackResponse,
    MessageTemplate,
    Offer,
)
from merchants.permissions import Role
from tests.campaigns.engine.helpers import reachable_shopper
from tests.campaigns.factories import (
    AssignmentFactory,
    CampaignFactory,
    OfferFactory,
    OutboxMessageFactory,
    SegmentFactory,
    TemplateFactory,
)
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def _builder_data(**overrides):
    data = {
        "name": "Spring hello",
        "kind": "broadcast",
        "trigger": "",
        "channel": "email",
        "scheduled_at": (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "holdout_percent": "10",
        "attribution_days": "7",
        "cost_per_message": "0.02",
        "weight_A": "100",
        "subject_A_en": "Hello {{ first_name }}",
        "body_A_en": "Spring is here, {{ first_name }}.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def campaign(merchant):
    campaign = CampaignFactory(merchant=merchant, name="Winter hello", scheduled_at=timezone.now())
    TemplateFactory(variant__campaign=campaign)
    return campaign


# Who may see and change what

VIEW_PAGES = ("campaigns:campaign_list", "campaigns:offer_list", "campaigns:feedback")


@pytest.mark.parametrize(
    ("role", "can_view", "can_manage"),
    [
        (Role.OWNER, True, True),
        (Role.MANAGER, True, True),
        (Role.ANALYST, True, False),
        (Role.STORE_STAFF, False, False),
    ],
)
def test_permissions_per_role(user_for_role, client_for, campaign, role, can_view, can_manage):
    client = client_for(user_for_role(role))

    for name in VIEW_PAGES:
        assert client.get(reverse(name)).status_code == (200 if can_view else 403), name
    assert client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).status_code == (
        200 if can_view else 403
    )
    for url in (
        reverse("campaigns:campaign_create"),
        reverse("campaigns:campaign_edit", args=[campaign.pk]),
        reverse("campaigns:offer_create"),
        reverse("campaigns:settings"),
    ):
        assert client.get(url).status_code == (200 if can_manage else 403), url
    response = client.post(reverse("campaigns:campaign_create"), _builder_data())
    assert response.status_code == (302 if can_manage else 403)
    assert Campaign.all_merchants.filter(name="Spring hello").exists() == can_manage


def test_signed_out_visitors_go_to_sign_in(client):
    response = client.get(reverse("campaigns:campaign_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_merchants_campaigns_and_offers_are_404(outsider_client, campaign, merchant):
    offer = OfferFactory(merchant=merchant)
    shopper = ShopperFactory(merchant=merchant)
    for url in (
        reverse("campaigns:campaign_report", args=[campaign.pk]),
        reverse("campaigns:campaign_edit", args=[campaign.pk]),
        reverse("campaigns:offer_edit", args=[offer.pk]),
        reverse("campaigns:shopper_panel", args=[shopper.public_id]),
    ):
        assert outsider_client.get(url).status_code == 404, url
    for url in (
        reverse("campaigns:campaign_delete", args=[campaign.pk]),
        reverse("campaigns:campaign_action", args=[campaign.pk, "launch"]),
        reverse("campaigns:campaign_preview", args=[campaign.pk]),
    ):
        assert outsider_client.post(url, {"variant": "A", "language": "en"}).status_code == 404, url
    assert Campaign.all_merchants.filter(pk=campaign.pk).exists()


def test_the_list_shows_only_this_merchants_campaigns(owner_client, campaign, other_merchant):
    CampaignFactory(merchant=other_merchant, name="Their secret campaign")

    page = owner_client.get(reverse("campaigns:campaign_list")).content.decode()

    assert "Winter hello" in page and "Their secret campaign" not in page


# The builder


def test_the_builder_creates_a_draft_with_its_messages(owner_client, merchant):
    segment = SegmentFactory(merchant=merchant)

    response = owner_client.post(
        reverse("campaigns:campaign_create"),
        _builder_data(
            segment=str(segment.pk),
            weight_B="50",
            subject_B_en="Psst",
            body_B_en="Spring, quietly.",
            subject_A_ko="안녕하세요",
            body_A_ko="봄입니다.",
        ),
    )

    campaign = Campaign.all_merchants.get(name="Spring hello")
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:campaign_edit", args=[campaign.pk])
    assert campaign.status == CampaignStatus.DRAFT and campaign.segment == segment
    assert campaign.cost_per_message_minor == 2
    assert sorted(campaign.variants.values_list("key", "weight")) == [("A", 100), ("B", 50)]
    assert sorted(
        MessageTemplate.objects.filter(variant__campaign=campaign).values_list("variant__key", "language")
    ) == [
        ("A", "en"),
        ("A", "ko"),
        ("B", "en"),
    ]


def test_scheduled_times_are_read_in_the_merchants_timezone(owner_client, merchant):
    owner_client.post(reverse("campaigns:campaign_create"), _builder_data(scheduled_at="2030-06-01T09:00"))

    scheduled = Campaign.all_merchants.get(name="Spring hello").scheduled_at
    assert scheduled.isoformat() == "2030-06-01T07:00:00+00:00"  # 09:00 in Amsterdam, summer time


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"body_A_en": "", "subject_A_en": ""}, "body_A_en", "Variant A needs a message in at least one language."),
        ({"subject_A_en": ""}, "subject_A_en", "An email needs a subject."),
        ({"kind": "realtime"}, "trigger", "Choose one of:"),
        ({"kind": "realtime", "trigger": "spend_over"}, "trigger_value", "Give the amount a purchase must reach"),
        ({"kind": "broadcast", "trigger": "thank_you"}, "trigger", "This kind of campaign has no trigger"),
        ({"holdout_percent": "70"}, "holdout_percent", "less than or equal to 50"),
        ({"scheduled_at": ""}, "scheduled_at", "Choose when it is sent: now, or at a time."),
        ({"kind": "recurring"}, "repeat_every_days", "Say how often it repeats."),
    ],
)
def test_builder_errors_are_shown_beside_their_fields(owner_client, overrides, field, message):
    response = owner_client.post(reverse("campaigns:campaign_create"), _builder_data(**overrides))

    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert message in page
    assert not Campaign.all_merchants.exists()


def test_a_greeting_carries_no_offer(owner_client, merchant):
    offer = OfferFactory(merchant=merchant)

    response = owner_client.post(
        reverse("campaigns:campaign_create"), _builder_data(kind="greeting", offer=str(offer.pk))
    )

    assert response.status_code == 400 and "A greeting carries no offer." in response.content.decode()


def test_another_merchants_segment_cannot_be_chosen(owner_client, other_merchant):
    theirs = SegmentFactory(merchant=other_merchant)

    response = owner_client.post(reverse("campaigns:campaign_create"), _builder_data(segment=str(theirs.pk)))

    assert response.status_code == 400 and 'id="id_segment_error"' in response.content.decode()


def test_editing_a_draft_replaces_its_messages(owner_client, campaign):
    response = owner_client.post(
        reverse("campaigns:campaign_edit", args=[campaign.pk]),
        _builder_data(name="Winter hello, again", subject_A_en="New", body_A_en="New body"),
    )

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Winter hello, again"
    assert list(MessageTemplate.objects.filter(variant__campaign=campaign).values_list("subject", "body")) == [
        ("New", "New body")
    ]


def test_the_builder_shows_a_drafts_saved_messages(owner_client, campaign):
    page = owner_client.get(reverse("campaigns:campaign_edit", args=[campaign.pk])).content.decode()

    assert "Hello {{ first_name }}, see you soon." in page
    assert 'value="Winter hello"' in page


def test_a_launched_campaign_is_not_edited(owner_client, campaign):
    Campaign.all_merchants.filter(pk=campaign.pk).update(status=CampaignStatus.ACTIVE)

    response = owner_client.post(reverse("campaigns:campaign_edit", args=[campaign.pk]), _builder_data(name="Sneaky"))

    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:campaign_report", args=[campaign.pk])
    campaign.refresh_from_db()
    assert campaign.name == "Winter hello"


def test_drafts_can_be_deleted_but_launched_campaigns_cannot(owner_client, campaign, merchant):
    launched = CampaignFactory(merchant=merchant, status=CampaignStatus.COMPLETED)

    owner_client.post(reverse("campaigns:campaign_delete", args=[campaign.pk]))
    owner_client.post(reverse("campaigns:campaign_delete", args=[launched.pk]))

    assert not Campaign.all_merchants.filter(pk=campaign.pk).exists()
    assert Campaign.all_merchants.filter(pk=launched.pk).exists()


def test_the_audience_hint_counts_the_audience_and_says_what_it_can_detect(owner_client, merchant):
    for _ in range(40):
        reachable_shopper(merchant)
    ShopperFactory(merchant=merchant)  # no consent, no contact: not counted
    reachable_shopper(merchant, channel="sms")  # reachable by text only

    response = owner_client.get(
        reverse("campaigns:audience_hint"), {"holdout_percent": "10", "attribution_days": "7", "channel": "email"}
    )

    page = response.content.decode()
    assert "<strong>40</strong> reachable · <strong>4</strong> held out · <strong>36</strong> to be messaged" in page
    # 4 held out at the 10 % default rate: the report would never have the buyers to judge a lift
    assert "too few to judge a lift" in page and "About 1,000 shoppers would give it enough" in page


def test_the_audience_hint_refuses_another_merchants_segment(owner_client, other_merchant):
    theirs = SegmentFactory(merchant=other_merchant)

    response = owner_client.get(reverse("campaigns:audience_hint"), {"segment": theirs.pk})

    assert "Choose an audience of this merchant." in response.content.decode()


# Launch and friends are the engine's services


def test_launch_button_launches(owner_client, campaign):
    owner_client.post(reverse("campaigns:campaign_action", args=[campaign.pk, "launch"]))
    campaign.refresh_from_db()
    assert campaign.status != CampaignStatus.DRAFT


def test_preview_button_shows_the_message(owner_client, campaign):
    response = owner_client.post(
        reverse("campaigns:campaign_preview", args=[campaign.pk]), {"variant": "A", "language": "en"}
    )
    assert response.status_code == 200 and "see you soon" in response.content.decode()


def test_an_unknown_action_is_404(owner_client, campaign):
    assert owner_client.post(reverse("campaigns:campaign_action", args=[campaign.pk, "explode"])).status_code == 404


def test_the_analyst_cannot_launch(client_for, analyst, campaign):
    response = client_for(analyst).post(reverse("campaigns:campaign_action", args=[campaign.pk, "launch"]))
    assert response.status_code == 403


# The report


def _report_campaign(merchant, *, held_out_buyers):
    """40 messaged (every other one spent 40.00) and 35 held out, `held_out_buyers` of whom spent 10.00."""
    campaign = CampaignFactory(
        merchant=merchant, name="Comeback", status=CampaignStatus.COMPLETED, cost_per_message_minor=5
    )
    assigned = timezone.now() - timedelta(days=9)
    for index in range(40):
        assignment = AssignmentFactory(campaign=campaign, assigned_at=assigned)
        OutboxMessageFactory(assignment=assignment, status="sent")
        if index % 2 == 0:
            PurchaseFactory(
                merchant=merchant,
                shopper=assignment.shopper,
                amount_minor=4000,
                occurred_at=assigned + timedelta(days=1),
            )
    for index in range(35):
        assignment = AssignmentFactory(campaign=campaign, group=AssignmentGroup.HOLDOUT, assigned_at=assigned)
        if index < held_out_buyers:
            PurchaseFactory(
                merchant=merchant,
                shopper=assignment.shopper,
                amount_minor=1000,
                occurred_at=assigned + timedelta(days=2),
            )
    return campaign


def test_the_report_shows_groups_lift_and_the_sentence(owner_client, merchant):
    campaign = _report_campaign(merchant, held_out_buyers=10)

    response = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    # 20.00 − 100.00 / 35 = 17.14 per shopper, × 40 messaged
    assert "The lift is significant: shoppers who got the message spent €17.14 more each" in page
    assert "€685.71" in page
    assert "50.0 %" in page and "28.6 %" in page  # conversion rates
    assert "Launch" not in page  # completed


def test_the_report_does_not_judge_a_held_out_group_nobody_in_which_bought(owner_client, merchant):
    campaign = _report_campaign(merchant, held_out_buyers=0)

    page = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).content.decode()

    assert "significant" not in page
    assert "Not enough data yet: 20 of 40 messaged and 0 of 35 held-out shoppers have bought so far" in page
    assert "about 6 more shoppers would settle it" in page


def test_the_campaign_list_shows_headline_results(owner_client, merchant):
    campaign = CampaignFactory(merchant=merchant, name="Comeback", status=CampaignStatus.COMPLETED)
    assignment = AssignmentFactory(campaign=campaign)
    OutboxMessageFactory(assignment=assignment, status="sent")

    page = owner_client.get(reverse("campaigns:campaign_list")).content.decode()

    assert "Comeback" in page and "Completed" in page


def test_a_draft_report_shows_the_minimum_sample_hint(owner_client, campaign, merchant):
    for _ in range(10):
        reachable_shopper(merchant, channel=campaign.channel)
    ShopperFactory(merchant=merchant)  # unreachable: not in the hint

    page = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).content.decode()

    assert "Before launch: can this campaign show a lift?" in page
    assert "With 10 shoppers (1 held out)" in page


# Offers, settings, feedback, the profile panel


def test_offer_form_saves_a_daily_window(owner_client, merchant):
    response = owner_client.post(
        reverse("campaigns:offer_create"),
        {
            "name": "Happy hour",
            "kind": "coupon",
            "percent_off": "20",
            "valid_from": "2030-01-01T00:00",
            "valid_until": "2030-02-01T00:00",
            "daily_start": "16:00",
            "daily_end": "20:00",
            "max_redemptions": "100",
        },
    )

    assert response.status_code == 302
    offer = Offer.all_merchants.get(name="Happy hour")
    assert (offer.daily_start.hour, offer.daily_end.hour, offer.max_redemptions, offer.percent_off) == (16, 20, 100, 20)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"valid_until": "2029-01-01T00:00"}, "The offer must end after it starts."),
        ({"daily_end": ""}, "Give both ends of the daily window, or neither."),
        ({"percent_off": "", "kind": "coupon"}, "Give an amount off, a percentage off or a free item."),
        ({"kind": "card_linked"}, "Choose the loyalty program&#x27;s card-linked offer."),
    ],
)
def test_offer_form_errors(owner_client, overrides, message):
    data = {
        "name": "Happy hour",
        "kind": "coupon",
        "percent_off": "20",
        "valid_from": "2030-01-01T00:00",
        "valid_until": "2030-02-01T00:00",
        "daily_start": "16:00",
        "daily_end": "20:00",
    }
    data.update(overrides)

    response = owner_client.post(reverse("campaigns:offer_create"), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Offer.all_merchants.exists()


def test_settings_page_saves_guard_rails(owner_client, merchant):
    response = owner_client.post(
        reverse("campaigns:settings"),
        {
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "08:00",
            "frequency_cap_messages": "2",
            "frequency_cap_days": "7",
            "default_holdout_percent": "15",
            "sender_name": "Northwind",
            "reply_to": "",
        },
    )

    assert response.status_code == 302
    saved = CampaignSettings.objects.get(merchant=merchant)
    assert (saved.frequency_cap_messages, saved.default_holdout_percent) == (2, 15)
    # A new campaign starts with the merchant's default holdout
    assert 'value="15"' in owner_client.get(reverse("campaigns:campaign_create")).content.decode()


def test_settings_refuse_a_holdout_over_half(owner_client, merchant):
    response = owner_client.post(
        reverse("campaigns:settings"),
        {
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "08:00",
            "frequency_cap_messages": "2",
            "frequency_cap_days": "7",
            "default_holdout_percent": "80",
        },
    )

    assert response.status_code == 400
    assert not CampaignSettings.objects.filter(merchant=merchant).exists()


def test_feedback_dashboard_by_store_and_period(owner_client, merchant, store, other_merchant):
    from tests.factories import StoreFactory

    other_store = StoreFactory(merchant=merchant, name="Harbour")
    for score, at_store, comment in ((10, store, "Great"), (9, store, ""), (3, other_store, "Too slow"), (7, None, "")):
        FeedbackResponse.objects.create(merchant=merchant, score=score, store=at_store, comment=comment)
    FeedbackResponse.objects.create(merchant=other_merchant, score=0, comment="Their comment")
    old = FeedbackResponse.objects.create(merchant=merchant, score=0, comment="Long ago")
    FeedbackResponse.all_merchants.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=60))

    page = owner_client.get(reverse("campaigns:feedback")).content.decode()

    data = owner_client.get(reverse("campaigns:feedback")).context["data"]
    assert data.overall.responses == 4 and data.overall.nps == 25 and data.overall.average == 7.25
    assert [(name, summary.responses) for name, summary in data.by_store] == [
        ("Harbour", 1),
        ("Main Street", 2),
        ("Online / no store", 1),
    ]
    assert "Too slow" in page and "Their comment" not in page and "Long ago" not in page

    assert sum(summary.responses for _week, summary in data.by_week) == 4
    assert all(week.weekday() == 0 for week, _summary in data.by_week)

    only_main = owner_client.get(reverse("campaigns:feedback"), {"store": store.pk}).context["data"]
    assert only_main.overall.responses == 2 and only_main.overall.nps == 100

    long_ago = (timezone.now() - timedelta(days=61)).date()
    period = owner_client.get(
        reverse("campaigns:feedback"),
        {"start": long_ago.isoformat(), "end": (long_ago + timedelta(days=5)).isoformat()},
    ).context["data"]
    assert period.overall.responses == 1 and period.latest_comments[0].comment == "Long ago"


def test_the_shopper_profile_shows_messages_and_responses(owner_client, merchant):
    shopper = ShopperFactory(merchant=merchant)
    campaign = CampaignFactory(merchant=merchant, name="Thanks for visiting")
    OutboxMessageFactory(
        assignment=AssignmentFactory(campaign=campaign, shopper=shopper), status="sent", subject="Thank you!"
    )
    FeedbackResponse.objects.create(merchant=merchant, shopper=shopper, score=8, comment="Nice shop")

    profile = owner_client.get(reverse("profiles:shopper_detail", args=[shopper.public_id])).content.decode()
    panel = owner_client.get(reverse("campaigns:shopper_panel", args=[shopper.public_id])).content.decode()

    assert reverse("campaigns:shopper_panel", args=[shopper.public_id]) in profile
    assert "Thanks for visiting" in panel and "Thank you!" in panel
    assert "8/10" in panel and "Nice shop" in panel


def test_store_staff_profile_page_does_not_load_the_campaigns_panel(client_for, store_staff, merchant):
    shopper = ShopperFactory(merchant=merchant)

    profile = client_for(store_staff).get(reverse("profiles:shopper_detail", args=[shopper.public_id]))

    assert reverse("campaigns:shopper_panel", args=[shopper.public_id]) not in profile.content.decode()


def test_the_list_pages_its_campaigns_with_few_queries(owner_client, merchant, django_assert_max_num_queries):
    for number in range(30):
        campaign = CampaignFactory(merchant=merchant, name=f"Campaign {number:02d}", attribution_days=7 + number % 3)
        OutboxMessageFactory(assignment=AssignmentFactory(campaign=campaign), status="sent")

    with django_assert_max_num_queries(20):
        first = owner_client.get(reverse("campaigns:campaign_list"))
    second = owner_client.get(reverse("campaigns:campaign_list"), {"page": 2})

    assert first.content.decode().count('<th scope="row">') == 25
    assert second.content.decode().count('<th scope="row">') == 5
    assert "Page 2 of 2" in second.content.decode()
