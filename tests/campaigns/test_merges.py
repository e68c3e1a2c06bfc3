"""A merge moves the merged profile's message history to the survivor; assignments (and so reports) stay."""

import pytest

from campaigns.measurement.selectors import shopper_messages
from campaigns.models import Assignment
from profiles.services import identity
from tests.campaigns.factories import CampaignFactory, OutboxMessageFactory
from tests.profiles.factories import ShopperFactory

pytestmark = pytest.mark.django_db


def _history(merchant, shopper):
    return sorted(message.campaign.name for message in shopper_messages(merchant=merchant, shopper=shopper))


def test_messages_follow_a_merge_and_come_back_at_its_undo(merchant, owner):
    survivor, merged = ShopperFactory(merchant=merchant), ShopperFactory(merchant=merchant)
    spring, summer, both = (CampaignFactory(merchant=merchant, name=name) for name in ("Spring", "Summer", "Both"))
    OutboxMessageFactory(assignment__campaign=spring, assignment__shopper=survivor)
    OutboxMessageFactory(assignment__campaign=summer, assignment__shopper=merged)
    # Both profiles got the same message: one person keeps one, the other stays behind.
    OutboxMessageFactory(assignment__campaign=both, assignment__shopper=survivor)
    OutboxMessageFactory(assignment__campaign=both, assignment__shopper=merged)

    event = identity.shopper_merge(merchant=merchant, survivor=survivor, merged=merged, actor=owner, reason="Same")

    assert _history(merchant, survivor) == ["Both", "Spring", "Summer"]
    assert _history(merchant, merged) == ["Both"]
    # Assignments stay: who was in which campaign group does not change after the fact.
    assert Assignment.objects.for_merchant(merchant).filter(shopper=merged).count() == 2

    identity.merge_undo(merchant=merchant, merge_event=event, actor=owner)

    assert _history(merchant, survivor) == ["Both", "Spring"]
    assert _history(merchant, merged) == ["Both", "Summer"]
