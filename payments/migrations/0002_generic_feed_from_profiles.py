"""Our own feed's connections and events, from profiles' tables into payment sources.

Each connection becomes a source of the "generic" provider with the same public id (its URL keeps
working) and its secret; each event keeps its id, type, status, purchase and times, with the body as
received kept as its delivery. The event's reading is the generic adapter's, as it reads the same
format; a body it cannot read keeps its event as failed, for replay, with the reason.
"""

import json

import msgspec
from django.db import migrations

STATUSES = {"pending": "received", "processed": "processed", "ignored": "ignored", "failed": "failed"}
KINDS = {"transaction.auth": "auth", "transaction.clearing": "capture", "transaction.refund": "refund"}


def forwards(apps, schema_editor):
    from payments.providers.base import PayloadError
    from payments.providers.generic import GenericAdapter

    NetworkConnection = apps.get_model("profiles", "NetworkConnection")
    NetworkEvent = apps.get_model("profiles", "NetworkEvent")
    PaymentSource = apps.get_model("payments", "PaymentSource")
    SourceSecret = apps.get_model("payments", "SourceSecret")
    WebhookDelivery = apps.get_model("payments", "WebhookDelivery")
    PaymentEvent = apps.get_model("payments", "PaymentEvent")
    adapter = GenericAdapter()

    for connection in NetworkConnection.objects.order_by("pk"):
        source = PaymentSource.objects.create(
            merchant_id=connection.merchant_id,
            provider="generic",
            name=connection.name,
            public_id=connection.public_id,
            is_paused=not connection.is_active,
        )
        PaymentSource.objects.filter(pk=source.pk).update(created_at=connection.created_at)
        SourceSecret.objects.create(merchant_id=connection.merchant_id, source=source, secret=connection.signing_secret)
        for old in NetworkEvent.objects.filter(connection_id=connection.pk).order_by("pk").iterator():
            delivery = WebhookDelivery.objects.create(
                merchant_id=old.merchant_id,
                source=source,
                outcome="accepted",
                body=json.dumps(old.payload),
                event_count=1,
            )
            status, detail = STATUSES.get(old.status, "failed"), old.detail
            try:
                [event] = adapter.events_from(old.payload, {})
                data = msgspec.to_builtins(event)
            except PayloadError as error:
                data = {"provider": "generic", "event_id": old.event_id, "kind": "ignored", "reason": error.reason}
                status, detail = "failed", error.reason
            PaymentEvent.objects.create(
                merchant_id=old.merchant_id,
                source=source,
                delivery=delivery,
                event_id=old.event_id,
                event_type=old.event_type,
                kind=KINDS.get(old.event_type, "ignored"),
                transaction_id=str(data.get("transaction_id", ""))[:100],
                original_transaction_id=str(data.get("original_transaction_id", ""))[:100],
                location_id=str(data.get("location_id", ""))[:100],
                data=data,
                status=status,
                detail=detail[:300],
                purchase_id=old.purchase_id,
                attempts=0 if status == "received" else 1,
                processed_at=old.processed_at,
            )
            WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at=old.received_at)
            PaymentEvent.objects.filter(source=source, event_id=old.event_id).update(received_at=old.received_at)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_payment_sources"),
        ("profiles", "0009_card_identities"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
