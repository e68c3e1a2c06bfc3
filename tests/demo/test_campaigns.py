import pytest
from django.core.management import call_command

from campaigns.measurement.selectors import campaign_report
from campaigns.models import Assignment, Campaign, FeedbackResponse, OutboxMessage
from demo.campaigns import BROADCAST_NAME, FEEDBACK_NAME
from merchants.models import Merchant

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_finished_campaigns_with_results(capsys):
    call_command("seed_demo", demo_shoppers=120, demo_purchases=800)
    counts = (Campaign.all_merchants.count(), Assignment.all_merchants.count(), OutboxMessage.all_merchants.count())

    northwind = Merchant.objects.get(slug="northwind")
    broadcast = Campaign.objects.get(merchant=northwind, name=BROADCAST_NAME)
    report = campaign_report(merchant=northwind, campaign=broadcast)
    assert report.treatment.shoppers > 0 and report.holdout.shoppers > 0
    assert report.messages_sent > 0 and report.redemptions > 0
    assert report.treatment.conversion_rate > report.holdout.conversion_rate
    assert [variant.key for variant in report.variants] == ["A", "B"]
    feedback = Campaign.objects.get(merchant=northwind, name=FEEDBACK_NAME)
    assert FeedbackResponse.objects.filter(campaign=feedback).exists()
    assert campaign_report(merchant=northwind, campaign=feedback).feedback.responses > 0
    assert "demo campaigns" in capsys.readouterr().out

    call_command("seed_demo", demo_shoppers=120, demo_purchases=800)
    assert (
        Campaign.all_merchants.count(),
        Assignment.all_merchants.count(),
        OutboxMessage.all_merchants.count(),
    ) == counts


def test_every_demo_message_went_to_a_shopper_who_could_be_reached_when_it_was_sent():
    from django.db.models import Exists, OuterRef, Subquery

    from profiles.models import ConsentEvent, ContactPoint

    call_command("seed_demo", demo_shoppers=120, demo_purchases=800)

    sent = OutboxMessage.all_merchants.filter(status="sent").select_related("campaign")
    assert sent.exists()
    consent_then = ConsentEvent.all_merchants.filter(
        shopper=OuterRef("shopper"),
        channel=OuterRef("channel"),
        purpose=OuterRef("campaign__purpose"),
        occurred_at__lte=OuterRef("sent_at"),
    ).order_by("-occurred_at", "-pk")
    confirmed_then = ContactPoint.all_merchants.filter(
        shopper=OuterRef("shopper"), kind="email", is_verified=True, verified_at__lte=OuterRef("sent_at")
    )
    unreachable = sent.annotate(consent=Subquery(consent_then.values("is_granted")[:1])).exclude(
        consent=True, pk__in=sent.filter(Exists(confirmed_then)).values("pk")
    )
    assert list(unreachable.values_list("campaign__name", "shopper_id")) == []
