"""A Seoul merchant with two stores, a shopper with a purchase history, consents, points and a message."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from loyalty.models import Account
from loyalty.services.ledger import points_adjust
from merchants.models import Store
from profiles.models import ConsentEvent, LineItem, Purchase, Shopper, ShopperPreferences
from tests.campaigns.factories import CampaignFactory, OutboxMessageFactory
from tests.factories import StoreFactory
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import CardFactory, ContactFactory, PurchaseFactory, ShopperFactory

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def read_csv(content: bytes | str) -> list[dict[str, str]]:
    text = content.decode() if isinstance(content, bytes) else content
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@dataclass
class History:
    store: Store
    second_store: Store
    shopper: Shopper
    basket: Purchase
    refunded: Purchase
    elsewhere: Purchase
    outside: Purchase


@pytest.fixture
def history(merchant, store, owner):
    merchant.timezone = "Asia/Seoul"
    merchant.currency = "KRW"
    merchant.save()
    second = StoreFactory(merchant=merchant, name="Gangnam", timezone="Asia/Seoul")
    shopper = ShopperFactory(merchant=merchant, first_name="민준", last_name="김", home_store=store, language="ko")
    ContactFactory(shopper=shopper, kind="email", value="minjun@example.com")
    ContactFactory(shopper=shopper, kind="phone", value="+821012345678")
    ShopperPreferences.objects.create(merchant=merchant, shopper=shopper, sizes=["M"], brands=["Acme", "Bolt"])
    card = CardFactory(shopper=shopper, scheme="visa", last_four="4242")

    basket = PurchaseFactory(
        merchant=merchant, store=store, shopper=shopper, card=card, channel="in_store", currency="KRW",
        amount_minor=25000, occurred_at=seoul(2026, 3, 1, 10, 30), external_id="basket-1",
    )  # fmt: skip
    LineItem.objects.create(
        merchant=merchant, purchase=basket, sku="TEA-1", name="Green tea", category="Tea", quantity=2,
        unit_price_minor=5000,
    )  # fmt: skip
    LineItem.objects.create(
        merchant=merchant, purchase=basket, sku="MUG-1", name="Mug", category="Home", quantity=1,
        unit_price_minor=15000,
    )  # fmt: skip
    # no line items, half refunded, at 23:30 on the last day of the period in Seoul (14:30 UTC)
    refunded = PurchaseFactory(
        merchant=merchant, store=store, shopper=shopper, currency="KRW", amount_minor=12000, refunded_minor=6000,
        state="refunded", occurred_at=seoul(2026, 3, 31, 23, 30), external_id="order-2",
    )  # fmt: skip
    elsewhere = PurchaseFactory(
        merchant=merchant, store=second, currency="KRW", amount_minor=3000, occurred_at=seoul(2026, 3, 15, 12, 0),
        external_id="order-3",
    )  # fmt: skip
    # ten minutes after the period ends in Seoul, although still March 31 in UTC
    outside = PurchaseFactory(
        merchant=merchant, store=store, shopper=shopper, currency="KRW", amount_minor=999,
        occurred_at=seoul(2026, 4, 1, 0, 10), external_id="order-4",
    )  # fmt: skip

    for granted, day in ((True, 2), (False, 20)):
        ConsentEvent.objects.create(
            merchant=merchant, shopper=shopper, channel="email", purpose="marketing", is_granted=granted,
            occurred_at=seoul(2026, 3, day, 9, 0), source="kiosk", source_ref="Kiosk at the door",
            wording_version="2026-11",
        )  # fmt: skip

    program = ProgramFactory(merchant=merchant)
    account = Account.objects.create(
        merchant=merchant, program=program, shopper=shopper, enrolled_at=timezone.now(), enrolled_via="api"
    )
    points_adjust(merchant=merchant, account=account, points=150, reason="Welcome gift", actor=owner)

    campaign = CampaignFactory(merchant=merchant, name="Spring tea")
    OutboxMessageFactory(
        assignment__campaign=campaign, assignment__shopper=shopper, status="sent", to="minjun@example.com",
        subject="Spring is here", sent_at=seoul(2026, 3, 3, 11, 0), created_at=seoul(2026, 3, 3, 10, 59),
    )  # fmt: skip
    return History(store, second, shopper, basket, refunded, elsewhere, outside)
