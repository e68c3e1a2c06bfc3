"""Points earned on a purchase, a tier reached and a campaign message sent reach the merchant's endpoint."""

import pytest
from django.utils import timezone

from campaigns.models import CampaignSettings, CampaignStatus
from campaigns.services import sending
from campaigns.services.assignment import Entry, entries_create
from outbound.models import EventType
from outbound.services import endpoints
from profiles.services import purchases
from tests.campaigns.engine.helpers import campaign_with_message, reachable_shopper
from tests.loyalty.factories import ProgramFactory, TierFactory
from tests.profiles.factories import CardFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def _buy(merchant, store, card, amount_minor, number):
    return purchases.purchase_record(
        merchant=merchant,
        data=purchases.PurchaseInput(
            external_id=f"order-{number}",
            amount_minor=amount_minor,
            currency="EUR",
            occurred_at=timezone.now(),
            channel="in_store",
            store=store,
            card_token=card.token,
        ),
    ).purchase


def _of_type(receiver, event_type):
    return [payload["data"] for payload in receiver.payloads() if payload["type"] == event_type]


def test_points_earned_on_purchases_and_a_tier_reached_are_delivered(
    merchant, store, receiver, django_capture_on_commit_callbacks
):
    # given a member's card, a program of one point per euro and a Silver tier at 100 EUR
    program = ProgramFactory(merchant=merchant)
    TierFactory(program=program, name="Silver", threshold=10_000)
    card = CardFactory(shopper=ShopperFactory(merchant=merchant))
    endpoints.endpoint_create(
        merchant=merchant,
        actor=None,
        url=receiver.url,
        events=[EventType.POINTS_CHANGED, EventType.TIER_CHANGED],
    )

    # when the shopper buys twice, crossing the threshold on the second purchase
    with django_capture_on_commit_callbacks(execute=True):
        _buy(merchant, store, card, 6000, 1)
    with django_capture_on_commit_callbacks(execute=True):
        _buy(merchant, store, card, 6000, 2)

    # then the endpoint heard every movement with the balance after it, and the new tier
    shopper_id = str(card.shopper.public_id)
    points = _of_type(receiver, EventType.POINTS_CHANGED)
    assert points[0] == {"shopper_id": shopper_id, "delta": 60, "reason": "earn", "balance": 60}
    assert points[1] == {"shopper_id": shopper_id, "delta": 60, "reason": "earn", "balance": 120}
    assert _of_type(receiver, EventType.TIER_CHANGED) == [
        {"shopper_id": shopper_id, "previous": None, "current": "Silver"}
    ]


def test_a_campaign_message_the_channel_accepted_is_delivered(merchant, receiver, django_capture_on_commit_callbacks):
    # given a consenting shopper queued for an active campaign, and an endpoint for sent messages
    CampaignSettings.objects.update_or_create(
        merchant=merchant, defaults={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
    )
    shopper = reachable_shopper(merchant, first_name="Min", language="ko")
    campaign = campaign_with_message(merchant)
    campaign.status = CampaignStatus.ACTIVE
    campaign.save(update_fields=["status"])
    entries_create(campaign=campaign, entries=[Entry(shopper.pk, "broadcast")])
    endpoints.endpoint_create(merchant=merchant, actor=None, url=receiver.url, events=[EventType.MESSAGE_SENT])

    # when the sender hands it to the email channel
    with django_capture_on_commit_callbacks(execute=True):
        report = sending.outbox_send()

    # then the endpoint hears of the message, once
    assert report.sent == 1
    (sent,) = _of_type(receiver, EventType.MESSAGE_SENT)
    assert sent["shopper_id"] == str(shopper.public_id)
    assert (sent["campaign_id"], sent["channel"]) == (campaign.pk, "email")
