"""Fixtures for the program holdout tests."""

import pytest
from django.core import mail

from campaigns.models import CampaignSettings


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.outbox.clear()


@pytest.fixture
def daytime(merchant):
    """No quiet hours: every moment is a sending moment."""
    CampaignSettings.objects.update_or_create(
        merchant=merchant, defaults={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
    )
