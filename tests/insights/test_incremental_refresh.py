"""The snapshot refresh redoes only the sections whose inputs changed, and what it redoes equals a full refresh."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insights import services
from insights.models import InsightSnapshot
from merchants.models import Store
from profiles.models import Purchase, Shopper, Visit
from profiles.services.preference_centre import consent_unsubscribe
from profiles.services.purchases import purchase_refund
from tests.factories import StoreFactory
from tests.insights.insight_data import NOW, history_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(merchant):
    StoreFactory(merchant=merchant, name="Amsterdam", timezone="Europe/Amsterdam", region="North")
    history_load(merchant, shoppers=120, purchases=1200)
    assert services.insights_refresh(merchant=merchant, now=NOW)


def _sections(merchant):
    return {
        row.section: (row.data, row.computed_at)
        for row in InsightSnapshot.objects.for_merchant(merchant).exclude(section="meta")
    }


def _refreshed(merchant):
    return InsightSnapshot.objects.for_merchant(merchant).get(section="meta").data["refreshed"]


def _equals_a_full_refresh(merchant, now):
    incremental = {name: data for name, (data, _at) in _sections(merchant).items()}
    services.insights_refresh(merchant=merchant, now=now, force=True)
    full = {name: data for name, (data, _at) in _sections(merchant).items()}
    return incremental == full


def test_a_quiet_merchant_costs_one_small_query(merchant, history):
    with CaptureQueriesContext(connection) as queries:
        assert services.insights_refresh(merchant=merchant, now=NOW + timedelta(minutes=15)) is False
    statements = " ".join(query["sql"] for query in queries.captured_queries)
    assert "profiles_purchase" not in statements and "CREATE TEMP" not in statements
    assert "profiles_insightsnapshot" in statements  # the one read of the stored inputs
    assert len(queries.captured_queries) <= 3


def test_a_consent_decision_redoes_the_reach_only(merchant, history):
    before = _sections(merchant)
    shopper = Shopper.objects.for_merchant(merchant).filter(status="active").order_by("pk").first()
    consent_unsubscribe(shopper=shopper, channel="email", purpose="marketing")
    later = NOW + timedelta(minutes=15)
    with CaptureQueriesContext(connection) as queries:
        assert services.insights_refresh(merchant=merchant, now=later)
    assert _refreshed(merchant) == ["reach"]
    assert not [query for query in queries.captured_queries if "CREATE TEMP TABLE insight_purchase" in query["sql"]]
    after = _sections(merchant)
    assert after["overview"] == before["overview"]  # untouched, computed_at included
    assert after["reach"][1] == later
    assert _equals_a_full_refresh(merchant, later)


def test_a_visit_redoes_the_heatmap_only(merchant, history):
    shopper = Shopper.objects.for_merchant(merchant).filter(status="active").order_by("pk").first()
    store = Store.objects.for_merchant(merchant).order_by("pk").first()
    Visit.objects.create(merchant=merchant, shopper=shopper, store=store, occurred_at=NOW - timedelta(days=2),
                         source="wifi")  # fmt: skip
    assert services.insights_refresh(merchant=merchant, now=NOW)
    assert _refreshed(merchant) == ["visits"]
    assert _equals_a_full_refresh(merchant, NOW)


def test_purchases_and_refunds_redo_what_reads_purchases_and_equal_a_full_refresh(merchant, history):
    purchase = Purchase.objects.for_merchant(merchant).filter(shopper__isnull=False).order_by("-occurred_at").first()
    purchase_refund(merchant=merchant, purchase_id=purchase.pk)
    assert services.insights_refresh(merchant=merchant, now=NOW)
    refreshed = set(_refreshed(merchant))
    assert {"overview", "lifecycle", "products", "forecast"} <= refreshed
    assert "reach" not in refreshed and "visits" not in refreshed
    assert _equals_a_full_refresh(merchant, NOW)


def test_a_new_day_redoes_every_dated_section(merchant, history):
    assert services.insights_refresh(merchant=merchant, now=NOW + timedelta(days=1))
    assert set(_refreshed(merchant)) == set(services.SECTION_INPUTS) - {"reach"}
