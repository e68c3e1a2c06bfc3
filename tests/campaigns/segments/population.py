"""A small population whose every segment audience can be worked out by hand.

Northwind has two stores, Market Square and Harbour, and these shoppers (days are before now):

| shopper | purchases (channel, store, days ago, amount)            | stage   | R F M | visits            |
|---------|---------------------------------------------------------|---------|-------|-------------------|
| ann     | 5 in store at Market Square: 60, 40, 20, 10, 2 days;      | regular | 3 3 3 | Market Square ×3    |
|         | 2,000 each except 12,000 ten days ago (2 × Shoes 6,000)  |         |       | (5, 12, 25 days)  |
| ben     | 1 online, 10 days ago, 3,000 (Shirts)                    | new     | 2 1 1 | —                 |
| cat     | online 250 days ago 4,000; Harbour 200 days ago 5,000    | lapsed  | 1 2 2 | —                 |
|         | (Shoes 5,000)                                            |         |       |                   |
| dan     | none                                                     | —       | — — — | Harbour, 5 days   |
| eve     | erased; in store at Market Square 100 days ago             | —       |       | Market Square       |
| fay     | merged into ann; in store at Market Square 3 days ago      | —       |       |                   |

Profiles: ann en, born in March, email granted, prefers the brand "Harbour Denim", Gold tier,
500 points; ben ko, born in July, email granted then withdrawn, SMS granted, Silver tier,
100 points; cat ar, born in March, email withdrawn then granted, no loyalty account; dan en,
no birthday, no consent, a member with no tier and 0 points. eve and fay (not active) and
Elsewhere's shopper oz would match almost everything, and must never appear.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from campaigns.segments import scores
from loyalty.models import Account, Program, Tier
from merchants.models import Merchant, Store
from profiles.models import (
    ConsentEvent,
    ContactPoint,
    Shopper,
    ShopperPreferences,
    ShopperStatus,
    Visit,
)
from profiles.services.purchases import LineItemInput, PurchaseInput, purchase_record
from tests.factories import MerchantFactory, StoreFactory
from tests.profiles.factories import ShopperFactory

ACTIVE_NAMES = ("ann", "ben", "cat", "dan")


@dataclass
class Population:
    merchant: Merchant
    market: Store
    harbour: Store
    shoppers: dict[str, Shopper]
    gold: Tier
    silver: Tier
    other_merchant: Merchant
    other_store: Store
    now: datetime

    def names(self, queryset) -> set[str]:
        by_id = {shopper.pk: name for name, shopper in self.shoppers.items()}
        return {by_id.get(pk, f"unknown {pk}") for pk in queryset.values_list("pk", flat=True)}


_counter = iter(range(1, 10_000))


def _buy(shopper, *, days, amount, channel="in_store", store=None, lines=(), now):
    purchase_record(
        merchant=shopper.merchant,
        data=PurchaseInput(
            external_id=f"order-{next(_counter)}",
            amount_minor=amount,
            currency="EUR",
            occurred_at=now - timedelta(days=days),
            channel=channel,
            store=store,
            shopper=shopper,
            line_items=tuple(lines),
        ),
    )


def _consent(shopper, channel, granted, *, days, now):
    ConsentEvent.objects.create(
        merchant=shopper.merchant,
        shopper=shopper,
        channel=channel,
        purpose="marketing",
        is_granted=granted,
        occurred_at=now - timedelta(days=days),
        source="staff",
    )


def _visit(shopper, store, *, days, now):
    Visit.objects.create(
        merchant=shopper.merchant, shopper=shopper, store=store, occurred_at=now - timedelta(days=days), source="wifi"
    )


def population_build(*, merchant: Merchant | None = None, other_merchant: Merchant | None = None) -> Population:
    now = timezone.now()
    merchant = merchant or MerchantFactory(name="Northwind", slug="northwind", currency="EUR")
    market = StoreFactory(merchant=merchant, name="Market Square")
    harbour = StoreFactory(merchant=merchant, name="Harbour")
    other_merchant = other_merchant or MerchantFactory(name="Elsewhere Ltd", slug="elsewhere", currency="EUR")
    other_store = StoreFactory(merchant=other_merchant, name="Far Away")

    def shopper(name, merchant=merchant, **fields):
        return ShopperFactory(merchant=merchant, first_name=name.title(), last_name="Example", **fields)

    ann = shopper("ann", language="en", birthday=date(1990, 3, 14))
    ben = shopper("ben", language="ko", birthday=date(1985, 7, 2))
    cat = shopper("cat", language="ar", birthday=date(2000, 3, 30))
    dan = shopper("dan", language="en")
    eve = shopper("eve", language="en", birthday=date(1990, 3, 1))
    fay = shopper("fay", language="en", birthday=date(1990, 3, 1))
    oz = shopper("oz", merchant=other_merchant, language="en", birthday=date(1990, 3, 1))

    for days in (60, 40, 20, 2):
        _buy(ann, days=days, amount=2000, store=market, now=now)
    shoes = LineItemInput(name="Trail shoe", unit_price_minor=6000, quantity=2, category="Shoes")
    _buy(ann, days=10, amount=12000, store=market, lines=[shoes], now=now)
    _buy(
        ben,
        days=10,
        amount=3000,
        channel="online",
        lines=[LineItemInput(name="Oxford shirt", unit_price_minor=3000, category="Shirts")],
        now=now,
    )
    _buy(cat, days=250, amount=4000, channel="online", now=now)
    boots = LineItemInput(name="Boot", unit_price_minor=5000, category="Shoes")
    _buy(cat, days=200, amount=5000, store=harbour, lines=[boots], now=now)
    _buy(eve, days=100, amount=9000, store=market, lines=[shoes], now=now)
    _buy(fay, days=3, amount=9000, store=market, lines=[shoes], now=now)
    _buy(oz, days=5, amount=50000, store=other_store, lines=[shoes], now=now)

    for days in (5, 12, 25):
        _visit(ann, market, days=days, now=now)
    _visit(dan, harbour, days=5, now=now)
    _visit(eve, market, days=5, now=now)
    _visit(oz, other_store, days=5, now=now)

    _consent(ann, "email", True, days=30, now=now)
    _consent(ben, "email", True, days=30, now=now)
    _consent(ben, "email", False, days=3, now=now)
    _consent(ben, "sms", True, days=30, now=now)
    _consent(cat, "email", False, days=30, now=now)
    _consent(cat, "email", True, days=3, now=now)
    for other in (eve, fay, oz):
        _consent(other, "email", True, days=3, now=now)
        _consent(other, "sms", True, days=3, now=now)

    for someone in (ann, eve, fay, oz):
        ShopperPreferences.objects.create(merchant=someone.merchant, shopper=someone, brands=["Harbour Denim"])
    for someone in (ann, ben, cat, dan, eve, fay):
        ContactPoint.objects.create(
            merchant=merchant, shopper=someone, kind="email", value=f"{someone.first_name.lower()}@example.com"
        )
    ContactPoint.objects.create(merchant=merchant, shopper=ben, kind="phone", value="+821012345678")

    # Loyalty after the purchases, so the balances are exactly these.
    program = Program.objects.create(merchant=merchant, name="Northwind Rewards")
    gold = Tier.objects.create(merchant=merchant, program=program, name="Gold", threshold=50_000)
    silver = Tier.objects.create(merchant=merchant, program=program, name="Silver", threshold=10_000)
    other_program = Program.objects.create(merchant=other_merchant, name="Elsewhere Points")
    other_gold = Tier.objects.create(merchant=other_merchant, program=other_program, name="Gold", threshold=1)
    for someone, tier, points, member_program in (
        (ann, gold, 500, program),
        (ben, silver, 100, program),
        (dan, None, 0, program),
        (eve, gold, 900, program),
        (fay, gold, 900, program),
        (oz, other_gold, 900, other_program),
    ):
        Account.objects.update_or_create(
            shopper=someone,
            defaults={
                "merchant": someone.merchant,
                "program": member_program,
                "tier": tier,
                "points_balance": points,
                "enrolled_at": now,
                "enrolled_via": "api",
            },
        )

    Shopper.objects.filter(merchant=merchant, pk=eve.pk).update(status=ShopperStatus.ERASED, erased_at=now)
    Shopper.objects.filter(merchant=merchant, pk=fay.pk).update(status=ShopperStatus.MERGED, merged_into=ann)

    scores.scores_refresh(merchant=merchant, now=now)
    scores.scores_refresh(merchant=other_merchant, now=now)
    return Population(
        merchant=merchant,
        market=market,
        harbour=harbour,
        shoppers={"ann": ann, "ben": ben, "cat": cat, "dan": dan, "eve": eve, "fay": fay, "oz": oz},
        gold=gold,
        silver=silver,
        other_merchant=other_merchant,
        other_store=other_store,
        now=now,
    )
