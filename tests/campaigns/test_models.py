import pytest
from django.db import IntegrityError

from tests.campaigns.factories import AssignmentFactory, OutboxMessageFactory


@pytest.mark.django_db
def test_one_outbox_row_per_campaign_shopper_and_dedupe_key():
    message = OutboxMessageFactory()
    second_assignment = AssignmentFactory(campaign=message.campaign, shopper=message.shopper, dedupe_key="purchase:2")
    OutboxMessageFactory(assignment=second_assignment)  # another key: allowed
    third = AssignmentFactory(campaign=message.campaign, shopper=message.shopper, dedupe_key="purchase:3")
    with pytest.raises(IntegrityError):
        OutboxMessageFactory(assignment=third, dedupe_key=message.dedupe_key)
