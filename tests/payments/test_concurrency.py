"""Events of one payment processed at the same time by two workers, on real PostgreSQL connections."""

import threading

import pytest
from django.db import connection

from payments.models import EventStatus, PaymentEvent
from payments.services import processing
from payments.services.receiving import delivery_receive
from profiles.models import Purchase
from tests.payments.fixtures import raw_payload
from tests.payments.helpers import SECRETS, make_source
from tests.payments.test_provider_webhooks import merchant_in
from tests.profiles.test_ingest_concurrency import Worker

pytestmark = pytest.mark.django_db(transaction=True)


def stored(source, name):
    from django.utils import timezone

    from payments.api import webhook_url
    from payments.providers import adapter_for

    body, headers = adapter_for("stripe").sign(
        raw_payload("stripe", name), url=webhook_url(source), secret=SECRETS["stripe"], now=timezone.now()
    )
    received = delivery_receive(source=source, headers=headers, raw_body=body, url=webhook_url(source))
    return received.new_events[0].pk


@pytest.mark.parametrize("names", [("charge_succeeded_uncaptured", "charge_captured"), ("charge_captured",)])
def test_events_of_one_payment_processed_at_once_make_one_purchase(names):
    merchant, store = merchant_in("USD", "America/New_York")
    source = make_source(merchant, "stripe", store=store, account="acct_1")
    ids = [stored(source, name) for name in names]
    ids.append(ids[0])  # and the first one again, as a redelivered task would
    connection.close()
    barrier = threading.Barrier(len(ids))

    def process(event_id):
        def run():
            barrier.wait(5)
            return processing.event_process(event_id=event_id, replay=True)

        return run

    workers = [Worker(process(event_id)) for event_id in ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.outcome()

    purchase = Purchase.all_merchants.get(merchant=merchant)
    assert (purchase.amount_minor, purchase.state) == (2300, "cleared")
    statuses = PaymentEvent.all_merchants.filter(source=source).values_list("status", flat=True)
    assert set(statuses) == {EventStatus.PROCESSED}
