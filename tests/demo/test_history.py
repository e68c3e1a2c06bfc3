"""The demo history: realistic, reproducible, loaded once, and its rollups exact."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from core.card_numbers import contains_card_number
from demo.history import COFFEE, FASHION, HistorySpec, demo_history_load
from demo.showcase import DUPLICATE_PAIRS, MALL_PURCHASE_PREFIX
from merchants.models import Merchant
from profiles.models import (
    Card,
    ConsentEvent,
    ContactPoint,
    LineItem,
    Purchase,
    Shopper,
    ShopperPreferences,
    ShopperRollup,
    StoreHourRollup,
    Visit,
)
from profiles.services.rollups import rollups_rebuild
from profiles.services.shoppers import card_fingerprint
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

SMALL = ["--demo-shoppers", "200", "--demo-purchases", "1500", "--shoppers", "300", "--purchases", "2500"]
MODELS = (
    Shopper,
    ContactPoint,
    ConsentEvent,
    ShopperPreferences,
    Card,
    Purchase,
    LineItem,
    Visit,
    ShopperRollup,
    StoreHourRollup,
)
NOW = datetime(2026, 1, 15, 14, 30, tzinfo=UTC)


def _seed(*arguments):
    output = StringIO()
    call_command("seed_demo", *arguments, stdout=output)
    return output.getvalue()


def _counts():
    return {model.__name__: model.all_merchants.count() for model in MODELS}


@pytest.fixture
def small_demo():
    return _seed(*SMALL)


def _local_hours(merchant, channel):
    zone = ZoneInfo(merchant.timezone)
    return Counter(
        occurred_at.astimezone(zone).hour
        for occurred_at in Purchase.objects.for_merchant(merchant)
        .filter(channel=channel)
        .values_list("occurred_at", flat=True)
    )


def test_each_demo_merchant_gets_a_year_of_shoppers_and_purchases(small_demo):
    northwind, blue_bean, megastore = (
        Merchant.objects.get(slug=slug) for slug in ("northwind", "blue-bean", "megastore")
    )

    # The history, and beside it the showcase's duplicate pairs (Northwind) and mall shoppers' coffees (Blue Bean).
    assert Shopper.objects.for_merchant(northwind).count() == 200 + 2 * len(DUPLICATE_PAIRS)
    assert (
        Purchase.objects.for_merchant(blue_bean).exclude(external_id__startswith=MALL_PURCHASE_PREFIX).count() == 1500
    )
    assert (Shopper.objects.for_merchant(megastore).count(), Purchase.objects.for_merchant(megastore).count()) == (
        300,
        2500,
    )
    assert not megastore.networks.exists()
    assert "Megastore" in small_demo


def test_purchases_follow_the_shops_rhythm_in_local_time(small_demo):
    northwind = Merchant.objects.get(slug="northwind")
    purchases = Purchase.objects.for_merchant(northwind)
    now = datetime.now(UTC)

    assert purchases.filter(occurred_at__gt=now).count() == 0
    assert purchases.filter(occurred_at__lt=now - timedelta(days=366)).count() == 0
    in_store_hours = _local_hours(northwind, "in_store")
    assert set(in_store_hours) <= set(range(10, 21))  # opening hours, late on Thursday
    assert in_store_hours[13] > in_store_hours[10]
    assert set(_local_hours(Merchant.objects.get(slug="blue-bean"), "in_store")) <= set(range(7, 18))
    zone = ZoneInfo(northwind.timezone)
    weekdays = Counter(moment.astimezone(zone).weekday() for moment in purchases.values_list("occurred_at", flat=True))
    assert weekdays.most_common(1)[0][0] == 5  # Saturday
    december = purchases.filter(occurred_at__month=12).count() / 31
    assert december > purchases.count() / 365 * 1.15


def test_shoppers_mix_channels_regulars_one_timers_and_lapsed(small_demo):
    northwind = Merchant.objects.get(slug="northwind")
    purchases = Purchase.objects.for_merchant(northwind)
    rollups = ShopperRollup.objects.for_merchant(northwind)
    now = datetime.now(UTC)

    assert purchases.filter(channel="online").count() > purchases.count() * 0.15
    assert purchases.filter(channel="in_store").count() > purchases.count() * 0.5
    assert purchases.filter(shopper=None).exists()  # anonymous
    assert purchases.filter(refunded_minor__gt=0).exists()
    assert purchases.filter(source="network", basket_external_id=None).exists()
    assert rollups.filter(purchase_count=1).exists()
    assert rollups.filter(purchase_count__gte=8).exists()
    assert rollups.filter(purchase_count__gte=2, last_purchase_at__lt=now - timedelta(days=90)).exists()
    assert Visit.objects.for_merchant(northwind).exclude(shopper=None).exists()


def test_baskets_fit_the_merchant(small_demo):
    northwind, blue_bean = Merchant.objects.get(slug="northwind"), Merchant.objects.get(slug="blue-bean")
    fashion = {product.category for product in FASHION.products}
    coffee = {product.category for product in COFFEE.products}

    assert set(LineItem.objects.for_merchant(northwind).values_list("category", flat=True)) <= fashion
    served = set(LineItem.objects.for_merchant(blue_bean).values_list("category", flat=True))
    assert "Coffee" in served and served <= coffee
    purchase = Purchase.objects.for_merchant(northwind).filter(source="api").prefetch_related("line_items").first()
    assert purchase.amount_minor == sum(item.quantity * item.unit_price_minor for item in purchase.line_items.all())


def test_profiles_have_contacts_consent_preferences_and_cards_but_no_card_numbers(small_demo):
    northwind = Merchant.objects.get(slug="northwind")
    contacts = ContactPoint.objects.for_merchant(northwind)

    assert contacts.filter(kind="email", is_verified=True).exists()
    assert contacts.filter(kind="phone").exists()
    assert all(
        value.rsplit("@", 1)[1].startswith("example.")
        for value in contacts.filter(kind="email").values_list("value", flat=True)
    )
    assert ConsentEvent.objects.for_merchant(northwind).filter(is_granted=False).exists()
    assert ConsentEvent.objects.for_merchant(northwind).filter(is_granted=True).exclude(wording_version="").exists()
    assert ShopperPreferences.objects.for_merchant(northwind).exclude(sizes=[]).exists()
    cards = list(Card.objects.for_merchant(northwind))
    assert cards
    for card in cards:
        assert card.fingerprint == card_fingerprint(card.token)
        assert len(card.first_six) == 6 and card.first_six.isdigit() and len(card.last_four) == 4
        assert not contains_card_number(card.token)
    assert {card.scheme for card in cards} >= {"visa", "mastercard"}


def test_rollups_match_raw_rows(small_demo):
    with transaction.atomic():
        for merchant in Merchant.objects.all():
            assert rollups_rebuild(merchant=merchant).total == 0


def test_a_second_run_adds_nothing(small_demo):
    before = _counts()

    output = _seed(*SMALL)

    assert _counts() == before
    assert output.count("no history generated") == 3


def test_negative_sizes_are_refused():
    with pytest.raises(CommandError, match="--purchases"):
        _seed("--purchases", "-1")


def _history(merchant):
    return list(
        Purchase.objects.for_merchant(merchant)
        .order_by("id")
        .values_list("occurred_at", "amount_minor", "channel", "store__name", "shopper__first_name")
    )


class Rollback(Exception):
    pass


def test_the_same_seed_and_day_give_the_same_history(merchant):
    StoreFactory(merchant=merchant, name="Central")
    spec = HistorySpec(shoppers=60, purchases=400, catalogue="fashion", seed=7)
    histories = []
    for _attempt in range(2):
        try:
            with transaction.atomic():
                demo_history_load(merchant=merchant, spec=spec, now=NOW)
                histories.append(_history(merchant))
                raise Rollback
        except Rollback:
            pass

    assert histories[0] == histories[1]
    assert len(histories[0]) == 400
    assert max(row[0] for row in histories[0]) < NOW


def _schema():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint
             WHERE conrelid::regclass::text LIKE 'profiles_%%'
            UNION ALL
            SELECT tablename, indexname, indexdef, true FROM pg_indexes WHERE tablename LIKE 'profiles_%%'
             ORDER BY 1, 2, 3
            """
        )
        return cursor.fetchall()


def test_a_bulk_load_rebuilds_every_index_and_constraint_it_set_aside(merchant):
    StoreFactory(merchant=merchant, name="Central", timezone="Europe/London")
    StoreFactory(merchant=merchant, name="Seoul", timezone="Asia/Seoul")
    before = _schema()

    report = demo_history_load(
        merchant=merchant, spec=HistorySpec(shoppers=80, purchases=600, catalogue="department", bulk=True)
    )

    assert _schema() == before
    assert report.rows["profiles_purchase"] == 600
    with transaction.atomic():
        assert rollups_rebuild(merchant=merchant).total == 0


def test_a_merchant_with_shoppers_is_left_alone(merchant, store):
    Shopper.objects.create(merchant=merchant, first_name="Real", joined_via="api")

    assert demo_history_load(merchant=merchant, spec=HistorySpec(shoppers=10, purchases=10, catalogue="coffee")) is None
    assert Shopper.objects.for_merchant(merchant).count() == 1
