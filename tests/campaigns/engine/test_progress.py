"""A sending broadcast's progress on its report: sent, suppressed, failed and still to go, polled by htmx
until the run is complete."""

import pytest
from django.urls import reverse

from campaigns.measurement.selectors import broadcast_progress
from campaigns.services import broadcasts, sending
from profiles.models import ConsentChannel, ConsentPurpose
from tests.campaigns.engine.helpers import campaign_with_message, consent, launched, reachable_shopper

pytestmark = pytest.mark.django_db


def _fragment(client, campaign):
    response = client.get(reverse("campaigns:campaign_progress", args=[campaign.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_progress_moves_from_still_to_go_to_sent_and_stops_polling(merchant, owner_client, daytime):
    # given a broadcast to six reachable shoppers, one of whom withdraws after the run started
    shoppers = [reachable_shopper(merchant) for _ in range(6)]
    campaign = launched(campaign_with_message(merchant))
    assert broadcast_progress(merchant=merchant, campaign=campaign) is None
    (run,) = broadcasts.broadcast_runs_start()

    # when the run has started but no message is written yet
    progress = broadcast_progress(merchant=merchant, campaign=campaign)

    # then everyone is still to go, and the fragment asks for itself again
    assert (progress.audience, progress.sent, progress.remaining, progress.is_complete) == (6, 0, 6, False)
    fragment = _fragment(owner_client, campaign)
    assert 'hx-trigger="every 2s"' in fragment
    polled = owner_client.get(reverse("campaigns:campaign_progress", args=[campaign.pk]), HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in polled
    assert reverse("campaigns:campaign_progress", args=[campaign.pk]) in fragment

    # when the messages are written, and one shopper withdraws consent before they go out
    broadcasts.broadcast_chunk_write(run_id=run.run_id, index=0)
    consent(shoppers[0], channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.MARKETING, granted=False)
    progress = broadcast_progress(merchant=merchant, campaign=campaign)
    assert (progress.sent, progress.remaining, progress.is_complete) == (0, 6, False)

    # when they are sent
    while sending.outbox_send().claimed:
        pass

    # then five went out, one was stopped by a guard rail, none is left, and the polling stops
    progress = broadcast_progress(merchant=merchant, campaign=campaign)
    assert (progress.sent, progress.suppressed, progress.failed, progress.remaining) == (5, 1, 0, 0)
    assert progress.is_complete
    fragment = _fragment(owner_client, campaign)
    assert "hx-trigger" not in fragment
    assert "complete" in fragment
    polled = owner_client.get(reverse("campaigns:campaign_progress", args=[campaign.pk]), HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"  # the page that polled reloads once, its results with it
    report = owner_client.get(reverse("campaigns:campaign_report", args=[campaign.pk])).content.decode()
    assert 'id="broadcast-progress"' in report


def test_another_merchants_campaign_progress_is_a_404(merchant, outsider_client):
    campaign = campaign_with_message(merchant)

    response = outsider_client.get(reverse("campaigns:campaign_progress", args=[campaign.pk]))

    assert response.status_code == 404


def test_store_staff_may_not_see_progress(merchant, store_staff, client_for):
    campaign = campaign_with_message(merchant)

    response = client_for(store_staff).get(reverse("campaigns:campaign_progress", args=[campaign.pk]))

    assert response.status_code == 403
