"""Every rule field against audiences worked out by hand from the population (see population.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Segment
from campaigns.segments import compiler, scores
from campaigns.segments.selectors import audience_count, rules_audience, shopper_in_audience
from core.errors import ApplicationError
from profiles.models import ConsentEvent


def _rules(*conditions, match="all"):
    return {"match": match, "conditions": [{"field": f, "op": o, "value": v} for f, o, v in conditions]}


def _audience(population, *conditions, match="all"):
    rules = compiler.rules_check(merchant=population.merchant, rules=_rules(*conditions, match=match))
    return population.names(rules_audience(merchant=population.merchant, rules=rules, now=population.now))


SHOES_30 = {"category": "Shoes", "amount_minor": 10000, "days": 30}
SHOES_EVER = {"category": "Shoes", "amount_minor": 1, "days": None}

CASES = [
    # lifecycle stage (ShopperScore, the dashboard's definitions)
    (("lifecycle_stage", "in", ["regular"]), {"ann"}),
    (("lifecycle_stage", "in", ["new", "lapsed"]), {"ben", "cat"}),
    (("lifecycle_stage", "in", ["none"]), {"dan"}),
    (("lifecycle_stage", "not_in", ["none"]), {"ann", "ben", "cat"}),
    (("lifecycle_stage", "in", ["top", "at_risk"]), set()),
    # RFM quintiles over ann, ben, cat
    (("rfm_recency", "gte", 3), {"ann"}),
    (("rfm_recency", "eq", 1), {"cat"}),
    (("rfm_recency", "lte", 2), {"ben", "cat"}),
    (("rfm_frequency", "eq", 1), {"ben"}),
    (("rfm_monetary", "gte", 2), {"ann", "cat"}),
    # channel behaviour (rollup)
    (("channel_behaviour", "in", ["store_only"]), {"ann"}),
    (("channel_behaviour", "in", ["online_only"]), {"ben"}),
    (("channel_behaviour", "in", ["omnichannel"]), {"cat"}),
    (("channel_behaviour", "in", ["none", "online_only"]), {"ben", "dan"}),
    (("channel_behaviour", "not_in", ["store_only"]), {"ben", "cat", "dan"}),
    # purchase count, spend, days since the last purchase (rollup)
    (("purchase_count", "gte", 2), {"ann", "cat"}),
    (("purchase_count", "eq", 1), {"ben"}),
    (("total_spend", "gte", 9000), {"ann", "cat"}),
    (("total_spend", "lte", 9000), {"ben", "cat"}),
    (("days_since_last_purchase", "gte", 10), {"ben", "cat"}),
    (("days_since_last_purchase", "lte", 9), {"ann"}),
    (("days_since_last_purchase", "eq", 200), {"cat"}),
    # spend in a category (line items)
    (("category_spend", "gte", SHOES_30), {"ann"}),
    (("category_spend", "lt", SHOES_30), {"ben", "cat", "dan"}),
    (("category_spend", "gte", SHOES_EVER), {"ann", "cat"}),
    (("category_spend", "gte", {"category": "Shoes", "amount_minor": 12001, "days": None}), set()),
    (("category_spend", "gte", {"category": "Shirts", "amount_minor": 3000, "days": 30}), {"ben"}),
    # preferences
    (("preference", "includes", {"kind": "brands", "value": "Harbour Denim"}), {"ann"}),
    (("preference", "excludes", {"kind": "brands", "value": "Harbour Denim"}), {"ben", "cat", "dan"}),
    (("preference", "includes", {"kind": "sizes", "value": "Harbour Denim"}), set()),
    # loyalty
    (("points_balance", "gte", 200), {"ann"}),
    (("points_balance", "lte", 100), {"ben", "dan"}),
    # profile
    (("birthday_month", "in", ["3"]), {"ann", "cat"}),
    (("birthday_month", "not_in", ["3"]), {"ben", "dan"}),
    (("birthday_month", "in", ["7", "12"]), {"ben"}),
    (("language", "in", ["en"]), {"ann", "dan"}),
    (("language", "in", ["ko", "ar"]), {"ben", "cat"}),
    (("language", "not_in", ["en"]), {"ben", "cat"}),
    # consent: the latest marketing decision on the channel
    (("consented_channel", "granted", "email"), {"ann", "cat"}),
    (("consented_channel", "not_granted", "email"), {"ben", "dan"}),
    (("consented_channel", "granted", "sms"), {"ben"}),
]


@pytest.mark.parametrize(
    ("condition", "expected"), CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, (c, _e) in enumerate(CASES)]
)
def test_each_field_selects_the_hand_computed_audience(population, condition, expected):
    assert _audience(population, condition) == expected


@pytest.mark.parametrize(("condition", "expected"), CASES[::3])
def test_asking_about_one_shopper_agrees_with_the_audience(population, condition, expected):
    rules = compiler.rules_check(merchant=population.merchant, rules=_rules(condition))
    segment = Segment(merchant=population.merchant, rules=rules)
    for name, shopper in population.shoppers.items():
        is_in = shopper_in_audience(merchant=population.merchant, shopper_id=shopper.pk, segment=segment)
        assert is_in is (name in expected), name


def test_store_visited_counts_purchases_and_visits_at_the_store(population):
    main, harbour = str(population.market.pk), str(population.harbour.pk)
    assert _audience(population, ("store_visited", "visited", {"store": main, "days": None})) == {"ann"}
    assert _audience(population, ("store_visited", "visited", {"store": harbour, "days": None})) == {"cat", "dan"}
    assert _audience(population, ("store_visited", "visited", {"store": harbour, "days": 30})) == {"dan"}
    assert _audience(population, ("store_visited", "not_visited", {"store": harbour, "days": None})) == {"ann", "ben"}


def test_visit_count_counts_recorded_visits_in_the_window(population):
    assert _audience(population, ("visit_count", "gte", {"count": 2, "days": 30})) == {"ann"}
    assert _audience(population, ("visit_count", "gte", {"count": 3, "days": 20})) == set()
    assert _audience(population, ("visit_count", "gte", {"count": 1, "days": None})) == {"ann", "dan"}
    assert _audience(population, ("visit_count", "lte", {"count": 0, "days": None})) == {"ben", "cat"}
    assert _audience(population, ("visit_count", "lte", {"count": 1, "days": 30})) == {"ben", "cat", "dan"}


def test_tier_by_name_and_members_without_one(population):
    gold, silver = str(population.gold.pk), str(population.silver.pk)
    assert _audience(population, ("tier", "in", [gold])) == {"ann"}
    assert _audience(population, ("tier", "in", [gold, silver])) == {"ann", "ben"}
    assert _audience(population, ("tier", "in", ["none"])) == {"cat", "dan"}
    assert _audience(population, ("tier", "not_in", [gold])) == {"ben", "cat", "dan"}


def test_all_requires_every_condition_and_any_one_of_them(population):
    english, store_only = ("language", "in", ["en"]), ("channel_behaviour", "in", ["store_only"])
    assert _audience(population, english, store_only) == {"ann"}
    assert _audience(population, english, store_only, match="any") == {"ann", "dan"}
    lapsed, korean = ("lifecycle_stage", "in", ["lapsed"]), ("language", "in", ["ko"])
    assert _audience(population, lapsed, korean, match="any") == {"ben", "cat"}
    assert _audience(population, lapsed, korean) == set()


def test_no_conditions_is_every_active_shopper_of_the_merchant(population):
    assert _audience(population) == {"ann", "ben", "cat", "dan"}
    assert _audience(population, match="any") == {"ann", "ben", "cat", "dan"}


def test_inactive_shoppers_and_other_merchants_never_match(population):
    # eve (erased), fay (merged) and Elsewhere's oz hold Shoes, Gold, March birthdays, consents, visits…
    conditions = [
        ("language", "in", ["en"]),
        ("birthday_month", "in", ["3"]),
        ("category_spend", "gte", SHOES_EVER),
        ("consented_channel", "granted", "sms"),
        ("points_balance", "gte", 900),
        ("store_visited", "visited", {"store": str(population.market.pk), "days": None}),
    ]
    reached = _audience(population, *conditions, match="any")
    assert reached <= {"ann", "ben", "cat", "dan"}
    assert _audience(population, ("points_balance", "gte", 900)) == set()


def test_a_segment_counts_in_one_query_however_many_conditions(population):
    rules = compiler.rules_check(
        merchant=population.merchant,
        rules=_rules(
            ("lifecycle_stage", "in", ["regular", "new"]),
            ("category_spend", "gte", SHOES_EVER),
            ("consented_channel", "granted", "email"),
            ("visit_count", "gte", {"count": 2, "days": 90}),
            ("tier", "in", [str(population.gold.pk)]),
            match="any",
        ),
    )
    with CaptureQueriesContext(connection) as queries:
        count = audience_count(merchant=population.merchant, rules=rules, now=population.now)
    assert count == 3  # ann, ben (new), cat (Shoes, email); dan has one visit only
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    # one query over the shoppers, besides the statement's settings (SET LOCAL), its savepoint, and the
    # one-row look-up of whether the merchant's purchase facts are written (category spend reads them)
    assert len([sql for sql in reads if "profiles_shopper" in sql]) == 1
    assert len(reads) == 2 and "campaigns_shopperscorerefresh" in reads[0]


# Validation


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "shoe_size", "op": "in", "value": ["42"]}, "Unknown field"),
        ({"field": "language", "op": "gte", "value": ["en"]}, "does not apply"),
        ({"field": "language", "op": "in", "value": []}, "Choose at least one"),
        ({"field": "language", "op": "in", "value": ["xx"]}, "Not a language"),
        ({"field": "rfm_recency", "op": "gte", "value": 6}, "at most 5"),
        ({"field": "rfm_recency", "op": "gte", "value": "high"}, "whole number"),
        ({"field": "points_balance", "op": "gte", "value": True}, "whole number"),
        ({"field": "category_spend", "op": "gte", "value": {"category": "", "amount_minor": 1}}, "category"),
        ({"field": "category_spend", "op": "gte", "value": {"category": "Shoes", "amount_minor": 0}}, "at least 1"),
        ({"field": "category_spend", "op": "gte", "value": "Shoes"}, "malformed"),
        ({"field": "visit_count", "op": "gte", "value": {"count": 1, "days": 0}}, "days"),
        ({"field": "preference", "op": "includes", "value": {"kind": "shoe", "value": "x"}}, "kind of preference"),
        ({"field": "consented_channel", "op": "granted", "value": "pigeon"}, "email or SMS"),
        ({"field": "language", "op": "in", "value": ["en"], "extra": 1}, "“field”, “op” and “value”"),
    ],
)
def test_bad_conditions_are_refused_with_the_condition_named(population, condition, message):
    rules = {"match": "all", "conditions": [{"field": "language", "op": "in", "value": ["en"]}, condition]}
    with pytest.raises(ApplicationError) as raised:
        compiler.rules_check(merchant=population.merchant, rules=rules)
    assert list(raised.value.fields) == ["conditions.1"]
    assert message in raised.value.fields["conditions.1"][0]


def test_another_merchants_store_or_tier_is_refused(population):
    other_store = {"store": str(population.other_store.pk), "days": None}
    rules = _rules(("store_visited", "visited", other_store), ("tier", "in", ["999999"]))
    with pytest.raises(ApplicationError) as raised:
        compiler.rules_check(merchant=population.merchant, rules=rules)
    assert set(raised.value.fields) == {"conditions.0", "conditions.1"}


def test_match_must_be_all_or_any(population):
    with pytest.raises(ApplicationError) as raised:
        compiler.rules_check(merchant=population.merchant, rules={"match": "most", "conditions": []})
    assert "match" in raised.value.fields


def test_rules_are_normalised(population):
    checked = compiler.rules_check(
        merchant=population.merchant,
        rules={"conditions": [{"field": "birthday_month", "op": "in", "value": ["12", 3, "3"]},
                              {"field": "points_balance", "op": "gte", "value": "250"}]},
    )  # fmt: skip
    assert checked == {
        "match": "all",
        "conditions": [
            {"field": "birthday_month", "op": "in", "value": ["3", "12"]},
            {"field": "points_balance", "op": "gte", "value": 250},
        ],
    }


def test_current_consent_is_the_latest_decision_ties_broken_by_id(population):
    # given a withdrawal and a grant recorded at the same moment, the one written last holds
    dan = population.shoppers["dan"]
    moment = population.now
    for granted in (False, True):
        ConsentEvent.objects.create(
            merchant=population.merchant,
            shopper=dan,
            channel="sms",
            purpose="marketing",
            is_granted=granted,
            occurred_at=moment,
            source="staff",
        )
    # (counts read the current consent the score passes keep: it shows after the next pass, within a minute)
    scores.scores_update(merchant=population.merchant)
    assert _audience(population, ("consented_channel", "granted", "sms")) == {"ben", "dan"}
    # and a feedback-only grant is not a marketing one
    ConsentEvent.objects.create(
        merchant=population.merchant,
        shopper=population.shoppers["ann"],
        channel="sms",
        purpose="feedback",
        is_granted=True,
        occurred_at=moment,
        source="staff",
    )
    scores.scores_update(merchant=population.merchant)
    assert _audience(population, ("consented_channel", "granted", "sms")) == {"ben", "dan"}
