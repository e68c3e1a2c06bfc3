"""A checkout basket and the card network's transaction for the same purchase, in either order, through the API
and the network feed: one purchase, which earns its points and starts a real-time campaign once, as it ends up."""

from datetime import timedelta

import pytest
from django.urls import reverse

from campaigns.models import CampaignKind, CampaignSettings, OutboxMessage, Trigger
from loyalty.models import Account, LedgerEntry, RuleKind
from profiles.models import Purchase
from tests.campaigns.engine.helpers import campaign_with_message, consent, launched
from tests.loyalty.factories import ProgramFactory, RuleFactory
from tests.payments.helpers import make_source
from tests.payments.test_generic_feed import WHEN, event, send
from tests.profiles.factories import CardFactory, ContactFactory

pytestmark = pytest.mark.django_db

BASKET = {
    "external_id": "till-5",
    "amount_minor": 4599,
    "currency": "EUR",
    "occurred_at": (WHEN + timedelta(minutes=3)).isoformat(),
    "channel": "in_store",
    "line_items": [{"name": "Boots", "sku": "BOOT-1", "category": "shoes", "unit_price_minor": 4599}],
}


@pytest.fixture
def feed(merchant):
    return make_source(merchant, "generic")


@pytest.fixture
def card(merchant):
    """A card whose shopper may be written to by email."""
    card = CardFactory(shopper__merchant=merchant)
    ContactFactory(shopper=card.shopper, kind="email")
    consent(card.shopper, channel="email", purpose="marketing", at=WHEN - timedelta(days=1))
    return card


@pytest.fixture
def thank_you(merchant):
    CampaignSettings.objects.update_or_create(
        merchant=merchant, defaults={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
    )
    return launched(campaign_with_message(merchant, kind=CampaignKind.REALTIME, trigger=Trigger.THANK_YOU))


@pytest.fixture
def program(merchant):
    program = ProgramFactory(merchant=merchant)
    RuleFactory(program=program, kind=RuleKind.CATEGORY, category="shoes", multiplier=2)
    return program


def post_basket(api_client, store, captured):
    with captured(execute=True):
        response = api_client.post(reverse("api_purchase_create"), {**BASKET, "store": store.pk}, format="json")
    assert response.status_code in (200, 201)
    return response


def send_auth(feed, card, captured, event_id="evt-1"):
    with captured(execute=True):
        response = send(feed, event(event_id, "auth", "txn-1", amount="45.99", card=card))
    assert response.status_code == 200


def arrive(order, *, feed, card, api_client, store, captured):
    if order == "basket_first":
        post_basket(api_client, store, captured)
        send_auth(feed, card, captured)
    else:
        send_auth(feed, card, captured)
        post_basket(api_client, store, captured)


@pytest.mark.parametrize("order", ["basket_first", "network_first"])
def test_a_late_match_starts_the_campaign_once_and_earns_every_point(
    order, feed, card, store, api_client, thank_you, program, django_capture_on_commit_callbacks
):
    # when a till's basket and the network's authorisation of the same purchase arrive, in either order
    arrive(order, feed=feed, card=card, api_client=api_client, store=store, captured=django_capture_on_commit_callbacks)

    # then there is one purchase, on the card's shopper, with its basket
    purchase = Purchase.all_merchants.get()
    assert (purchase.shopper, purchase.network_transaction_id, purchase.state) == (card.shopper, "txn-1", "authorised")
    # the thank-you campaign wrote to the shopper once, about that purchase
    message = OutboxMessage.objects.get(campaign=thank_you)
    assert (message.shopper_id, message.dedupe_key, message.status) == (
        card.shopper.pk,
        f"purchase:{purchase.pk}",
        "sent",
    )
    # and the shopper has the base points and the shoes bonus, pending until the transaction clears
    account = Account.objects.get(shopper=card.shopper)
    assert (account.points_balance, account.points_pending) == (0, 45 + 45)


@pytest.mark.parametrize("order", ["basket_first", "network_first"])
def test_retrying_either_half_after_a_late_match_changes_nothing(
    order, feed, card, store, api_client, thank_you, program, django_capture_on_commit_callbacks
):
    captured = django_capture_on_commit_callbacks
    arrive(order, feed=feed, card=card, api_client=api_client, store=store, captured=captured)
    entries = LedgerEntry.all_merchants.count()

    # when the till sends its basket again, and the network sends the authorisation again (under a new event id)
    retried = post_basket(api_client, store, captured)
    send_auth(feed, card, captured, event_id="evt-again")

    # then it is the same purchase: no second message, no point more
    assert retried.json()["id"] == str(Purchase.all_merchants.get().public_id)
    assert OutboxMessage.objects.filter(campaign=thank_you).count() == 1
    assert LedgerEntry.all_merchants.count() == entries
    assert Account.objects.get(shopper=card.shopper).points_pending == 90


def test_a_clearing_for_another_amount_earns_on_the_final_amount_at_once(
    feed, card, store, api_client, program, django_capture_on_commit_callbacks
):
    captured = django_capture_on_commit_callbacks
    arrive("basket_first", feed=feed, card=card, api_client=api_client, store=store, captured=captured)

    # when the network clears the transaction for less than it authorised
    with captured(execute=True):
        send(feed, event("evt-2", "clearing", "txn-1", amount="40.00", card=card))

    # then the points are available at once, on the cleared amount (the basket's shoes still count)
    account = Account.objects.get(shopper=card.shopper)
    assert (account.points_balance, account.points_pending) == (40 + 45, 0)
