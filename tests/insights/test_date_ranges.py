"""Any from–to range on the insight pages, and the products page's period filter."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from insights import services
from insights.models import InsightSnapshot
from tests.factories import StoreFactory
from tests.insights.insight_data import NOW, history_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(merchant):
    StoreFactory(merchant=merchant, name="Amsterdam", timezone="Europe/Amsterdam", region="North")
    history_load(merchant, shoppers=60, purchases=700)
    services.insights_refresh(merchant=merchant, now=NOW)


def _figures(page: str) -> dict[str, str]:
    return dict(re.findall(r'<header>([^<]+)</header>\s*<span class="figure">([^<]+)</span>', page))


def test_a_custom_range_gives_exact_money_and_purchases_and_says_what_it_leaves_out(owner_client, history):
    # given the last 28 days, as the preset shows them
    preset = owner_client.get(reverse("insights:overview"), {"period": "28d"}).content.decode()
    first, last = re.search(r"(\d+ \w+ \d{4}) – (\d+ \w+ \d{4}), compared", preset).groups()
    end = NOW.date() - timedelta(days=1)
    start = end - timedelta(days=27)
    assert (first, last) == (f"{start.day} {start:%b %Y}", f"{end.day} {end:%b %Y}")

    # when the same days are asked for as a from–to range
    custom = owner_client.get(
        reverse("insights:overview"), {"period": "custom", "date_from": start.isoformat(), "date_to": end.isoformat()}
    ).content.decode()

    # then revenue and purchases are the same figures, exactly; shopper counts are not guessed, and the page says so
    assert _figures(custom)["Revenue"] == _figures(preset)["Revenue"]
    assert _figures(custom)["Purchases"] == _figures(preset)["Purchases"]
    assert _figures(preset)["Shoppers"] != "—" and _figures(custom)["Shoppers"] == "—"
    assert "computed for the preset periods only" in custom
    assert f"<h2>{start.day} {start:%b %Y} – {end.day} {end:%b %Y} · All stores and online</h2>" in custom


def test_a_range_ending_before_it_starts_is_a_friendly_error(owner_client, history):
    response = owner_client.get(
        reverse("insights:stores"), {"period": "custom", "date_from": "2026-11-10", "date_to": "2026-11-01"}
    )

    assert response.status_code == 200
    assert "The last day comes after the first." in response.content.decode()


def test_the_products_page_filters_by_period(owner_client, history):
    # the last 7 days hold fewer items than the last 90
    week = owner_client.get(reverse("insights:products"), {"period": "7d"}).content.decode()
    quarter = owner_client.get(reverse("insights:products"), {"period": "90d"}).content.decode()
    end = NOW.date() - timedelta(days=1)
    assert f"Categories, {(end - timedelta(days=6)).isoformat()} – {end.isoformat()}" in week
    assert f"Categories, {(end - timedelta(days=89)).isoformat()} – {end.isoformat()}" in quarter
    assert 'name="period"' in week

    def items(page: str) -> int:
        table = page.split("<h2>Categories")[1].split("</table>")[0]
        return sum(
            int(count.replace(",", "")) for count in re.findall(r"</td><td>([\d,]+)</td><td>[\d,]+</td></tr>", table)
        )

    assert 0 < items(week) < items(quarter)

    # a longer period than products are counted over says so
    year = owner_client.get(reverse("insights:products"), {"period": "365d"}).content.decode()
    assert "Products are counted over the last 90 days at most" in year


def test_a_snapshot_from_before_the_periods_were_counted_asks_for_a_refresh(owner_client, merchant, history):
    snapshot = InsightSnapshot.objects.for_merchant(merchant).get(section="products")
    del snapshot.data["periods"]
    snapshot.save(update_fields=["data"])

    page = owner_client.get(reverse("insights:products"), {"period": "7d"}).content.decode()

    assert "the period you chose is counted at the next refresh" in page
