"""The campaign report against a small example computed by hand."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.measurement import selectors
from campaigns.models import (
    Assignment,
    AssignmentGroup,
    CampaignKind,
    CampaignStatus,
    OfferKind,
    OutboxStatus,
    Trigger,
)
from core import statistics
from core.statistics import GroupSums
from loyalty.models import OfferAward
from tests.campaigns.factories import (
    AssignmentFactory,
    CampaignFactory,
    OfferFactory,
    OutboxMessageFactory,
    VariantFactory,
)
from tests.loyalty.factories import OfferFactory as CardLinkedOfferFactory
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def example(merchant, other_merchant):
    """4 messaged shoppers (variant A: t1, t2; B: t3, t4) and 2 held out, assigned 10 days ago, 7-day window.

    Revenue in the window — messaged: 3000, 0, 1000 (600 + 400), 0; held out: 1000, 0.
    """
    assigned = timezone.now() - timedelta(days=10)
    offer = OfferFactory(merchant=merchant, amount_off_minor=500)
    campaign = CampaignFactory(
        merchant=merchant, attribution_days=7, cost_per_message_minor=10, offer=offer, kind=CampaignKind.BROADCAST
    )
    variant_a = VariantFactory(campaign=campaign, key="A")
    variant_b = VariantFactory(campaign=campaign, key="B")
    shoppers = {name: ShopperFactory(merchant=merchant) for name in ("t1", "t2", "t3", "t4", "h1", "h2")}
    variants = {"t1": variant_a, "t2": variant_a, "t3": variant_b, "t4": variant_b}
    assignments = {}
    for name, shopper in shoppers.items():
        group = AssignmentGroup.TREATMENT if name.startswith("t") else AssignmentGroup.HOLDOUT
        assignments[name] = AssignmentFactory(
            campaign=campaign, shopper=shopper, group=group, variant=variants.get(name), assigned_at=assigned
        )

    def buy(name, amount, days, refunded=0):
        return PurchaseFactory(
            merchant=merchant,
            shopper=shoppers[name],
            amount_minor=amount,
            refunded_minor=refunded,
            occurred_at=assigned + timedelta(days=days),
        )

    first = buy("t1", 3500, 1, refunded=500)  # net 3000
    buy("t3", 600, 2)
    buy("t3", 400, 6.9)
    buy("h1", 1000, 3)
    buy("t2", 9999, 7.5)  # after the window
    buy("t4", 8888, -1)  # before the assignment
    buy("h2", 7777, 8)  # after the window
    PurchaseFactory(merchant=other_merchant, amount_minor=5000, occurred_at=assigned + timedelta(days=1))
    # Messages: three sent, one stopped by a guard rail; each carried a coupon, one of which was used.
    from campaigns.offers.services import coupon_issue

    for name in ("t1", "t2", "t3", "t4"):
        coupon = coupon_issue(offer=offer, shopper=shoppers[name], at=assigned)
        status = OutboxStatus.SUPPRESSED if name == "t4" else OutboxStatus.SENT
        OutboxMessageFactory(assignment=assignments[name], status=status, coupon=coupon, variant=variants[name])
        if name == "t1":
            coupon.redeemed_at = first.occurred_at
            coupon.purchase = first
            coupon.save()
    return campaign


def test_report_figures_match_the_hand_computed_example(merchant, example, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        report = selectors.campaign_report(merchant=merchant, campaign=example)

    assert (report.treatment.shoppers, report.holdout.shoppers) == (4, 2)
    assert (report.treatment.conversions, report.holdout.conversions) == (2, 1)
    assert report.treatment.conversion_rate == 0.5 and report.holdout.conversion_rate == 0.5
    assert (report.treatment.revenue_minor, report.holdout.revenue_minor) == (4000, 1000)
    assert (report.treatment.revenue_per_shopper_minor, report.holdout.revenue_per_shopper_minor) == (1000, 500)
    assert report.treatment.purchases == 3
    # cost: 3 sent × 10 + one 500-off coupon used
    assert (report.messages_sent, report.message_cost_minor, report.offer_cost_minor) == (3, 30, 500)
    assert report.messages_by_status == {"sent": 3, "suppressed": 1}
    assert (report.offers_given, report.redemptions) == (4, 1)
    assert report.redemption_rate == 0.25
    # A/B: A = t1, t2 (3000, 0); B = t3, t4 (1000, 0)
    assert [variant.key for variant in report.variants] == ["A", "B"]
    assert report.variants[0].result.revenue_minor == 3000 and report.variants[1].result.revenue_minor == 1000
    # Far too few buyers to judge anything: no interval, no incremental revenue, no ROI, and it says so
    assert report.variants[1].versus_first is None
    assert not report.is_measurable
    assert report.revenue_lift is None and report.incremental_revenue is None and report.roi is None
    assert report.sentence.startswith(
        "Not enough data yet: 2 of 4 messaged and 1 of 2 held-out shoppers have bought so far; the lift can be "
        "judged once each group has 10 buyers: about 54 more shoppers would settle it"
    )


def test_list_headlines_agree_with_the_report(merchant, example):
    headline = selectors.campaign_headlines(merchant=merchant, campaigns=[example])[example.pk]

    assert (headline.sent, headline.conversions, headline.incremental_revenue_minor) == (3, 2, None)
    assert headline.roi is None and headline.is_significant is None


def test_incremental_revenue_and_roi_follow_the_lift(merchant):
    # given: 40 messaged (20 spent 4,000), 40 held out (10 spent 1,000), 5 per message sent
    campaign = _sized_campaign(merchant, treated_revenue=[4000, 0] * 20, held_revenue=[1000, 0, 0, 0] * 10)
    campaign.cost_per_message_minor = 5
    campaign.save()
    for assignment in Assignment.objects.filter(campaign=campaign, group=AssignmentGroup.TREATMENT):
        OutboxMessageFactory(assignment=assignment, status=OutboxStatus.SENT)

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    lift = statistics.difference_of_means(GroupSums.of([4000, 0] * 20), GroupSums.of([1000, 0, 0, 0] * 10))
    assert report.revenue_lift == lift and lift.estimate == 2000 - 250
    assert report.incremental_revenue_minor == 40 * 1750
    assert report.incremental_revenue.low == pytest.approx(40 * lift.low)
    assert report.roi.estimate == pytest.approx((70_000 - 200) / 200)
    assert report.roi.low == pytest.approx((40 * lift.low - 200) / 200)
    headline = selectors.campaign_headlines(merchant=merchant, campaigns=[campaign])[campaign.pk]
    assert headline.incremental_revenue_minor == 70_000 and headline.roi == pytest.approx(report.roi.estimate)


def test_card_linked_offer_awards_count_as_redemptions_without_codes(merchant):
    program = ProgramFactory(merchant=merchant)
    linked = CardLinkedOfferFactory(program=program, reward_points=100)
    offer = OfferFactory(merchant=merchant, kind=OfferKind.CARD_LINKED, card_linked_offer=linked, amount_off_minor=0)
    campaign = CampaignFactory(merchant=merchant, offer=offer)
    treated = [AssignmentFactory(campaign=campaign) for _ in range(3)]
    held_out = AssignmentFactory(campaign=campaign, group=AssignmentGroup.HOLDOUT)
    for assignment in treated:
        OutboxMessageFactory(assignment=assignment, status=OutboxStatus.SENT)
    now = timezone.now()
    for shopper in (treated[0].shopper, held_out.shopper):  # the held-out award is not the campaign's
        OfferAward.objects.create(
            merchant=merchant, offer=linked, shopper=shopper, points=100, cost_minor=70, created_at=now
        )

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    assert (report.offers_given, report.redemptions, report.offer_cost_minor) == (3, 1, 70)


def _sized_campaign(merchant, *, treated_revenue, held_revenue):
    campaign = CampaignFactory(merchant=merchant, attribution_days=7)
    assigned = timezone.now() - timedelta(days=8)
    for group, revenues in ((AssignmentGroup.TREATMENT, treated_revenue), (AssignmentGroup.HOLDOUT, held_revenue)):
        for amount in revenues:
            assignment = AssignmentFactory(campaign=campaign, group=group, assigned_at=assigned)
            if amount:
                PurchaseFactory(
                    merchant=merchant,
                    shopper=assignment.shopper,
                    amount_minor=amount,
                    occurred_at=assigned + timedelta(days=1),
                )
    return campaign


def test_sentence_says_a_clear_lift_is_significant(merchant):
    campaign = _sized_campaign(merchant, treated_revenue=[5000, 4000, 6000] * 12, held_revenue=[1000, 0, 500] * 11)

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    assert report.revenue_lift.is_significant
    assert report.sentence.startswith("The lift is significant: shoppers who got the message spent €")


def test_sentence_says_a_noisy_difference_is_not_significant(merchant):
    campaign = _sized_campaign(merchant, treated_revenue=[9000, 0, 0, 100] * 9, held_revenue=[0, 8000, 0, 0] * 10)

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    assert not report.revenue_lift.is_significant
    assert report.sentence.startswith("The lift is not significant")
    assert "includes zero" in report.sentence


def test_no_holdout_means_no_measurement(merchant):
    campaign = _sized_campaign(merchant, treated_revenue=[100] * 40, held_revenue=[])

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    assert report.revenue_lift is None and report.roi is None
    assert "No shoppers were held out" in report.sentence


def test_feedback_campaign_report_includes_nps(merchant):
    from campaigns.models import FeedbackResponse

    campaign = CampaignFactory(merchant=merchant, kind=CampaignKind.REALTIME, trigger=Trigger.FEEDBACK_REQUEST)
    for score in (10, 9, 8, 3):
        FeedbackResponse.objects.create(merchant=merchant, campaign=campaign, score=score)

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    assert report.feedback.responses == 4
    assert report.feedback.nps == 25  # 2 promoters − 1 detractor of 4
    assert report.feedback.average == 7.5


def test_a_campaign_nobody_entered_says_so(merchant):
    campaign = CampaignFactory(merchant=merchant)

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    assert report.sentence.startswith("No shoppers have entered this campaign yet")
    assert report.messages_sent == 0 and report.incremental_revenue is None


def test_headlines_of_several_campaigns_at_once_match_their_own_reports(merchant, example):
    later = _sized_campaign(merchant, treated_revenue=[5000, 0, 300] * 12, held_revenue=[1000, 0] * 16)
    other_window = _sized_campaign(merchant, treated_revenue=[100, 200] * 20, held_revenue=[0, 50] * 20)
    other_window.attribution_days = 3
    other_window.save()
    campaigns = [example, later, other_window]

    headlines = selectors.campaign_headlines(merchant=merchant, campaigns=campaigns)

    for campaign in campaigns:
        report = selectors.campaign_report(merchant=merchant, campaign=campaign)
        assert headlines[campaign.pk].conversions == report.treatment.conversions
        assert headlines[campaign.pk].incremental_revenue_minor == report.incremental_revenue_minor


def _figures(report):
    return [
        (group.shoppers, group.conversions, group.revenue, group.purchases)
        for group in (report.treatment, report.holdout)
    ] + [report.revenue_lift, report.conversion_lift]


def test_merging_profiles_after_a_campaign_leaves_its_report_unchanged(merchant):
    from profiles.services.identity import merge_undo, shopper_merge

    # given: a campaign with results
    campaign = _sized_campaign(merchant, treated_revenue=[4000, 0] * 20, held_revenue=[1000, 0, 0, 0] * 10)
    before = selectors.campaign_report(merchant=merchant, campaign=campaign)
    assert before.revenue_lift is not None
    assignments = Assignment.objects.filter(campaign=campaign).select_related("shopper").order_by("pk")
    treated = [a.shopper for a in assignments if a.group == AssignmentGroup.TREATMENT]
    held_out = [a.shopper for a in assignments if a.group == AssignmentGroup.HOLDOUT]

    # when: a held-out buyer turns out to be a messaged shopper who bought nothing, and a messaged buyer
    # is folded into a profile outside the campaign
    shopper_merge(merchant=merchant, survivor=treated[1], merged=held_out[0], actor=None, reason="Same person")
    outsider = ShopperFactory(merchant=merchant)
    merge = shopper_merge(merchant=merchant, survivor=outsider, merged=treated[0], actor=None, reason="Same person")

    # then
    after = selectors.campaign_report(merchant=merchant, campaign=campaign)
    assert _figures(after) == _figures(before)
    # and undoing a merge changes nothing either
    merge_undo(merchant=merchant, merge_event=merge, actor=None)
    assert _figures(selectors.campaign_report(merchant=merchant, campaign=campaign)) == _figures(before)


def test_a_campaign_still_taking_shoppers_says_how_many_days_would_settle_it(merchant):
    # given: a real-time campaign that took 40 shoppers in 10 days; 4 of its 10 held-out shoppers bought
    campaign = CampaignFactory(
        merchant=merchant, kind=CampaignKind.REALTIME, status=CampaignStatus.ACTIVE, attribution_days=7
    )
    assigned = timezone.now() - timedelta(days=10)
    for index in range(40):
        group = AssignmentGroup.HOLDOUT if index < 10 else AssignmentGroup.TREATMENT
        assignment = AssignmentFactory(campaign=campaign, group=group, assigned_at=assigned)
        if index < 4 or index >= 25:
            PurchaseFactory(
                merchant=merchant,
                shopper=assignment.shopper,
                amount_minor=2000,
                occurred_at=assigned + timedelta(days=1),
            )

    report = selectors.campaign_report(merchant=merchant, campaign=campaign)

    # then: 10 held-out buyers at 4 in 10 need 25 held out, 100 shoppers in all: 60 more, at 4 a day
    assert report.revenue_lift is None
    assert (report.shoppers_to_settle, report.days_to_settle) == (60, 15)
    assert report.sentence.endswith(
        "about 60 more shoppers would settle it, about 15 more days at the rate shoppers have entered so far."
    )
