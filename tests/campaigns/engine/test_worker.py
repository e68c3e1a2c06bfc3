"""End to end with a real Celery worker through the broker: a purchase → the receiver → the task → the hand-off."""

import time

import pytest
from django.utils import timezone

from campaigns.models import CampaignKind, CampaignSettings, OutboxMessage, OutboxStatus, Trigger
from tests.campaigns.engine.helpers import campaign_with_message, launched, reachable_shopper, record_purchase
from tests.test_celery_worker import not_eager, worker  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_purchase_is_thanked_by_the_worker(merchant, store, worker, not_eager):  # noqa: F811
    CampaignSettings.objects.create(merchant=merchant, quiet_hours_start="00:00", quiet_hours_end="00:00")
    shopper = reachable_shopper(merchant)
    other = reachable_shopper(merchant)
    campaign = launched(campaign_with_message(merchant, kind=CampaignKind.REALTIME, trigger=Trigger.THANK_YOU))

    purchase = record_purchase(merchant, shopper, store=store)  # commits: the receiver's task goes to the broker
    recorded_at = timezone.now()

    deadline = time.monotonic() + 60
    while not OutboxMessage.objects.filter(campaign=campaign, status=OutboxStatus.SENT).exists():
        if worker.poll() is not None:
            pytest.fail("worker exited:\n" + worker.stdout.read())
        if time.monotonic() > deadline:
            worker.terminate()
            pytest.fail("no message within 60 s:\n" + worker.communicate(timeout=20)[0])
        time.sleep(0.1)
    message = OutboxMessage.objects.get(campaign=campaign)
    assert message.shopper_id == shopper.pk
    assert message.dedupe_key == f"purchase:{purchase.pk}"
    assert message.sent_at >= recorded_at - timezone.timedelta(seconds=5)
    assert not OutboxMessage.objects.filter(shopper=other).exists()
