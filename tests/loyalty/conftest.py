import itertools
from datetime import datetime

import pytest
from django.utils import timezone

from loyalty.models import Account
from profiles.services import purchases
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import CardFactory, ShopperFactory

_numbers = itertools.count(1)


@pytest.fixture
def program(merchant):
    return ProgramFactory(merchant=merchant)


@pytest.fixture
def card(merchant):
    return CardFactory(shopper=ShopperFactory(merchant=merchant))


@pytest.fixture
def shopper(card):
    return card.shopper


@pytest.fixture
def buy(merchant, store, card):
    """Record a purchase on the linked card through the ingest service; returns the purchase."""

    def make(
        amount_minor: int = 5000,
        *,
        channel: str = "in_store",
        at: datetime | None = None,
        lines: tuple = (),
        state: str = "cleared",
        source: str = "api",
        on_card=None,
        store_=None,
        for_merchant=None,
    ):
        number = next(_numbers)
        chosen_store = store_ if store_ is not None else (store if channel == "in_store" else None)
        result = purchases.purchase_record(
            merchant=for_merchant or merchant,
            data=purchases.PurchaseInput(
                external_id=f"order-{number}",
                amount_minor=amount_minor,
                currency="EUR",
                occurred_at=at or timezone.now(),
                channel=channel,
                store=chosen_store,
                card_token=(on_card or card).token,
                state=state,
                source=source,
                network_transaction_id=f"txn-{number}" if source == "network" else None,
                line_items=tuple(
                    purchases.LineItemInput(name=sku, sku=sku, category=category, unit_price_minor=price)
                    for sku, category, price in lines
                ),
            ),
        )
        return result.purchase

    return make


def account_of(shopper) -> Account:
    return Account.objects.get(shopper=shopper)
