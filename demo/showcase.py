"""What the demo adds so that every feature has something to show on a fresh start.

Registered kiosks and Wi-Fi portals, a few probable duplicates for the duplicate finder (the same Gmail
mailbox spelt two ways, one phone number, one card, similar names with one birthday), mall shoppers who
buy at both merchants with their card (enough for the cross-shopping cells, above the 10-shopper floor),
redemptions spread over the last months, a sender name on campaigns and the survey link in the feedback
request. `demo_insights_refresh` then computes the insight snapshots, so no page waits for the worker.

Running it again adds nothing: each part looks for what it made before.
"""

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from campaigns.models import CampaignSettings, MessageTemplate, Trigger
from demo.history import fictional_phone_numbers
from insights.services import insights_refresh
from loyalty.models import LedgerEntry, Redemption
from loyalty.services.ledger import ledger_months_rebuild
from merchants.models import Merchant, Store
from profiles.models import (
    Card,
    CardStatus,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ContactKind,
    ContactPoint,
    JoinedVia,
    LineItem,
    Purchase,
    Shopper,
    ShopperStatus,
    SignupPoint,
    SignupPointKind,
)
from profiles.services import purchases
from profiles.services.cards import card_fingerprint
from profiles.services.shoppers import ConsentInput, ConsentOrigin, consent_record
from profiles.services.signup import signup_point_create

DEMO_MERCHANTS = ("northwind", "blue-bean")
SENDER_NAMES = {"northwind": "Northwind Outfitters", "blue-bean": "Blue Bean Coffee"}
# Mall shoppers: Northwind shoppers who also buy coffee at Blue Bean with the same card.
MALL_SHOPPERS = 40
MALL_PURCHASE_PREFIX = "mall-"
# Redemptions are spread over this many days before today.
REDEMPTION_DAYS = 120

# (first, last, kind of evidence, value): each pair below is one probable duplicate.
DUPLICATE_PAIRS = (
    (("Anna", "Jansen"), ("Anna", "Jansen"), "email", ("anna.jansen@example.com", "Anna.Jansen@example.com")),
    (("Ji-woo", "Park"), ("Jiwoo", "Park"), "card", ("tok_demo_dup_park", "tok_demo_dup_park")),
    (("陳", "美玲"), ("陈", "美玲"), "phone", ("", "")),  # a fictional number nobody in the demo has
    (("Mohammed", "Al-Farsi"), ("Mohamed", "Al Farsi"), "birthday", (date(1988, 4, 12), date(1988, 4, 12))),
)


