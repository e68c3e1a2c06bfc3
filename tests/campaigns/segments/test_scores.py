"""Lifecycle stages and RFM quintiles: the dashboard's definitions, swept in chunks of shoppers."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import ShopperScore
from campaigns.models.segments import ShopperScoreRefresh
from campaigns.segments import scores, tasks
from insights import selectors as insight_selectors
from insights import services as insights
from profiles.models import ConsentEvent, Shopper, ShopperStatus
from tests.campaigns.segments.population import _buy


def _scores(population):
    by_id = {shopper.pk: name for name, shopper in population.shoppers.items()}
    return {
        by_id[score.shopper_id]: (score.lifecycle_stage, score.recency, score.frequency, score.monetary)
        for score in ShopperScore.objects.filter(merchant=population.merchant)
    }


def test_scores_are_the_hand_computed_stages_and_quintiles(population):
    assert _scores(population) == {
        "ann": ("regular", 3, 3, 3),
        "ben": ("new", 2, 1, 1),
        "cat": ("lapsed", 1, 2, 2),
    }
    refresh = ShopperScoreRefresh.objects.get(merchant=population.merchant)
    assert refresh.refreshed_at == population.now
    assert refresh.scored_shoppers == 3


def test_stages_match_the_lifecycle_dashboard(population):
    # given the dashboard's snapshot computed at the same moment
    insights.insights_refresh(merchant=population.merchant, now=population.now, force=True)
    dashboard = {
        row.stage: row.shoppers for row in insight_selectors.lifecycle_get(merchant=population.merchant).stages
    }
    # then every stage holds as many active shoppers in the scores as on the dashboard
    # (eve, erased, still counts there as at risk, and fay, merged, as new: their purchases stay on the books)
    scored = {}
    for stage, *_ in _scores(population).values():
        scored[stage] = scored.get(stage, 0) + 1
    assert {stage: count for stage, count in dashboard.items() if count} == {
        **scored,
        "at_risk": 1,
        "new": scored.get("new", 0) + 1,
    }


def test_thresholds_from_the_insight_settings_apply(population):
    # at_risk after 5 days: ann's last purchase (2 days) keeps her regular, ben (10 days) is still new,
    insights.insight_settings_update(merchant=population.merchant, actor=None, new_days=3, at_risk_days=5)
    scores.scores_refresh(merchant=population.merchant, now=population.now)
    stages = {name: values[0] for name, values in _scores(population).items()}
    assert stages == {"ann": "regular", "ben": "at_risk", "cat": "lapsed"}


def test_a_sweep_runs_in_chunks_of_shoppers_and_is_repeatable(population):
    with CaptureQueriesContext(connection) as queries:
        scores.scores_refresh(merchant=population.merchant, now=population.now, chunk_size=2)
    statements = [
        query["sql"]
        for query in queries.captured_queries
        if "insert into campaigns_shopperscore " in query["sql"].lower()
    ]
    # six shoppers (the erased and the merged included) in chunks of two
    assert len(statements) == 3
    assert _scores(population)["ann"] == ("regular", 3, 3, 3)


def test_a_new_purchase_and_an_erasure_show_after_the_next_refresh(population):
    dan, ben = population.shoppers["dan"], population.shoppers["ben"]
    _buy(dan, days=1, amount=100, channel="online", now=population.now)
    Shopper.all_merchants.filter(pk=ben.pk).update(status=ShopperStatus.ERASED)
    scores.scores_refresh(merchant=population.merchant, now=population.now + timedelta(minutes=1))
    after = _scores(population)
    assert set(after) == {"ann", "cat", "dan"}
    assert after["dan"][0] == "new"


def test_the_task_refreshes_one_merchant_and_the_periodic_one_all(population):
    assert tasks.refresh_shopper_scores(population.merchant.pk) == 3
    assert tasks.refresh_shopper_scores(999_999) is None
    assert tasks.refresh_all_shopper_scores.delay().get() == 2
    assert tasks.update_shopper_scores(999_999) is None
    # a pass re-reads the consent decisions of the last few minutes (they carry the application's clock)
    assert tasks.update_shopper_scores(population.merchant.pk) == 5
    # once those are older, and nothing else changed, the incremental passes look at nobody
    ConsentEvent.objects.filter(merchant__in=[population.merchant, population.other_merchant]).update(
        created_at=population.now - timedelta(hours=1)
    )
    assert tasks.update_shopper_scores(population.merchant.pk) == 0
    assert tasks.update_all_shopper_scores.delay().get() == 0


@pytest.mark.django_db
def test_a_merchant_without_purchases_gets_an_empty_refresh(other_merchant):
    refresh = scores.scores_refresh(merchant=other_merchant)
    assert refresh.scored_shoppers == 0
    assert not ShopperScore.objects.filter(merchant=other_merchant).exists()
