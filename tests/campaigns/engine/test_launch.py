"""Launching, pausing, resuming and cancelling; previews and test sends for the campaign pages."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import CampaignKind, CampaignStatus, OutboxMessage, Trigger
from campaigns.services import launch
from campaigns.services.rendering import message_preview
from campaigns.services.sending import message_test_send
from core.errors import ApplicationError, ConflictError
from merchants.models import AuditEvent
from tests.campaigns.engine.helpers import campaign_with_message, reachable_shopper
from tests.campaigns.factories import CampaignFactory, OfferFactory, VariantFactory
from tests.profiles.factories import ShopperFactory

pytestmark = pytest.mark.django_db


def test_launch_refuses_a_campaign_without_a_message(merchant, owner):
    campaign = CampaignFactory(merchant=merchant)

    with pytest.raises(ApplicationError) as refused:
        launch.campaign_launch(campaign=campaign, actor=owner)

    assert "variants" in refused.value.fields
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": CampaignKind.REALTIME}, "trigger"),
        ({"kind": CampaignKind.REALTIME, "trigger": Trigger.WIN_BACK}, "trigger"),
        ({"kind": CampaignKind.REALTIME, "trigger": Trigger.SPEND_OVER}, "trigger_params"),
        ({"kind": CampaignKind.LIFECYCLE, "trigger": Trigger.WIN_BACK}, "trigger_params"),
        ({"kind": CampaignKind.RECURRING}, "repeat_every_days"),
        ({"kind": CampaignKind.REALTIME, "trigger": Trigger.FEEDBACK_REQUEST, "purpose": "marketing"}, "purpose"),
    ],
)
def test_launch_names_what_is_missing(merchant, fields, field):
    campaign = campaign_with_message(merchant, **fields)

    with pytest.raises(ApplicationError) as refused:
        launch.campaign_launch(campaign=campaign, actor=None)

    assert field in refused.value.fields


def test_a_greeting_carries_no_offer_and_an_ended_offer_cannot_launch(merchant):
    greeting = campaign_with_message(merchant, kind=CampaignKind.GREETING, offer=OfferFactory(merchant=merchant))
    ended = campaign_with_message(
        merchant, offer=OfferFactory(merchant=merchant, valid_until=timezone.now() - timedelta(hours=1))
    )

    for campaign in (greeting, ended):
        with pytest.raises(ApplicationError) as refused:
            launch.campaign_launch(campaign=campaign, actor=None)
        assert "offer" in refused.value.fields


def test_a_campaign_moves_through_its_life_and_each_step_is_audited(merchant, owner):
    campaign = campaign_with_message(merchant, kind=CampaignKind.REALTIME, trigger=Trigger.THANK_YOU)

    assert launch.campaign_launch(campaign=campaign, actor=owner).status == CampaignStatus.ACTIVE
    assert launch.campaign_pause(campaign=campaign, actor=owner).status == CampaignStatus.PAUSED
    assert launch.campaign_resume(campaign=campaign, actor=owner).status == CampaignStatus.ACTIVE
    assert launch.campaign_cancel(campaign=campaign, actor=owner).status == CampaignStatus.CANCELLED
    with pytest.raises(ConflictError):
        launch.campaign_resume(campaign=campaign, actor=owner)
    with pytest.raises(ConflictError):
        launch.campaign_launch(campaign=campaign, actor=owner)

    actions = list(AuditEvent.objects.filter(merchant=merchant).order_by("pk").values_list("action", flat=True))
    assert actions == ["campaign.launch", "campaign.pause", "campaign.resume", "campaign.cancel"]


def test_a_scheduled_broadcast_resumes_to_its_schedule(merchant):
    campaign = campaign_with_message(merchant, scheduled_at=timezone.now() + timedelta(days=1))
    launch.campaign_launch(campaign=campaign, actor=None)
    launch.campaign_pause(campaign=campaign, actor=None)

    assert launch.campaign_resume(campaign=campaign, actor=None).status == CampaignStatus.SCHEDULED


def test_a_campaign_past_its_end_completes(merchant):
    campaign = campaign_with_message(
        merchant, kind=CampaignKind.REALTIME, trigger=Trigger.THANK_YOU, ends_at=timezone.now() + timedelta(hours=1)
    )
    launch.campaign_launch(campaign=campaign, actor=None)

    assert launch.campaigns_end_due(now=timezone.now() + timedelta(hours=2)) == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


def test_preview_renders_for_a_sample_or_a_real_shopper_in_a_language(merchant):
    campaign = campaign_with_message(merchant)
    variant = campaign.variants.get()
    shopper = ShopperFactory(merchant=merchant, first_name="Ada")

    sample = message_preview(campaign=campaign, variant=variant, language="en")
    real = message_preview(campaign=campaign, variant=variant, language="ko", shopper=shopper)
    fallback = message_preview(campaign=campaign, variant=variant, language="ar")

    assert sample.subject == "[A] Hello Alex"
    assert "1250 points" in sample.body
    assert real.body.startswith("안녕하세요 Ada")
    assert "/s/unsubscribe/" in real.body
    assert fallback.language == "en"  # no Arabic message: the merchant's language


def test_preview_of_another_merchants_variant_or_shopper_is_refused(merchant, other_merchant):
    campaign = campaign_with_message(merchant)
    foreign_variant = VariantFactory(campaign=CampaignFactory(merchant=other_merchant))

    with pytest.raises(ApplicationError):
        message_preview(campaign=campaign, variant=foreign_variant, language="en")
    with pytest.raises(ApplicationError):
        message_preview(
            campaign=campaign,
            variant=campaign.variants.get(),
            language="en",
            shopper=ShopperFactory(merchant=other_merchant),
        )


def test_test_send_goes_to_the_given_address_without_an_outbox_row(merchant, owner):
    campaign = campaign_with_message(merchant)
    reachable_shopper(merchant)

    message_test_send(
        campaign=campaign, variant=campaign.variants.get(), language="en", to="me@northwind.test", actor=owner
    )

    (email,) = mail.outbox
    assert email.to == ["me@northwind.test"]
    assert email.subject == "[TEST] [A] Hello Alex"
    assert not OutboxMessage.all_merchants.exists()
    assert AuditEvent.all_merchants.filter(action="campaign.test_send").count() == 1


def test_test_send_refuses_a_bad_address(merchant, owner):
    campaign = campaign_with_message(merchant)
    sms_campaign = campaign_with_message(merchant, channel="sms")

    with pytest.raises(ApplicationError) as refused:
        message_test_send(campaign=campaign, variant=campaign.variants.get(), language="en", to="nope", actor=owner)
    assert "to" in refused.value.fields
    with pytest.raises(ApplicationError):
        message_test_send(
            campaign=sms_campaign, variant=sms_campaign.variants.get(), language="en", to="12", actor=owner
        )
    assert mail.outbox == []
