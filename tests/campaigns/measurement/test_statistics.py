"""The holdout statistics, checked by seeded simulation: how often the 95 % interval misses a known
true lift, how often an A/A campaign (no true lift) is called significant, and whether a small
merchant's campaign is told it has too little data. Each simulation is seeded, so a run is
reproducible; every per-shopper outcome is simulated, then summed as the report's query sums it."""

import math
import random

import pytest

from core import statistics
from core.statistics import GroupSums

MEAN_BASKET = 5000  # minor units
HELD_OUT_CONVERSION = 0.10


def _spend(rng: random.Random, shape: str) -> int:
    """One buyer's spend in the window, averaging MEAN_BASKET."""
    if shape == "normal":
        return max(1, round(rng.gauss(MEAN_BASKET, MEAN_BASKET * 0.3)))
    if shape == "exponential":
        return max(1, round(rng.expovariate(1 / MEAN_BASKET)))
    sigma = 1.0  # log-normal: a few buyers spend many times the average
    return max(1, round(rng.lognormvariate(math.log(MEAN_BASKET) - sigma * sigma / 2, sigma)))


def _group(rng: random.Random, shoppers: int, conversion: float, shape: str) -> tuple[GroupSums, GroupSums]:
    """(revenue, converted) sums of one group: most shoppers buy nothing, buyers spend per `shape`."""
    spends = [_spend(rng, shape) for _ in range(sum(rng.random() < conversion for _ in range(shoppers)))]
    revenue = GroupSums(
        count=shoppers,
        buyers=len(spends),
        total=sum(spends),
        squares=sum(spend * spend for spend in spends),
        cubes=sum(spend**3 for spend in spends),
    )
    return revenue, GroupSums.conversions(shoppers, len(spends))


def _campaigns(seed: int, *, shoppers: int, lift_points: float, shape: str, runs: int):
    """`runs` campaigns with 10 % held out: (revenue difference, conversion difference) per campaign."""
    rng = random.Random(seed)
    held_out = shoppers // 10
    for _ in range(runs):
        treated_revenue, treated_converted = _group(
            rng, shoppers - held_out, HELD_OUT_CONVERSION + lift_points / 100, shape
        )
        held_revenue, held_converted = _group(rng, held_out, HELD_OUT_CONVERSION, shape)
        yield (
            statistics.difference_of_means(treated_revenue, held_revenue),
            statistics.difference_of_means(treated_converted, held_converted),
        )


@pytest.mark.parametrize("shape", ["normal", "lognormal"])
def test_the_95_percent_intervals_cover_the_true_lift_in_93_to_97_percent_of_campaigns(shape):
    # given: 5,000 shoppers (500 held out, about 50 of whom buy), a true lift of −2, 0 or +2 points of
    # conversion, so a true difference in revenue per shopper of lift × the mean basket
    covered_revenue = covered_conversion = judged = 0
    for seed, lift_points in enumerate((-2, 0, 2)):
        for revenue, conversion in _campaigns(
            20261203 + seed, shoppers=5000, lift_points=lift_points, shape=shape, runs=300
        ):
            # when: the report's interval (always given at this size)
            assert revenue is not None and conversion is not None
            judged += 1
            # then
            covered_revenue += revenue.low <= lift_points / 100 * MEAN_BASKET <= revenue.high
            covered_conversion += conversion.low <= lift_points / 100 <= conversion.high

    assert 0.93 <= covered_revenue / judged <= 0.97, covered_revenue / judged
    assert 0.93 <= covered_conversion / judged <= 0.97, covered_conversion / judged


def test_an_a_a_campaign_is_called_significant_at_most_5_percent_of_the_time():
    # given: no true lift, at three sizes (the smallest is a small merchant: 450 messaged, 50 held out)
    claims = conversion_claims = runs = 0
    for seed, (shoppers, shape) in enumerate(
        [(5000, "normal"), (5000, "lognormal"), (2000, "exponential"), (2000, "lognormal"), (500, "lognormal")]
    ):
        for revenue, conversion in _campaigns(424242 + seed, shoppers=shoppers, lift_points=0, shape=shape, runs=300):
            runs += 1
            # then: the report says "significant" only when the revenue interval excludes zero
            claims += revenue is not None and revenue.is_significant
            conversion_claims += conversion is not None and conversion.is_significant

    assert claims / runs <= 0.05, claims / runs
    # and the conversion interval beside it excludes zero no more often
    assert conversion_claims / runs <= 0.05, conversion_claims / runs


