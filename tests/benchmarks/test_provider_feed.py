"""The provider-feed benchmark's parts: what it posts is accepted and becomes purchases; its figures add up."""

from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.provider_feed import BASELINE, PROVIDERS, EventRow, Posted, feed_prepare, round_figures
from payments.models import EventStatus, PaymentEvent
from profiles.models import Purchase
from tests.profiles.factories import CardFactory, ContactFactory


@pytest.mark.django_db
@pytest.mark.parametrize("provider", [BASELINE, *PROVIDERS])
def test_each_feed_s_signed_requests_are_accepted_and_become_purchases(
    client, merchant, store, provider, django_capture_on_commit_callbacks
):
    for _card in range(3):
        card = CardFactory(shopper__merchant=merchant)
        ContactFactory(shopper=card.shopper)  # Shopify knows customers by a verified email
    feed = feed_prepare(merchant=merchant, provider=provider, cards=10)

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(
                feed.path,
                data=body,
                content_type="application/json",
                headers={name: value for name, value in headers.items() if name.lower() != "content-type"},
            ).status_code
            for body, headers in feed.requests(20)
        ]

    assert statuses == [200] * 20
    events = PaymentEvent.objects.filter(merchant=merchant, source=feed.source)
    assert events.count() == 20
    assert set(events.values_list("status", flat=True)) <= {EventStatus.PROCESSED, EventStatus.IGNORED}, list(
        events.exclude(status__in=["processed", "ignored"]).values_list("detail", flat=True)
    )
    assert Purchase.objects.filter(merchant=merchant, source="network", shopper__isnull=False).exists()


def test_a_round_is_timed_to_the_purchase_row_and_counts_what_did_not_finish():
    began = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    def at(milliseconds: int) -> datetime:
        return began + timedelta(milliseconds=milliseconds)

    rows = [
        # an authorisation that created its purchase: timed to the purchase's creation
        EventRow("processed", received_at=at(100), processed_at=at(190), purchase_created_at=at(150)),
        # a capture of a purchase recorded earlier: timed to its own processing
        EventRow("processed", received_at=at(200), processed_at=at(260), purchase_created_at=at(-5000)),
        # ignored, no purchase: counted, not timed
        EventRow("ignored", received_at=at(300), processed_at=at(320), purchase_created_at=None),
        # failed: counted as failed, and the last to finish
        EventRow("failed", received_at=at(400), processed_at=at(2000), purchase_created_at=None),
    ]
    posted = Posted(seconds=0.5)
    posted.statuses.update({200: 4})

    result = round_figures(rows, began=began, posted=posted)

    assert (result.events, result.failed, dict(result.statuses)) == (
        4,
        1,
        {"processed": 2, "ignored": 1, "failed": 1},
    )
    assert result.latencies_ms == [50.0, 60.0]
    assert (result.events_per_second, result.accepted_rps) == (2.0, 8.0)