def _say(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


def demo_showcase_seed(*, stdout: Any = None) -> None:
    merchants = {merchant.slug: merchant for merchant in Merchant.objects.filter(slug__in=DEMO_MERCHANTS)}
    for slug, merchant in sorted(merchants.items()):
        with transaction.atomic():
            points = _signup_points(merchant)
            duplicates = _duplicates(merchant)
            _sender_name(merchant, SENDER_NAMES[slug])
            _feedback_link(merchant)
            spread = _redemptions_spread(merchant)
        _say(
            stdout,
            f"  {merchant.name}: {points} kiosk and Wi-Fi portal(s), {duplicates} probable duplicate pair(s), "
            f"{spread} redemption(s) spread over {REDEMPTION_DAYS} days",
        )
    if "northwind" in merchants and "blue-bean" in merchants:
        made = _mall_shoppers(merchants["northwind"], merchants["blue-bean"])
        _say(stdout, f"  Riverside Mall: {made} shopper(s) buying at both merchants with one card")


def demo_insights_refresh(*, stdout: Any = None) -> None:
    for merchant in Merchant.objects.filter(slug__in=DEMO_MERCHANTS).order_by("pk"):
        insights_refresh(merchant=merchant, force=True)
        _say(stdout, f"  {merchant.name}: insight snapshots computed")


def _signup_points(merchant: Merchant) -> int:
    if SignupPoint.objects.filter(merchant=merchant).exists():
        return 0
    stores = list(Store.objects.for_merchant(merchant).order_by("pk")[:2])
    if not stores:
        return 0
    signup_point_create(
        merchant=merchant,
        actor=None,
        store=stores[0],
        kind=SignupPointKind.KIOSK,
        name=f"{stores[0].name} entrance kiosk",
        welcome_message="Welcome! Sign up and get 100 points on your first purchase.",
    )
    signup_point_create(
        merchant=merchant,
        actor=None,
        store=stores[-1],
        kind=SignupPointKind.WIFI,
        name=f"{stores[-1].name} guest Wi-Fi",
        redirect_url="https://www.example.com/",
    )
    return 2


def _duplicates(merchant: Merchant) -> int:
    marker = DUPLICATE_PAIRS[0][3][1]
    if ContactPoint.objects.for_merchant(merchant).filter(kind=ContactKind.EMAIL, value=marker).exists():
        return 0
    now = timezone.now()
    taken = set(
        ContactPoint.objects.for_merchant(merchant).filter(kind=ContactKind.PHONE).values_list("value", flat=True)
    )
    phone = next(number for number in reversed(fictional_phone_numbers()) if number not in taken)
    for index, (first, second, evidence, values) in enumerate(DUPLICATE_PAIRS):
        values = (phone, phone) if evidence == "phone" else values
        pair = zip((first, second), values, (JoinedVia.KIOSK, JoinedVia.CHECKOUT), (True, False), strict=True)
        for (first_name, last_name), value, via, is_first in pair:
            shopper = Shopper.objects.create(
                merchant=merchant,
                first_name=first_name,
                last_name=last_name,
                joined_via=via,
                birthday=value if evidence == "birthday" else None,
            )
            if evidence in ("email", "phone"):
                ContactPoint.objects.create(
                    merchant=merchant,
                    shopper=shopper,
                    kind=ContactKind.EMAIL if evidence == "email" else ContactKind.PHONE,
                    value=value,
                    # A confirmed contact is one profile's: the second signed up again and has not confirmed.
                    is_verified=is_first,
                    verified_at=now - timedelta(days=10 + index) if is_first else None,
                )
            elif evidence == "card":
                Card.objects.create(
                    merchant=merchant,
                    shopper=shopper,
                    token=f"{value}_{merchant.slug}",
                    fingerprint=card_fingerprint(f"{value}_{merchant.slug}"),
                    scheme="visa",
                    first_six="424242",
                    last_four="4242",
                    linked_via=via,
                    # One card is active on one profile at a time: the older profile's link was given up.
                    status=CardStatus.UNLINKED if is_first else CardStatus.ACTIVE,
                    unlinked_at=now - timedelta(days=30) if is_first else None,
                )
    return len(DUPLICATE_PAIRS)


def _sender_name(merchant: Merchant, name: str) -> None:
    settings, _created = CampaignSettings.objects.get_or_create(merchant=merchant)
    if not settings.sender_name:
        CampaignSettings.objects.filter(merchant=merchant).update(sender_name=name)


def _feedback_link(merchant: Merchant) -> None:
    """The feedback request's message carries the survey link (rendered per message at send time)."""
    templates = MessageTemplate.objects.filter(
        merchant=merchant, variant__campaign__trigger=Trigger.FEEDBACK_REQUEST
    ).exclude(body__contains="{{ feedback_url }}")
    for template in templates:
        template.body = f"{template.body}\n\nTell us here: {{{{ feedback_url }}}}"
        template.save(update_fields=["body"])


def _redemptions_spread(merchant: Merchant) -> int:
    """The demo's redemptions were all made at seed time: move each (and its ledger entries) to a day of the
    last months, so the redemption trend has a shape. Balances do not change; the closed months are rebuilt."""
    now = timezone.now()
    redemptions = list(
        Redemption.objects.filter(merchant=merchant, created_at__gte=now - timedelta(hours=6)).order_by("pk")
    )
    earliest = Redemption.objects.filter(merchant=merchant).aggregate(first=Min("created_at"))["first"]
    if not redemptions or (earliest is not None and earliest < now - timedelta(days=7)):
        return 0
    rng = random.Random(merchant.pk)
    for redemption in redemptions:
        moment = now - timedelta(days=rng.randint(0, REDEMPTION_DAYS), minutes=rng.randint(0, 600))
        Redemption.objects.filter(merchant=merchant, pk=redemption.pk).update(created_at=moment)
        LedgerEntry.objects.filter(merchant=merchant, redemption=redemption).update(created_at=moment)
    ledger_months_rebuild(merchant=merchant)
    return len(redemptions)


def _opening_hours(merchant: Merchant, day: datetime, rng: random.Random) -> datetime:
    """A moment of that day between 8:00 and 16:59, the merchant's local time (the coffee bar is open)."""
    local = day.astimezone(ZoneInfo(merchant.timezone))
    return local.replace(hour=rng.randint(8, 16), minute=rng.randint(0, 59), second=0, microsecond=0)


def _mall_shoppers(northwind: Merchant, coffee: Merchant) -> int:
    """Northwind shoppers with a recent purchase and a card who also buy coffee at Blue Bean's mall kiosk with the
    same card, both sides sharing with the mall network: the cross-shopping cells of both merchants fill up."""
    if Purchase.objects.for_merchant(coffee).filter(external_id__startswith=MALL_PURCHASE_PREFIX).exists():
        return 0
    now = timezone.now()
    recent = (
        Purchase.objects.for_merchant(northwind)
        .filter(occurred_at__gte=now - timedelta(days=60), shopper__status=ShopperStatus.ACTIVE)
        .exclude(shopper=None)
        .values_list("shopper_id", flat=True)
        .distinct()
    )
    cards = list(
        Card.objects.for_merchant(northwind)
        .filter(status=CardStatus.ACTIVE, shopper_id__in=recent)
        .select_related("shopper")
        .order_by("pk")[:MALL_SHOPPERS]
    )
    kiosk = Store.objects.for_merchant(coffee).order_by("pk").first()
    menu = list(
        LineItem.objects.for_merchant(coffee)
        .exclude(category="")
        .values_list("sku", "name", "category", "unit_price_minor")
        .distinct()
        .order_by("category", "sku")
    )
    by_category: dict[str, list[tuple[str, str, str, int]]] = {}
    for item in menu:
        by_category.setdefault(item[2], []).append(item)
    # The two categories every mall shopper buys from: a drink and something with it.
    categories = sorted(by_category, key=lambda category: -len(by_category[category]))[:2]
    if kiosk is None or len(categories) < 2:
        return 0
    rng = random.Random(7)
    sharing = [ConsentInput(channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.NETWORK_SHARING, is_granted=True)]
    mall = ConsentOrigin(source=ConsentSource.KIOSK, reference="Riverside Mall")
    for number, card in enumerate(cards):
        with transaction.atomic():
            consent_record(shopper=card.shopper, consents=sharing, origin=mall, occurred_at=now - timedelta(days=90))
            shopper = Shopper.objects.create(
                merchant=coffee,
                first_name=card.shopper.first_name,
                last_name=card.shopper.last_name,
                joined_via=JoinedVia.KIOSK,
                home_store=kiosk,
            )
            Card.objects.create(
                merchant=coffee,
                shopper=shopper,
                token=card.token,
                fingerprint=card.fingerprint,
                scheme=card.scheme,
                first_six=card.first_six,
                last_four=card.last_four,
                linked_via=JoinedVia.KIOSK,
            )
            consent_record(shopper=shopper, consents=sharing, origin=mall, occurred_at=now - timedelta(days=90))
            for visit in range(3):
                items = [rng.choice(by_category[category]) for category in categories]
                purchases.purchase_record(
                    merchant=coffee,
                    data=purchases.PurchaseInput(
                        external_id=f"{MALL_PURCHASE_PREFIX}{number}-{visit}",
                        amount_minor=sum(price for _sku, _name, _category, price in items),
                        currency=coffee.currency,
                        occurred_at=_opening_hours(coffee, now - timedelta(days=rng.randint(1, 55)), rng),
                        channel="in_store",
                        store=kiosk,
                        shopper=shopper,
                        line_items=[
                            purchases.LineItemInput(name=name, unit_price_minor=price, sku=sku, category=category)
                            for sku, name, category, price in items
                        ],
                    ),
                )
    return len(cards)
