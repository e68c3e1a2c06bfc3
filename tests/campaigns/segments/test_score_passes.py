"""Scores kept, not rebuilt: the incremental pass and the daily sweep against a plain recomputation.

The reference is the rank definition in one plain query (stages as the lifecycle dashboard, quintiles
as NTILE(5) by value then shopper id) over the rollups; the sweep must equal it exactly, and the
incremental pass must equal a rescoring of everyone against the same cut points.
"""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import ShopperPurchaseFact, ShopperScore
from campaigns.models.segments import ShopperScoreRefresh
from campaigns.segments import compiler, scores
from campaigns.segments.selectors import audience_count, scores_sweep_progress
from insights import services as insights
from insights import stages
from profiles.models import Purchase, Shopper, ShopperRollup
from profiles.services.identity import merge_undo, shopper_merge
from profiles.services.purchases import LineItemInput, purchase_refund
from tests.campaigns.segments.population import _buy
from tests.factories import MerchantFactory, StoreFactory
from tests.profiles.factories import ShopperFactory

_ROLLUP_AS_OF = f"""
    SELECT r.shopper_id, first_purchase_at AS first_at, last_purchase_at AS last_at, purchase_count AS frequency,
           total_minor AS monetary, online_total_minor AS online_minor
      FROM {ShopperRollup._meta.db_table} r JOIN {Shopper._meta.db_table} s ON s.id = r.shopper_id
     WHERE r.merchant_id = %(merchant)s AND purchase_count > 0 AND first_purchase_at < %(cutoff)s
       AND s.status = 'active'
"""  # noqa: S608
_REFERENCE_SQL = f"""
    WITH staged AS ({stages.stage_sql(_ROLLUP_AS_OF)})
    SELECT st.shopper_id, st.stage,
           NTILE(5) OVER (ORDER BY r.last_purchase_at, st.shopper_id),
           NTILE(5) OVER (ORDER BY st.frequency, st.shopper_id),
           NTILE(5) OVER (ORDER BY st.monetary, st.shopper_id)
      FROM staged st JOIN {ShopperRollup._meta.db_table} r ON r.shopper_id = st.shopper_id
"""  # noqa: S608


def _reference(merchant, now):
    settings = insights.insight_settings_get(merchant=merchant)
    with connection.cursor() as cursor:
        cursor.execute(_REFERENCE_SQL, {**stages.stage_parameters(settings, now), "merchant": merchant.pk})
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def _stored(merchant):
    return {
        score.shopper_id: (score.lifecycle_stage, score.recency, score.frequency, score.monetary)
        for score in ShopperScore.objects.filter(merchant=merchant)
    }


def _rescored_against_the_same_cuts(merchant, now):
    """Every shopper rescored from scratch against the cut points in place: what the incremental pass must equal."""
    kept = _stored(merchant)
    ShopperScore.objects.filter(merchant=merchant).delete()
    ShopperScoreRefresh.objects.filter(merchant=merchant).update(sweep_next_id=0, sweep_started_at=now)
    scores.scores_refresh(merchant=merchant, resume=True, chunk_size=7)
    rescored = _stored(merchant)
    assert ShopperScoreRefresh.objects.get(merchant=merchant).sweep_started_at is None
    return kept, rescored


@pytest.fixture
def shoppers(db):
    """45 shoppers of one merchant with 0–5 purchases each over a year (seeded), and another merchant's."""
    rng = random.Random(18)
    now = timezone.now()
    merchant = MerchantFactory(name="Generated", slug="generated", currency="EUR")
    store = StoreFactory(merchant=merchant)
    people = [ShopperFactory(merchant=merchant) for _ in range(45)]
    for person in people:
        for _ in range(rng.choice((0, 1, 1, 2, 3, 5))):
            _buy(
                person,
                days=rng.randint(0, 365),
                amount=rng.choice((500, 1000, 2500, 2500, 9900)),
                channel=rng.choice(("in_store", "online")),
                store=store,
                now=now,
            )
    outsider = ShopperFactory(merchant=MerchantFactory(slug="outside", currency="EUR"))
    _buy(outsider, days=3, amount=1000, channel="online", now=now)
    return merchant, people, store, now


def test_a_sweep_is_exactly_the_rank_definition(shoppers):
    merchant, _people, _store, now = shoppers
    refresh = scores.scores_refresh(merchant=merchant, now=now, chunk_size=6)
    expected = _reference(merchant, now)
    assert len(expected) > 20
    assert _stored(merchant) == expected
    assert refresh.scored_shoppers == len(expected)
    assert refresh.sweep_next_id is None
    assert scores_sweep_progress(merchant=merchant) is None


