"""Figures a merchant compares across pages: one rule for online orders collected in a store, category revenue
net of refunds, and pages that say what their figures cover."""

import itertools
from datetime import timedelta

import pytest
from django.urls import reverse

from insights import selectors, services
from insights.models import InsightSnapshot
from insights.periods import ONLINE
from profiles.services import purchases
from profiles.services.purchases.inputs import LineItemInput
from tests.factories import StoreFactory
from tests.insights.insight_data import NOW, history_load

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def _record(merchant, *, amount, channel, store=None, at=NOW - timedelta(days=2), lines=()):
    return purchases.purchase_record(
        merchant=merchant,
        data=purchases.PurchaseInput(
            external_id=f"rule-{next(_numbers)}",
            amount_minor=amount,
            currency="EUR",
            occurred_at=at,
            channel=channel,
            store=store,
            line_items=tuple(lines),
        ),
    ).purchase


@pytest.fixture
def mixed_channels(merchant, store):
    """A store purchase, an online order collected at the store, an online order delivered."""
    _record(merchant, amount=10_000, channel="in_store", store=store, at=NOW - timedelta(days=2, hours=3))
    _record(merchant, amount=4_000, channel="online", store=store, at=NOW - timedelta(days=2, hours=1))
    _record(merchant, amount=1_000, channel="online", at=NOW - timedelta(days=3))
    assert services.insights_refresh(merchant=merchant, now=NOW)


def _figure(overview, label):
    return next(figure for figure in overview.figures if figure.label == label)


def test_an_order_collected_in_a_store_is_online_revenue_on_every_page(merchant, store, mixed_channels):
    everything = selectors.overview_get(merchant=merchant, period_key="7d", scope=selectors.Scope(), now=NOW)
    online = selectors.overview_get(
        merchant=merchant, period_key="7d", scope=selectors.scope_for(merchant=merchant, value=ONLINE), now=NOW
    )
    in_store = selectors.overview_get(
        merchant=merchant, period_key="7d", scope=selectors.scope_for(merchant=merchant, value=f"s{store.pk}"), now=NOW
    )
    channels = {row["key"]: row for row in selectors.channels_get(merchant=merchant).classes}

    assert _figure(everything, "Revenue").current == 15_000
    assert _figure(everything, "In store").current == pytest.approx(10_000 / 15_000)
    assert (_figure(online, "Revenue").current, _figure(online, "Purchases").current) == (5_000, 2)
    assert (_figure(in_store, "Revenue").current, _figure(in_store, "Purchases").current) == (10_000, 1)
    # the channels page, which goes by channel, agrees: no identified shoppers here, so nothing to classify
    assert sum(row["shoppers"] for row in channels.values()) == 0

    stores = {row.label: row for row in selectors.stores_get(merchant=merchant, period_key="7d", now=NOW).stores}
    assert (stores[store.name].total_minor, stores[store.name].purchases) == (10_000, 1)
    assert (stores["Online"].total_minor, stores["Online"].purchases) == (5_000, 2)


def test_an_order_collected_in_a_store_is_no_shop_floor_traffic(merchant, store, mixed_channels):
    for value in ("", f"s{store.pk}"):
        traffic = selectors.traffic_get(
            merchant=merchant, period_key="7d", scope=selectors.scope_for(merchant=merchant, value=value), now=NOW
        )

        assert sum(map(sum, traffic.purchases)) == 1


def test_history_for_the_forecast_counts_store_purchases_only(merchant, store, mixed_channels):
    end = NOW.date() - timedelta(days=1)
    pickups = selectors.pickups_of(selectors.snapshot_get(merchant=merchant, sections=("pickups",)))
    raw = [
        [pickup.store_id, pickup.region, pickup.store_day.isoformat(), pickup.hour, "", pickup.purchases, 0]
        for pickup in pickups
    ]

    history = services.hourly_history(merchant=merchant, store=store, end=end, weeks=1, pickups=raw)

    assert sum(history) == 1


def test_category_revenue_leaves_out_the_refunded_part_of_a_basket(merchant, store):
    basket = _record(
        merchant,
        amount=10_000,
        channel="in_store",
        store=store,
        lines=[
            LineItemInput(name="Boots", unit_price_minor=6_000, category="Shoes"),
            LineItemInput(name="Wool socks", unit_price_minor=2_000, quantity=2, category="Socks"),
        ],
    )
    _record(
        merchant,
        amount=3_000,
        channel="in_store",
        store=store,
        lines=[LineItemInput(name="Trainers", unit_price_minor=3_000, category="Shoes")],
    )
    purchases.purchase_refund(merchant=merchant, purchase_id=basket.pk, amount_minor=5_000)
    services.insights_refresh(merchant=merchant, now=NOW)

    categories = {row["category"]: row["total_minor"] for row in selectors.products_get(merchant=merchant).categories}

    # half of the first basket was refunded: each of its lines keeps half its value
    assert categories == {"Shoes": 3_000 + 3_000, "Socks": 2_000}
    assert sum(categories.values()) == 8_000  # the revenue the overview shows for these two baskets


@pytest.fixture
def history(merchant):
    StoreFactory(merchant=merchant, name="Amsterdam", timezone="Europe/Amsterdam", region="North")
    history_load(merchant, shoppers=120, purchases=1500)
    services.insights_refresh(merchant=merchant, now=NOW)


def test_the_pages_say_what_their_figures_cover(merchant, history, owner_client):
    products = owner_client.get(reverse("insights:products")).content.decode()
    traffic = owner_client.get(reverse("insights:traffic")).content.decode()

    assert "Over every basket" not in products
    assert "Over the baskets of the last 90 days" in products
    assert "previous week" not in traffic
    assert "seasonal-naive</strong> (repeating the last week before them)" in traffic
    assert "hours without any have no percentage error and are left out" in traffic


def test_the_traffic_page_says_plainly_whether_the_forecast_beats_seasonal_naive(merchant, history, owner_client):
    # given the generated history, on which the forecast beats repeating the last week
    traffic = selectors.traffic_get(merchant=merchant, period_key="28d", scope=selectors.Scope(), now=NOW)
    assert traffic.beats_naive
    assert traffic.wape < traffic.naive_wape and traffic.mase < traffic.naive_mase
    page = owner_client.get(reverse("insights:traffic")).content.decode()
    assert "the forecast beat seasonal-naive" in page
    assert f"<td>{traffic.mase:.2f}</td><td>{traffic.naive_mase:.2f}</td>" in page

    # when the last weeks turn out to follow last week better than the forecast does
    snapshot = InsightSnapshot.objects.for_merchant(merchant).get(section="forecast")
    figures = snapshot.data["scopes"]["all"]
    figures.update(wape=0.31, naive_wape=0.22, mase=1.1, naive_mase=0.8, beats_naive=False)
    snapshot.save(update_fields=["data"])

    # then the page says so in words
    page = owner_client.get(reverse("insights:traffic")).content.decode()
    assert "the forecast did not beat seasonal-naive" in page
    assert "last week's figures hour by hour are as good a guide" in page
