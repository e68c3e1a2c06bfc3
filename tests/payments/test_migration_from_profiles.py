"""The feed's connections and events move from profiles into payment sources with their data."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("payments", "0001_payment_sources"), ("profiles", "0009_card_identities")]
AFTER = [("payments", "0002_generic_feed_from_profiles"), ("profiles", "0010_network_feed_moved_to_payments")]


@pytest.mark.django_db(transaction=True)
def test_connections_and_events_keep_their_url_secret_statuses_and_purchases():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    merchant = old.get_model("merchants", "Merchant").objects.create(
        name="Old feed", slug="old-feed", currency="EUR", timezone="Europe/Paris"
    )
    feed = old.get_model("profiles", "NetworkConnection").objects.create(
        merchant=merchant, name="Card-linking provider", signing_secret="s3cret"
    )
    NetworkEvent = old.get_model("profiles", "NetworkEvent")
    body = {
        "id": "evt-1",
        "type": "transaction.auth",
        "transaction": {"id": "txn-1", "amount": "12.50", "currency": "EUR", "datetime": "2026-11-02T10:00:00"},
    }
    NetworkEvent.objects.create(
        merchant=merchant,
        connection=feed,
        event_id="evt-1",
        event_type="transaction.auth",
        payload=body,
        status="processed",
        detail="auth",
    )
    NetworkEvent.objects.create(
        merchant=merchant,
        connection=feed,
        event_id="evt-2",
        event_type="transaction.auth",
        payload={"id": "evt-2", "type": "transaction.auth", "transaction": {"id": "txn-2"}},
        status="failed",
        detail="invalid: `amount` is not a number.",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    source = new.get_model("payments", "PaymentSource").objects.get(merchant_id=merchant.pk)
    events = {e.event_id: e for e in new.get_model("payments", "PaymentEvent").objects.filter(source=source)}

    assert (source.provider, source.public_id, source.name) == ("generic", feed.public_id, "Card-linking provider")
    assert list(
        new.get_model("payments", "SourceSecret").objects.filter(source=source).values_list("secret", flat=True)
    ) == ["s3cret"]
    assert (events["evt-1"].status, events["evt-1"].kind, events["evt-1"].transaction_id) == (
        "processed",
        "auth",
        "txn-1",
    )
    assert events["evt-1"].data["amount_minor"] == 1250
    assert events["evt-2"].status == "failed"

    MigrationExecutor(connection).migrate(latest)