def test_the_incremental_pass_equals_a_rescoring_after_purchases_merges_and_refunds(shoppers):
    merchant, people, store, now = shoppers
    scores.scores_refresh(merchant=merchant, now=now)
    buyers = [person for person in people if ShopperRollup.objects.filter(shopper=person).exists()]
    never_bought = next(person for person in people if person not in buyers)
    # given purchases (one by a shopper who never bought), a merge, and a refund
    _buy(buyers[0], days=0, amount=250_000, store=store, now=now)
    _buy(never_bought, days=40, amount=700, store=store, now=now)
    merge = shopper_merge(merchant=merchant, survivor=buyers[1], merged=buyers[2], actor=None, reason="same person")
    refunded = Purchase.objects.filter(shopper=buyers[3]).order_by("pk").first()
    purchase_refund(merchant=merchant, purchase_id=refunded.pk, amount_minor=refunded.amount_minor // 2)
    later = now + timedelta(minutes=1)
    # when the incremental pass runs
    update = scores.scores_update(merchant=merchant, now=later)
    # then it looked at those shoppers only, and scored them as a rescoring of everyone would
    assert 5 <= update.shoppers < len(people)
    assert never_bought.pk in _stored(merchant)
    assert buyers[2].pk not in _stored(merchant)  # merged away
    assert _stored(merchant)[buyers[0].pk][3] == 5  # the biggest spender now
    kept, rescored = _rescored_against_the_same_cuts(merchant, later)
    assert kept == rescored

    # and undoing the merge is seen by the next pass
    merge_undo(merchant=merchant, merge_event=merge, actor=None)
    scores.scores_update(merchant=merchant, now=later + timedelta(minutes=1))
    assert buyers[2].pk in _stored(merchant)
    kept, rescored = _rescored_against_the_same_cuts(merchant, later + timedelta(minutes=1))
    assert kept == rescored


def test_a_quiet_merchant_s_pass_reads_one_index_and_writes_nothing(shoppers):
    merchant, _people, _store, now = shoppers
    scores.scores_refresh(merchant=merchant, now=now)
    scores.scores_update(merchant=merchant, now=now)  # folds in what the fixture wrote
    before = _stored(merchant)
    with CaptureQueriesContext(connection) as queries:
        update = scores.scores_update(merchant=merchant, now=now + timedelta(minutes=1))
    assert update.skipped and update.shoppers == 0
    assert not [query for query in queries.captured_queries if "campaigns_shopperscore " in query["sql"]]
    assert _stored(merchant) == before


def test_the_daily_sweep_applies_what_time_alone_changes(shoppers):
    merchant, people, store, now = shoppers
    scores.scores_refresh(merchant=merchant, now=now)
    # a full refund takes a shopper out (their rollup goes): the daily sweep removes their score
    single = next(person for person in people if Purchase.objects.filter(shopper=person).count() == 1)
    purchase_refund(merchant=merchant, purchase_id=Purchase.objects.get(shopper=single).pk)
    later = now + timedelta(days=40)
    scores.scores_update(merchant=merchant, now=later)
    before = _stored(merchant)
    scores.scores_refresh(merchant=merchant, now=later)
    after = _stored(merchant)
    assert after == _reference(merchant, later)
    assert single.pk in before and single.pk not in after
    # and its purchase no longer counts in the facts the rules on spend read
    assert {counts for shopper_id, *_, counts in _facts(merchant) if shopper_id == single.pk} == {False}
    # forty days on, stages moved for shoppers who did nothing (new → active, active → at risk, …)
    assert [pk for pk in after if pk in before and after[pk][0] != before[pk][0]]


def test_an_interrupted_sweep_resumes_where_it_stopped(shoppers):
    merchant, _people, _store, now = shoppers
    scores.scores_refresh(merchant=merchant, now=now)
    first_id = Shopper.objects.filter(merchant=merchant).order_by("pk").values_list("pk", flat=True)[20]
    ShopperScore.objects.filter(merchant=merchant).delete()
    ShopperScoreRefresh.objects.filter(merchant=merchant).update(sweep_next_id=first_id, sweep_started_at=now)
    # while the sweep is under way the segment pages show its progress
    assert 0 <= scores_sweep_progress(merchant=merchant) <= 1
    scores.scores_refresh(merchant=merchant, now=now + timedelta(hours=1), resume=True, chunk_size=5)
    stored = _stored(merchant)
    assert stored and min(stored) >= first_id  # only the rest was scored, against the sweep's own moment
    assert stored == {pk: row for pk, row in _reference(merchant, now).items() if pk >= first_id}


def _facts(merchant):
    return sorted(
        ShopperPurchaseFact.objects.filter(merchant=merchant).values_list(
            "shopper_id", "purchase_id", "store_id", "occurred_at", "category", "spent_minor", "counts"
        )
    )


def test_purchase_facts_follow_purchases_refunds_and_merges_and_count_like_the_line_items(shoppers):
    merchant, people, store, now = shoppers
    shoes = {"category": "Shoes", "amount_minor": 5000, "days": 30}
    rules = compiler.rules_check(
        merchant=merchant,
        rules={"match": "all", "conditions": [{"field": "category_spend", "op": "gte", "value": shoes}]},
    )
    # before any sweep the rule reads the line items; nobody bought shoes
    assert audience_count(merchant=merchant, rules=rules, now=now) == 0
    scores.scores_refresh(merchant=merchant, now=now)
    # given two pairs of shoes bought, one refunded in full, and a merge
    line = LineItemInput(name="Boot", unit_price_minor=6000, category="Shoes")
    _buy(people[5], days=1, amount=6000, store=store, lines=[line], now=now)
    _buy(people[6], days=1, amount=6000, store=store, lines=[line], now=now)
    purchase_refund(merchant=merchant, purchase_id=Purchase.objects.filter(shopper=people[6]).latest("pk").pk)
    shopper_merge(merchant=merchant, survivor=people[7], merged=people[5], actor=None, reason="same person")
    # when the incremental pass runs
    scores.scores_update(merchant=merchant, now=now + timedelta(minutes=1))
    # then the facts are what a sweep writes, and the count is the survivor's shoes only
    incremental = _facts(merchant)
    ShopperPurchaseFact.objects.filter(merchant=merchant).delete()
    scores.scores_refresh(merchant=merchant, now=now + timedelta(minutes=1))
    assert incremental == _facts(merchant)
    with CaptureQueriesContext(connection) as queries:
        assert audience_count(merchant=merchant, rules=rules, now=now) == 1
    assert any("campaigns_shopperpurchasefact" in query["sql"] for query in queries.captured_queries)
