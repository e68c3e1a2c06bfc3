"""Fixtures for the campaign engine tests."""

import pytest
from django.core import mail

from campaigns.models import CampaignSettings
from profiles import sms


@pytest.fixture(autouse=True)
def _empty_outboxes():
    mail.outbox.clear()
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def daytime(merchant):
    """No quiet hours (they have their own tests): every moment is a sending moment."""
    CampaignSettings.objects.update_or_create(
        merchant=merchant, defaults={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
    )