def test_a_small_merchant_without_a_true_lift_is_told_there_is_not_enough_data():
    # given: 450 messaged, 50 held out (about 5 held-out buyers), no true lift
    outcomes = list(_campaigns(7, shoppers=500, lift_points=0, shape="lognormal", runs=300))

    # then: no interval, so the report says "not enough data yet", in most runs
    not_enough = sum(revenue is None for revenue, _conversion in outcomes) / len(outcomes)
    assert not_enough >= 0.9, not_enough


def test_no_interval_when_a_group_has_no_buyer_or_no_variation():
    buyers = GroupSums.of([5000] * 20 + [0] * 180)
    assert statistics.difference_of_means(buyers, GroupSums.of([0] * 50)) is None
    assert statistics.difference_of_means(buyers, GroupSums.of([3000] * 50)) is None  # everyone bought the same
    assert statistics.difference_of_means(buyers, GroupSums.of([1000] * 9 + [0] * 41)) is None  # 9 buyers
    assert statistics.difference_of_means(buyers, GroupSums.of([1000] * 10 + [0] * 40)) is not None


def test_shoppers_to_settle_counts_what_the_held_out_group_lacks():
    # 450 messaged (45 buyers), 50 held out (5 buyers): 10 held-out buyers need 100 held out, 1,000 in all
    treated, held_out = GroupSums.of([2000] * 45 + [0] * 405), GroupSums.of([2000] * 5 + [0] * 45)

    assert statistics.shoppers_to_settle(treated, held_out) == 500
    # a held-out group in which nobody bought goes by the rate of both groups together (45 of 500)
    assert statistics.shoppers_to_settle(treated, GroupSums.of([0] * 50)) == 612
    assert statistics.shoppers_to_settle(GroupSums.of([0] * 450), GroupSums.of([0] * 50)) is None
    assert statistics.shoppers_to_settle(treated, GroupSums.of([2000] * 10 + [0] * 40)) == 0


def test_the_interval_leans_towards_the_skew():
    # given: a held-out group whose revenue is skewed to the right (a few big baskets)
    treated = GroupSums.of([4000] * 300 + [0] * 2700)
    held_out = GroupSums.of([1000] * 25 + [40000] * 5 + [0] * 270)

    lift = statistics.difference_of_means(treated, held_out)

    # then: the estimate is the plain difference; the interval reaches further below it than above,
    # because a larger held-out mean (a few more big baskets) is what the skew makes likely
    assert lift.estimate == pytest.approx(4000 * 0.1 - (25_000 + 200_000) / 300)
    assert lift.estimate - lift.low > lift.high - lift.estimate


def test_a_real_lift_of_the_size_the_hint_promises_is_found_about_80_percent_of_the_time():
    # given: the audience the hint asks for to see 10 % → 13 % conversion with a 20 % holdout
    needed = statistics.required_audience(baseline_rate=0.10, relative_lift=0.3, holdout_fraction=0.2)
    assert needed is not None
    held_out = round(needed * 0.2)
    treated = needed - held_out
    rng = random.Random(99)

    # when: conversions only (a 0/1 value per shopper), 200 simulated campaigns
    found = 0
    for _ in range(200):
        converted_treated = sum(rng.random() < 0.13 for _ in range(treated))
        converted_held = sum(rng.random() < 0.10 for _ in range(held_out))
        lift = statistics.difference_of_means(
            GroupSums.conversions(treated, converted_treated), GroupSums.conversions(held_out, converted_held)
        )
        found += lift is not None and lift.is_significant and lift.estimate > 0

    # then
    assert 0.72 <= found / 200 <= 0.88, found / 200


def test_group_sums_give_the_textbook_moments():
    sums = GroupSums.of([3000, 0, 1000, 0])
    assert (sums.count, sums.buyers, sums.mean) == (4, 2, 1000)
    assert sums.variance == pytest.approx(2_000_000)
    assert sums.third_moment == pytest.approx(((2000**3) + 2 * (-1000) ** 3 + 0) / 4)
    assert GroupSums.of([5]).variance is None
    assert GroupSums.of([]).mean is None
    assert GroupSums.of([1, 0]) + GroupSums.of([2]) == GroupSums.of([1, 0, 2])


