"""Earning after a late match: a checkout basket and the network transaction for the same purchase become one
purchase, in either order, and earn exactly what that purchase earns when it arrives whole.

Every test compares the shopper of a merchant whose purchase arrives in two halves with the shopper of a
control merchant, with the same program, who receives the whole purchase at once (the network transaction
carrying the basket).
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from loyalty.models import Account, LedgerEntry, Program, Reason, RuleKind
from loyalty.tasks import settle_earnings
from merchants.models import Merchant
from profiles.models import Purchase
from profiles.services import purchases
from tests.factories import MerchantFactory, StoreFactory
from tests.loyalty.factories import OfferFactory, ProgramFactory, RuleFactory, TierFactory
from tests.profiles.factories import CardFactory, ShopperFactory

pytestmark = pytest.mark.django_db

AMOUNT = 12_000
LINES = (("SHO-1", "Shoes", 10_000), ("TEE-1", "Tops", 2_000))
# What the whole purchase earns with `_program`: 120 base, 200 for the shoes (×3), 25 for the tee (×2, +5),
# 300 spend bonus (capped at 500 per shopper), 200 for the card-linked offer.
WHOLE_POINTS = 120 + 200 + 25 + 300 + 200


@dataclass
class Side:
    merchant: Merchant
    store: object
    card: object

    @property
    def shopper(self):
        return self.card.shopper

    def seen(self) -> dict:
        """What the shopper sees: balance, pending points, spend toward tiers, and points by reason and bucket."""
        account = Account.objects.get(shopper=self.shopper)
        by_reason = {
            (reason, bucket): points
            for reason, bucket, points in LedgerEntry.objects.filter(account=account)
            .values("reason", "bucket")
            .annotate(points=Sum("points"))
            .values_list("reason", "bucket", "points")
            if points
        }
        spend = LedgerEntry.objects.filter(account=account).aggregate(spend=Sum("qualifying_spend_minor"))["spend"]
        return {
            "available": account.points_balance,
            "pending": account.points_pending,
            "spend": spend,
            "by_reason": by_reason,
        }


def _program(merchant: Merchant, **program_fields):
    program = ProgramFactory(merchant=merchant, **program_fields)
    RuleFactory(program=program, kind=RuleKind.CATEGORY, category="shoes", multiplier=3)
    RuleFactory(program=program, kind=RuleKind.SKU, sku="TEE-1", multiplier=2, bonus_points=5)
    RuleFactory(program=program, kind=RuleKind.SPEND_BONUS, bonus_points=300, cap_points=500)
    OfferFactory(program=program, minimum_spend_minor=5000, reward_points=200)
    return program


def _side(merchant: Merchant, **program_fields) -> Side:
    merchant.has_network_feed = True
    merchant.save(update_fields=["has_network_feed"])
    _program(merchant, **program_fields)
    store = StoreFactory(merchant=merchant, name="Main Street", network_location_ids=["LOC-1"])
    return Side(merchant=merchant, store=store, card=CardFactory(shopper=ShopperFactory(merchant=merchant)))


@pytest.fixture
def late(merchant) -> Side:
    return _side(merchant)


@pytest.fixture
def control(db) -> Side:
    return _side(MerchantFactory(name="Control", slug="control"))


WHEN = timezone.now() - timedelta(hours=1)


def basket(side: Side, *, external_id="till-1", shopper=None):
    return purchases.purchase_record(
        merchant=side.merchant,
        data=purchases.PurchaseInput(
            external_id=external_id,
            amount_minor=AMOUNT,
            currency="EUR",
            occurred_at=WHEN,
            channel="in_store",
            store=side.store,
            shopper=shopper,
            line_items=tuple(
                purchases.LineItemInput(name=sku, sku=sku, category=category, unit_price_minor=price)
                for sku, category, price in LINES
            ),
        ),
    )


def network_auth(
    side: Side, *, transaction_id="txn-1", with_basket=False, state="authorised", amount_minor=AMOUNT, at=None
):
    return purchases.purchase_record(
        merchant=side.merchant,
        data=purchases.PurchaseInput(
            external_id=transaction_id,
            network_transaction_id=transaction_id,
            source="network",
            amount_minor=amount_minor,
            currency="EUR",
            occurred_at=at or WHEN + timedelta(minutes=2),
            channel="in_store",
            store=side.store,
            card_token=side.card.token,
            state=state,
            line_items=tuple(
                purchases.LineItemInput(name=sku, sku=sku, category=category, unit_price_minor=price)
                for sku, category, price in LINES
            )
            if with_basket
            else (),
        ),
    )


def arrive_in_halves(side: Side, order: str) -> Purchase:
    if order == "basket_first":
        basket(side)
        result = network_auth(side)
    else:
        network_auth(side)
        result = basket(side)
    assert result.basket_matched
    assert Purchase.objects.for_merchant(side.merchant).filter(amount_minor=AMOUNT).count() == 1
    return result.purchase


def arrive_whole(side: Side) -> Purchase:
    return network_auth(side, with_basket=True).purchase


def clear(side: Side, amount_minor: int) -> None:
    """A clearing of the network transaction, as the network feed books it."""
    with transaction.atomic():
        purchase = (
            Purchase.objects.for_merchant(side.merchant)
            .select_for_update(of=("self",))
            .select_related("merchant")
            .get(network_transaction_id="txn-1")
        )
        purchases.purchase_change_value(
            purchase=purchase,
            amount_minor=amount_minor if amount_minor != purchase.amount_minor else None,
            state="cleared",
        )


ORDERS = ["basket_first", "network_first"]


@pytest.mark.parametrize("order", ORDERS)
def test_a_late_match_earns_what_the_whole_purchase_earns(late, control, order):
    # when the purchase arrives in two halves at one merchant, and whole at the other
    arrive_in_halves(late, order)
    arrive_whole(control)

    # then both shoppers see the same points: all of them pending until the transaction clears
    assert late.seen() == control.seen()
    assert (late.seen()["available"], late.seen()["pending"]) == (0, WHOLE_POINTS)
    assert late.seen()["by_reason"] == {
        (Reason.EARN, "pending"): 120,
        (Reason.RULE, "pending"): 200 + 25 + 300,
        (Reason.OFFER, "pending"): 200,
    }


@pytest.mark.parametrize("cleared_minor", [AMOUNT, 11_500])
@pytest.mark.parametrize("order", ORDERS)
def test_a_late_match_then_its_clearing_earns_what_the_whole_purchase_earns(late, control, order, cleared_minor):
    arrive_in_halves(late, order)
    arrive_whole(control)

    # when the transaction clears (for the same amount, or less) and the settlement runs
    clear(late, cleared_minor)
    clear(control, cleared_minor)
    settle_earnings()

    # then the points are available, and what the final amount earns
    assert late.seen() == control.seen()
    assert late.seen()["pending"] == 0
    assert late.seen()["available"] == WHOLE_POINTS - (AMOUNT - cleared_minor) // 100
    assert late.seen()["spend"] == cleared_minor


@pytest.mark.parametrize("order", ORDERS)
def test_retrying_either_half_after_the_match_changes_nothing(late, order):
    matched = arrive_in_halves(late, order)
    before = late.seen()
    entries = LedgerEntry.objects.filter(merchant=late.merchant).count()

    # when both halves are sent again
    basket_again = basket(late)
    auth_again = network_auth(late)

    # then they are the same purchase, and the points did not move
    assert (basket_again.purchase.pk, basket_again.created) == (matched.pk, False)
    assert (auth_again.purchase.pk, auth_again.created) == (matched.pk, False)
    assert late.seen() == before
    assert LedgerEntry.objects.filter(merchant=late.merchant).count() == entries


@pytest.mark.parametrize("order", ORDERS)
def test_a_refund_after_a_late_match_takes_back_the_right_points(late, control, order):
    matched = arrive_in_halves(late, order)
    whole = arrive_whole(control)
    clear(late, AMOUNT)
    clear(control, AMOUNT)

    # when half of each is refunded, and the settlement runs
    purchases.purchase_refund(merchant=late.merchant, purchase_id=matched.pk, amount_minor=AMOUNT // 2)
    purchases.purchase_refund(merchant=control.merchant, purchase_id=whole.pk, amount_minor=AMOUNT // 2)
    settle_earnings()

    # then half of everything the purchase earned is taken back, on both
    assert late.seen() == control.seen()
    assert late.seen()["available"] == WHOLE_POINTS // 2
    assert late.seen()["spend"] == AMOUNT // 2


def test_a_basket_refunded_before_its_network_transaction_earns_only_what_remains(late, control):
    # given a basket half refunded before the network transaction says whose it was
    basket_purchase = basket(late).purchase
    purchases.purchase_refund(merchant=late.merchant, purchase_id=basket_purchase.pk, amount_minor=AMOUNT // 2)
    whole = arrive_whole(control)
    purchases.purchase_refund(merchant=control.merchant, purchase_id=whole.pk, amount_minor=AMOUNT // 2)
    settle_earnings()

    # when the network transaction arrives
    network_auth(late)

    # then the shopper earns on what was kept, as if the purchase had been theirs all along
    assert late.seen()["pending"] == control.seen()["pending"] == WHOLE_POINTS // 2


def test_a_checkout_that_knew_its_shopper_earns_once_when_the_transaction_confirms_it(late, control):
    # given a checkout basket sent with its shopper: it earned at once (no card yet, so no offer)
    basket(late, shopper=late.shopper)
    assert late.seen()["available"] == WHOLE_POINTS - 200

    # when the network authorisation for it arrives with the card
    network_auth(late)

    # then the card-linked offer is added, and nothing is earned twice
    assert late.seen()["available"] + late.seen()["pending"] == WHOLE_POINTS
    assert late.seen()["by_reason"][(Reason.OFFER, "available")] == 200


def test_a_tier_reached_by_the_first_half_gives_no_bonus_on_the_same_purchase(merchant, db):
    # given programs with a gold tier at 100.00 of spend, doubling points
    late = _side(merchant)
    control = _side(MerchantFactory(name="Control", slug="control"))
    for side in (late, control):
        TierFactory(
            program=Program.objects.get(merchant=side.merchant), threshold=10_000, earn_multiplier=2, name="Gold"
        )

    # when the network half lifts the shopper into gold before the basket arrives
    arrive_in_halves(late, "network_first")
    arrive_whole(control)

    # then the purchase that reached gold earns like the whole purchase did: no gold bonus on itself
    assert Account.objects.get(shopper=late.shopper).tier.name == "Gold"
    assert late.seen() == control.seen()
    assert (Reason.TIER, "pending") not in late.seen()["by_reason"]


def test_a_spend_bonus_cap_counts_the_shoppers_other_purchases_once(late, control):
    # given a shopper who already earned 300 of the 500-point spend bonus cap on another purchase
    for side in (late, control):
        network_auth(side, transaction_id="txn-0", state="cleared", amount_minor=3000, at=WHEN - timedelta(days=1))

    # when the next purchase arrives network half first, and earns again when its basket arrives
    matched = arrive_in_halves(late, "network_first")
    arrive_whole(control)

    # then it gets the 200 left under the cap, once
    assert late.seen() == control.seen()
    capped = LedgerEntry.objects.filter(purchase=matched, rule__kind=RuleKind.SPEND_BONUS)
    assert capped.aggregate(points=Sum("points"))["points"] == 200


def test_a_clearing_below_a_rules_minimum_spend_takes_that_rules_points_back(late, control):
    # given a bonus for spending 120.00 or more, earned by the authorisation
    for side in (late, control):
        RuleFactory(
            program=Program.objects.get(merchant=side.merchant),
            kind=RuleKind.SPEND_BONUS,
            minimum_spend_minor=AMOUNT,
            bonus_points=100,
            name="Big basket",
        )
    matched = arrive_in_halves(late, "network_first")
    arrive_whole(control)
    big_basket = LedgerEntry.objects.filter(purchase=matched, rule__name="Big basket")
    assert big_basket.aggregate(points=Sum("points"))["points"] == 100

    # when the transaction clears for less
    clear(late, AMOUNT - 500)
    clear(control, AMOUNT - 500)
    settle_earnings()

    # then that bonus is taken back, against its rule, and the rest is what the whole purchase earns
    assert big_basket.aggregate(points=Sum("points"))["points"] == 0
    assert late.seen() == control.seen()
    assert late.seen()["available"] == WHOLE_POINTS - 5
