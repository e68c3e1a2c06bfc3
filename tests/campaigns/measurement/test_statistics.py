"""The holdout statistics: the 95 % interval covers a known true lift in about 95 % of simulated
campaigns, an A/A test finds no lift in about 95 % of runs, and the sample hint's size gives the
power it promises. Each simulation is seeded, so a run is reproducible."""

import math
import random

import pytest

from campaigns.measurement import statistics
from campaigns.measurement.statistics import GroupSums

SIMULATIONS = 400


def _sums(values: list[int]) -> GroupSums:
    return GroupSums(len(values), sum(values), sum(value * value for value in values))


def _revenues(rng: random.Random, shoppers: int, conversion: float, mean_basket: int) -> list[int]:
    """Revenue per shopper in the window: most buy nothing, buyers spend an exponential amount."""
    return [round(rng.expovariate(1 / mean_basket)) if rng.random() < conversion else 0 for _ in range(shoppers)]


def _simulate(rng: random.Random, *, treated_conversion: float) -> statistics.Difference:
    # A 10 % holdout of 10,000 shoppers; baskets average 50.00 (5,000 minor units). Revenue per shopper
    # is very skewed (most spend nothing), so the normal approximation needs groups of this size.
    treatment = _sums(_revenues(rng, 9000, treated_conversion, 5000))
    holdout = _sums(_revenues(rng, 1000, 0.10, 5000))
    difference = statistics.difference_of_means(treatment, holdout)
    assert difference is not None
    return difference


def test_the_95_percent_interval_covers_the_true_lift_in_about_95_percent_of_campaigns():
    # given: messaged shoppers convert at 14 % instead of 10 %, so the true lift is 0.04 × 5,000 = 200 per shopper
    rng = random.Random(20261123)
    true_lift = (0.14 - 0.10) * 5000

    # when
    intervals = [_simulate(rng, treated_conversion=0.14) for _ in range(SIMULATIONS)]

    # then
    coverage = sum(interval.low <= true_lift <= interval.high for interval in intervals) / SIMULATIONS
    assert 0.92 <= coverage <= 0.98, coverage
    # and the estimates centre on the truth
    mean_estimate = sum(interval.estimate for interval in intervals) / SIMULATIONS
    assert abs(mean_estimate - true_lift) < 15


def test_an_a_a_test_shows_no_significant_lift_in_about_95_percent_of_runs():
    rng = random.Random(424242)

    runs = [_simulate(rng, treated_conversion=0.10) for _ in range(SIMULATIONS)]

    no_lift = sum(not run.is_significant for run in runs) / SIMULATIONS
    assert 0.92 <= no_lift <= 0.98, no_lift


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
            GroupSums(treated, converted_treated, converted_treated),
            GroupSums(held_out, converted_held, converted_held),
        )
        found += lift is not None and lift.is_significant and lift.estimate > 0

    # then
    assert 0.72 <= found / 200 <= 0.88, found / 200


def test_group_sums_give_the_textbook_mean_and_sample_variance():
    sums = _sums([3000, 0, 1000, 0])
    assert sums.mean == 1000
    assert sums.variance == pytest.approx(2_000_000)
    assert GroupSums(1, 5, 25).variance is None
    assert GroupSums(0, 0, 0).mean is None


def test_welch_interval_by_hand():
    treatment, holdout = _sums([3000, 0, 1000, 0]), _sums([1000, 0])

    difference = statistics.difference_of_means(treatment, holdout)

    standard_error = math.sqrt(2_000_000 / 4 + 500_000 / 2)
    assert difference.estimate == 500
    assert difference.standard_error == pytest.approx(standard_error)
    assert difference.low == pytest.approx(500 - 1.959964 * standard_error, rel=1e-6)
    assert difference.high == pytest.approx(500 + 1.959964 * standard_error, rel=1e-6)
    assert not difference.is_significant


def test_no_interval_without_two_shoppers_in_each_group():
    assert statistics.difference_of_means(_sums([100, 200]), _sums([100])) is None


def test_required_audience_by_hand():
    # 10 % → 12 % conversion, 10 % held out, 95 % confidence, 80 % power
    variance_sum = 0.12 * 0.88 / 0.9 + 0.10 * 0.90 / 0.1
    expected = math.ceil((1.959964 + 0.841621) ** 2 * variance_sum / 0.02**2)

    needed = statistics.required_audience(baseline_rate=0.10, relative_lift=0.2, holdout_fraction=0.1)

    assert abs(needed - expected) <= 2


def test_sample_hint_says_whether_the_audience_is_enough():
    small = statistics.sample_hint(audience=500, holdout_percent=10, baseline_rate=0.1)
    large = statistics.sample_hint(audience=50_000, holdout_percent=10, baseline_rate=0.1)

    assert small.held_out == 50 and small.treated == 450
    assert not small.is_enough and "about 19," in small.sentence
    assert large.is_enough and "this audience is enough" in large.sentence
    assert large.detectable_points < small.detectable_points
    assert "cannot measure" in statistics.sample_hint(audience=500, holdout_percent=0, baseline_rate=0.1).sentence