def test_interval_by_hand_without_skew():
    # given: half of each group bought, all for the same amount, so neither group is skewed
    treatment, holdout = GroupSums.of([2000] * 10 + [0] * 10), GroupSums.of([1000] * 10 + [0] * 10)

    difference = statistics.difference_of_means(treatment, holdout)

    # then: the standard error is the larger of Welch's and the one from both groups' baskets together
    welch = 2000**2 * 0.25 * 20 / 19 / 20 + 1000**2 * 0.25 * 20 / 19 / 20
    basket_mean, basket_square = 1500, (2000**2 + 1000**2) / 2
    pooled = 2 * (0.5 * basket_square - 0.25 * basket_mean**2) / 19
    assert pooled > welch
    assert difference.estimate == 500
    assert difference.standard_error == pytest.approx(math.sqrt(pooled))
    assert difference.low == pytest.approx(500 - 1.959964 * math.sqrt(pooled), rel=1e-6)
    assert difference.high == pytest.approx(500 + 1.959964 * math.sqrt(pooled), rel=1e-6)
    assert not difference.is_significant


def test_no_interval_without_two_shoppers_in_each_group():
    assert statistics.difference_of_means(GroupSums.of([100, 200]), GroupSums.of([100])) is None


def test_required_audience_is_the_smallest_that_detects_the_lift():
    # 10 % → 12 % conversion, 10 % held out, 95 % confidence, 80 % power
    needed = statistics.required_audience(baseline_rate=0.10, relative_lift=0.2, holdout_fraction=0.1)

    def detectable(audience):
        held_out = round(audience * 0.1)
        return statistics.detectable_conversion_difference(
            treated=audience - held_out, held_out=held_out, baseline_rate=0.10
        )

    assert detectable(needed) <= 0.02 < detectable(needed - 1)
    # near the textbook (normal) figure, a little above it: the held-out group's skew widens the interval
    textbook = (1.959964 + 0.841621) ** 2 * (0.12 * 0.88 / 0.9 + 0.10 * 0.90 / 0.1) / 0.02**2
    assert textbook < needed < textbook * 1.1


def test_the_lift_the_builder_says_it_can_detect_is_found_about_80_percent_of_the_time():
    # given: a small merchant's audience, 2,000 shoppers with 200 held out at 10 % conversion, and a true
    # rise of exactly the size the builder promises
    hint = statistics.sample_hint(audience=2000, holdout_percent=10, baseline_rate=0.10)
    assert hint.can_settle
    rate = 0.10 + hint.detectable_points / 100
    rng = random.Random(2024)

    # when: the report judges 1,000 simulated campaigns
    found = 0
    for _ in range(1000):
        converted_treated = sum(rng.random() < rate for _ in range(hint.treated))
        converted_held = sum(rng.random() < 0.10 for _ in range(hint.held_out))
        lift = statistics.difference_of_means(
            GroupSums.conversions(hint.treated, converted_treated), GroupSums.conversions(hint.held_out, converted_held)
        )
        found += lift is not None and lift.is_significant and lift.estimate > 0

    # then: the report finds it as often as the builder said (80 %, within the simulation's noise)
    assert 0.76 <= found / 1000 <= 0.84, found / 1000


def test_sample_hint_says_whether_the_audience_is_enough():
    small = statistics.sample_hint(audience=500, holdout_percent=10, baseline_rate=0.1)
    large = statistics.sample_hint(audience=50_000, holdout_percent=10, baseline_rate=0.1)

    assert small.held_out == 50 and small.treated == 450
    # 50 held out at 10 % is about 5 buyers: the report would not judge; 1,000 shoppers would give it 10
    assert not small.can_settle and not small.is_enough
    assert "too few to judge a lift" in small.sentence and "About 1,000 shoppers would give it enough" in small.sentence
    assert large.is_enough and "this audience is enough" in large.sentence
    assert large.detectable_points < small.detectable_points
    assert "cannot measure" in statistics.sample_hint(audience=500, holdout_percent=0, baseline_rate=0.1).sentence
