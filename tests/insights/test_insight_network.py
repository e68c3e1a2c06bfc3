"""The mall network view: aggregates of shoppers who share with the mall, never a cell of fewer than ten."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from insights import selectors, services
from insights.models import InsightSnapshot
from merchants.permissions import Role
from profiles.models import ConsentEvent, LineItem
from tests.factories import MembershipFactory, MerchantFactory, NetworkFactory
from tests.profiles.factories import CardFactory, PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mall(merchant):
    network = NetworkFactory(name="Riverside Mall", slug="riverside")
    cafe = MerchantFactory(name="Blue Bean", slug="blue-bean")
    network.merchants.add(merchant, cafe)
    return network, cafe


def _sharing(shopper, granted=True, at=None):
    ConsentEvent.objects.create(
        merchant=shopper.merchant,
        shopper=shopper,
        channel="email",
        purpose="network_sharing",
        is_granted=granted,
        occurred_at=at or timezone.now() - timedelta(days=30),
        source="kiosk",
    )


def _buyers(merchant, count, category, *, amount=1000, share=True, cards=None):
    shoppers = []
    for index in range(count):
        shopper = ShopperFactory(merchant=merchant)
        if share:
            _sharing(shopper)
        purchase = PurchaseFactory(
            merchant=merchant, shopper=shopper, amount_minor=amount, occurred_at=timezone.now() - timedelta(days=3)
        )
        LineItem.objects.create(
            merchant=merchant, purchase=purchase, name=category, category=category, unit_price_minor=amount
        )
        if cards is not None:
            CardFactory(merchant=merchant, shopper=shopper, token=cards[index])
        shoppers.append(shopper)
    return shoppers


def _view(merchant):
    services.insights_refresh(merchant=merchant, force=True)
    views, _computed_at = selectors.network_views_get(merchant=merchant)
    return views[0]


def _cell(cells, merchant, category):
    return next(cell for cell in cells if cell.merchant == merchant and cell.category == category)


def test_a_cell_of_nine_shoppers_is_hidden_and_one_of_ten_is_shown(merchant, mall):
    _network, cafe = mall
    _buyers(cafe, 9, "Bakery")
    _buyers(cafe, 10, "Coffee")

    view = _view(merchant)

    bakery, coffee = _cell(view.categories, "Blue Bean", "Bakery"), _cell(view.categories, "Blue Bean", "Coffee")
    assert bakery.is_hidden and bakery.shoppers is None and bakery.total_minor is None
    assert (coffee.shoppers, coffee.total_minor) == (10, 10_000)
    # Not even the stored snapshot keeps the small cell's figures.
    stored = InsightSnapshot.objects.get(merchant=merchant, section="network").data["networks"][0]["categories"]
    assert {
        "merchant": "Blue Bean",
        "currency": "EUR",
        "category": "Bakery",
        "shoppers": None,
        "total_minor": None,
    } in stored


def test_only_shoppers_whose_latest_decision_shares_are_counted(merchant, mall):
    _network, cafe = mall
    sharing = _buyers(cafe, 10, "Coffee")
    _buyers(cafe, 5, "Coffee", share=False)
    _sharing(sharing[0], granted=False, at=timezone.now() - timedelta(days=1))

    view = _view(merchant)

    assert _cell(view.categories, "Blue Bean", "Coffee").is_hidden  # 9 left: below the line


def test_where_the_merchants_shoppers_also_buy_is_matched_by_card(merchant, mall):
    _network, cafe = mall
    tokens = [f"tok_shared_{index}" for index in range(12)]
    _buyers(merchant, 12, "Tops", cards=tokens)
    _buyers(cafe, 12, "Coffee", amount=350, cards=tokens)
    _buyers(cafe, 9, "Bakery", cards=[f"tok_only_cafe_{index}" for index in range(9)])

    view = _view(merchant)

    assert [(cell.merchant, cell.category, cell.shoppers, cell.total_minor) for cell in view.elsewhere] == [
        ("Blue Bean", "Coffee", 12, 12 * 350)
    ]


def test_the_page_never_prints_a_hidden_cells_figures(owner_client, merchant, mall):
    _network, cafe = mall
    _buyers(cafe, 9, "Bakery", amount=4321)

    services.insights_refresh(merchant=merchant)

    page = owner_client.get(reverse("insights:network")).content.decode()

    assert "fewer than 10" in page
    assert "43.21" not in page and "388.89" not in page


def test_a_merchant_outside_any_mall_sees_an_explanation(outsider_client, merchant, mall):
    _network, cafe = mall
    _buyers(cafe, 10, "Coffee")
    services.insights_refresh(merchant=merchant)

    page = outsider_client.get(reverse("insights:network")).content.decode()

    assert "Not part of a mall network." in page
    assert "Blue Bean" not in page


def test_the_network_page_needs_insights_view(client_for, merchant, mall):
    staff = MembershipFactory(merchant=merchant, role=Role.STORE_STAFF).user

    assert client_for(staff).get(reverse("insights:network")).status_code == 403


def test_network_page_query_count_is_bounded(owner_client, merchant, mall, django_assert_max_num_queries):
    _network, cafe = mall
    _buyers(cafe, 10, "Coffee")
    services.insights_refresh(merchant=merchant)

    with django_assert_max_num_queries(10):
        response = owner_client.get(reverse("insights:network"))

    assert response.status_code == 200
