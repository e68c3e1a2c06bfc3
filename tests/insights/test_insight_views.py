"""The insight pages: who opens them, what another merchant sees, how many queries, filters, CSV, thresholds."""

import csv
import io
from datetime import date

import pytest
from django.urls import reverse

from insights import services
from insights.models import InsightSettings, InsightSnapshot
from merchants.models import AuditEvent
from merchants.permissions import PERMISSIONS, Role
from profiles.models import LineItem
from tests.factories import StoreFactory
from tests.insights.insight_data import NOW, history_load

pytestmark = pytest.mark.django_db

PAGES = ["overview", "lifecycle", "channels", "traffic", "reach", "stores", "products"]


@pytest.fixture
def history(merchant):
    StoreFactory(merchant=merchant, name="Amsterdam", timezone="Europe/Amsterdam", region="North")
    StoreFactory(merchant=merchant, name="London", timezone="Europe/London", region="West")
    history_load(merchant, shoppers=120, purchases=1500)
    services.insights_refresh(merchant=merchant, now=NOW)


def _url(page):
    return reverse(f"insights:{page}")


def _csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(_url("overview"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", PAGES)
def test_each_role_opens_the_insight_pages_only_with_insights_view(role, page, user_for_role, client_for):
    response = client_for(user_for_role(role)).get(_url(page))

    assert response.status_code == (200 if role in PERMISSIONS["insights.view"][0] else 403)


def test_navigation_links_to_insights(owner_client):
    page = owner_client.get(reverse("dashboard")).content.decode()

    assert f'href="{_url("overview")}"' in page


@pytest.mark.parametrize("page", PAGES)
def test_a_new_merchant_sees_an_empty_state_not_an_error(owner_client, page):
    response = owner_client.get(_url(page))

    assert response.status_code == 200
    assert "empty-state" in response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_query_count_per_page_is_bounded(owner_client, history, page, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = owner_client.get(_url(page))

    assert response.status_code == 200
    assert "empty-state" not in response.content.decode()


def test_the_overview_shows_the_figures_with_their_change_and_the_freshness(owner_client, history, merchant):
    page = owner_client.get(_url("overview"), {"period": "28d"}).content.decode()

    for label in ("Revenue", "Purchases", "Shoppers", "Average basket", "New shoppers", "Identified share", "In store"):
        assert f"<header>{label}</header>" in page
    assert "vs previous" in page
    assert '<svg class="sparkline"' in page
    assert "computed" in page and "ago" in page


def test_the_overview_table_lists_each_day_with_its_purchases_and_revenue_as_the_csv_does(owner_client, history):
    # given the year's figures as the CSV gives them
    rows = _csv_rows(owner_client.get(_url("overview"), {"period": "365d", "format": "csv"}))[1:]
    busiest = max(rows, key=lambda row: int(row[1]))
    page = owner_client.get(_url("overview"), {"period": "365d"}).content.decode()
    # then the page's table has a row per day, the busiest one with its day, count and amount
    day = date.fromisoformat(busiest[0])
    assert page.count("<tr><td>") == len(rows) == 365
    assert f"<tr><td>{day:%a} {day.day} {day:%b}</td><td>{busiest[1]}</td><td>€" in page


def test_a_filter_change_through_htmx_returns_only_the_fragment(owner_client, history, merchant):
    store = merchant.stores.get(name="London")

    response = owner_client.get(_url("overview"), {"period": "7d", "scope": f"s{store.pk}"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert "<h2>Last 7 days · London</h2>" in page
    assert "<html" not in page


@pytest.mark.parametrize("page", PAGES)
def test_another_merchant_sees_none_of_these_figures(page, history, merchant, outsider_client, other_merchant):
    store = merchant.stores.get(name="London")

    response = outsider_client.get(_url(page), {"scope": f"s{store.pk}"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "London" not in content
    assert "empty-state" in content
    assert not InsightSnapshot.objects.for_merchant(other_merchant).exists()


def test_another_merchants_audience_download_holds_only_its_own_shoppers(history, outsider_client, owner_client):
    own = _csv_rows(owner_client.get(reverse("insights:store_only_regulars_csv")))
    theirs = _csv_rows(outsider_client.get(reverse("insights:store_only_regulars_csv")))

    assert len(own) > 1
    assert theirs == [own[0]]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_offers_its_table_as_csv(owner_client, history, page):
    response = owner_client.get(_url(page), {"format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    assert len(rows) > 1


def test_store_only_regulars_download_needs_shoppers_manage(user_for_role, client_for, history):
    analyst = client_for(user_for_role(Role.ANALYST))

    assert analyst.get(reverse("insights:store_only_regulars_csv")).status_code == 403
    assert "Download the audience" not in analyst.get(_url("channels")).content.decode()


def test_a_manager_changes_the_thresholds_and_it_is_audited(client_for, manager, merchant):
    form = {
        "new_days": 14,
        "at_risk_days": 60,
        "lapsed_days": 120,
        "regular_min_purchases": 5,
        "top_spender_percent": 5,
        "purchases_per_staff_hour": 20,
    }

    response = client_for(manager).post(reverse("insights:lifecycle_settings"), form)

    assert response.status_code == 302
    settings = InsightSettings.objects.get(merchant=merchant)
    assert (settings.new_days, settings.at_risk_days, settings.top_spender_percent) == (14, 60, 5)
    event = AuditEvent.objects.get(merchant=merchant, action="insights.settings_changed")
    assert event.detail["changes"]["new_days"] == 14


def test_thresholds_out_of_order_are_refused_with_a_message(owner_client, merchant):
    form = {
        "new_days": 100,
        "at_risk_days": 60,
        "lapsed_days": 120,
        "regular_min_purchases": 5,
        "top_spender_percent": 5,
        "purchases_per_staff_hour": 20,
    }

    response = owner_client.post(reverse("insights:lifecycle_settings"), form)

    assert response.status_code == 400
    assert "Keep the days in order" in response.content.decode()
    assert not InsightSettings.objects.filter(merchant=merchant).exists()


def test_an_analyst_sees_the_thresholds_but_cannot_change_them(user_for_role, client_for, merchant):
    analyst = client_for(user_for_role(Role.ANALYST))

    page = analyst.get(_url("lifecycle")).content.decode()
    response = analyst.post(reverse("insights:lifecycle_settings"), {"new_days": 10})

    assert "first purchase in the last 30 days" in page
    assert "Save thresholds" not in page
    assert response.status_code == 403
    assert not InsightSettings.objects.filter(merchant=merchant).exists()


def test_the_profile_page_shows_the_stage_and_suggested_categories(owner_client, history, merchant):
    from profiles.models import ShopperRollup

    rollup = ShopperRollup.objects.for_merchant(merchant).order_by("-total_minor").select_related("shopper").first()

    panel_url = reverse("insights:shopper_panel", args=[rollup.shopper.public_id])
    profile = owner_client.get(reverse("profiles:shopper_detail", args=[rollup.shopper.public_id])).content.decode()
    assert f'hx-get="{panel_url}"' in profile  # the profile page loads the insight panel
    page = owner_client.get(panel_url).content.decode()

    bought = set(
        LineItem.objects.for_merchant(merchant)
        .filter(purchase__shopper=rollup.shopper)
        .exclude(category="")
        .values_list("category", flat=True)
    )
    assert "Lifecycle stage:" in page
    suggested = page.split("Might also like:")[1].split("</p>")[0]
    assert "<strong>" in suggested
    assert not any(f"<strong>{category}</strong>" in suggested for category in bought)


def test_the_insight_panel_of_another_merchants_shopper_is_not_found(owner_client, history, merchant):
    from tests.profiles.factories import ShopperFactory

    outsider = ShopperFactory()  # another merchant's

    response = owner_client.get(reverse("insights:shopper_panel", args=[outsider.public_id]))

    assert response.status_code == 404


def test_the_audience_download_defuses_spreadsheet_formulas_in_names(owner_client, history, merchant):
    from profiles.models import Shopper, ShopperRollup

    rollup = ShopperRollup.objects.for_merchant(merchant).filter(online_count=0, in_store_count__gte=4).first()
    Shopper.all_merchants.filter(pk=rollup.shopper_id).update(
        first_name='=HYPERLINK("http://evil.example")', last_name=""
    )

    rows = _csv_rows(owner_client.get(reverse("insights:store_only_regulars_csv")))

    names = [row[1] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example")' in names
    assert not any(name.startswith("=") for name in names)
