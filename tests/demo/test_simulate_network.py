import re

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from payments.models import EventStatus, PaymentEvent
from profiles.models import Purchase
from tests.profiles.factories import CardFactory, ContactFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["generic", "stripe", "square", "fidel", "adyen", "shopify"])
def test_simulator_sends_each_provider_s_signed_format_that_becomes_purchases(
    live_server, merchant, store, capsys, provider
):
    merchant.currency = "USD"
    merchant.save(update_fields=["currency"])
    for _ in range(3):
        card = CardFactory(shopper__merchant=merchant)
        ContactFactory(shopper=card.shopper, kind="email", is_verified=True)

    with override_settings(SITE_URL=live_server.url):
        call_command(
            "simulate_network",
            provider=provider,
            rate=20,
            duration=1.5,
            merchant=merchant.slug,
            url=live_server.url,
            seed=7,
        )

    output = capsys.readouterr().out
    assert "Sent" in output and "http" not in output.split("Sent")[1], output
    sent = int(re.search(r"Sent (\d+) requests", output).group(1))
    events = PaymentEvent.objects.filter(merchant=merchant)
    assert sent >= 3 and events.count() == sent  # one event a request, each stored once
    statuses = set(events.values_list("status", flat=True))
    assert statuses <= {EventStatus.PROCESSED, EventStatus.IGNORED}, list(
        events.exclude(status="processed").values("detail")
    )
    assert Purchase.objects.filter(merchant=merchant, source="network", shopper__isnull=False).exists()


@pytest.mark.django_db
def test_simulator_needs_a_known_merchant():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("simulate_network", merchant="nobody", duration=1)
