import pytest
from django.core.management import CommandError, call_command

from profiles.models import NetworkEvent, Purchase
from tests.profiles.factories import CardFactory


@pytest.mark.django_db(transaction=True)
def test_simulator_sends_signed_events_that_become_purchases(live_server, merchant, store, capsys):
    for _ in range(3):
        CardFactory(shopper__merchant=merchant)

    call_command("simulate_network", rate=20, duration=1.5, merchant=merchant.slug, url=live_server.url, seed=7)

    output = capsys.readouterr().out
    assert "Sent" in output and "http" not in output.split("Sent")[1]
    assert NetworkEvent.objects.filter(merchant=merchant).count() >= 10
    assert set(NetworkEvent.all_merchants.values_list("status", flat=True)) == {"processed"}
    assert Purchase.objects.filter(merchant=merchant, source="network").exists()


@pytest.mark.django_db
def test_simulator_needs_a_known_merchant():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("simulate_network", merchant="nobody", duration=1)
