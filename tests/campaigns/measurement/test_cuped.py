"""CUPED in the campaign report, checked by seeded simulation: shoppers whose spend before the campaign
predicts their spend during it, a true lift known in closed form, and the adjusted 95 % intervals' coverage
and A/A false claims over a few hundred campaigns."""

import math
import random

import pytest

from core import statistics
from core.statistics import GroupSums, PairedSums

MEAN_BASKET = 5000  # minor units
SHAPE, SCALE = 0.8, 0.5  # each shopper's purchases per 30 days: Gamma(0.8, 0.5), 0.4 on average
WINDOW = 14 / 30  # the attribution window, in months
LOOKBACK = 3  # 90 days, in months
SHOPPERS, HELD_OUT = 1000, 200


def _poisson(rng: random.Random, mean: float) -> int:
    threshold, count, product = math.exp(-mean), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _shopper(rng: random.Random, multiplier: float) -> tuple[int, int]:
    """(spend over the lookback, spend in the window): a shopper's rate and basket size drive both."""
    rate = rng.gammavariate(SHAPE, SCALE)
    level = MEAN_BASKET * rng.lognormvariate(-0.18, 0.6)  # mean 1 × the mean basket

    visits = _poisson(rng, rate * LOOKBACK)
    before = round(visits * level * rng.lognormvariate(-0.08, 0.4)) if visits else 0
    bought = rng.random() < 1 - math.exp(-rate * WINDOW * multiplier)
    return before, max(1, round(level * rng.lognormvariate(-0.08, 0.4))) if bought else 0


def _true_conversion(multiplier: float) -> float:
    # E[1 − exp(−t·rate)] for a Gamma(k, θ) rate is 1 − (1 + tθ)^−k
    return 1 - (1 + WINDOW * multiplier * SCALE) ** -SHAPE


def _campaign(rng: random.Random, multiplier: float):
    treated = [_shopper(rng, multiplier) for _ in range(SHOPPERS - HELD_OUT)]
    held = [_shopper(rng, 1.0) for _ in range(HELD_OUT)]

    def converted(pairs):
        return PairedSums.of([(x, 1 if y else 0) for x, y in pairs])

    return (
        statistics.adjusted_difference_of_means(PairedSums.of(treated), PairedSums.of(held)),
        statistics.adjusted_difference_of_means(converted(treated), converted(held)),
        statistics.difference_of_means(GroupSums.of([y for _x, y in treated]), GroupSums.of([y for _x, y in held])),
    )


@pytest.fixture(scope="module")
def simulated():
    """300 campaigns without a true lift and 300 whose message raises each shopper's rate by 40 %."""
    rng = random.Random(16)
    return {multiplier: [_campaign(rng, multiplier) for _ in range(300)] for multiplier in (1.0, 1.4)}


def test_adjusted_intervals_cover_the_true_lift_in_93_to_97_percent_of_campaigns(simulated):
    covered_revenue = covered_conversion = judged = 0
    for multiplier, campaigns in simulated.items():
        conversion_lift = _true_conversion(multiplier) - _true_conversion(1.0)
        for revenue, conversion, _plain in campaigns:
            if revenue is None or conversion is None:
                continue
            judged += 1
            covered_revenue += revenue.difference.low <= conversion_lift * MEAN_BASKET <= revenue.difference.high
            covered_conversion += conversion.difference.low <= conversion_lift <= conversion.difference.high

    assert judged >= 580
    assert 0.93 <= covered_revenue / judged <= 0.97, covered_revenue / judged
    assert 0.93 <= covered_conversion / judged <= 0.97, covered_conversion / judged


def test_an_a_a_campaign_is_called_significant_at_most_5_percent_of_the_time(simulated):
    campaigns = [(revenue, conversion) for revenue, conversion, _plain in simulated[1.0] if revenue is not None]

    false_revenue = sum(revenue.difference.is_significant for revenue, _conversion in campaigns)
    false_conversion = sum(conversion.difference.is_significant for _revenue, conversion in campaigns)

    assert false_revenue / len(campaigns) <= 0.05
    assert false_conversion / len(campaigns) <= 0.05


def test_the_adjustment_narrows_the_interval_by_what_it_says(simulated):
    revenue, _conversion, plain = simulated[1.4][0]
    widths = [
        (adjusted.difference.high - adjusted.difference.low, plain.high - plain.low, adjusted.variance_reduction)
        for adjusted, _conversion, plain in simulated[1.4]
    ]

    # the pre-period spend explains part of the spend in the window, so the same answer needs fewer shoppers
    assert 10 <= revenue.fewer_shoppers_percent <= 60
    narrower = sum(adjusted < unadjusted for adjusted, unadjusted, _reduction in widths)
    assert narrower / len(widths) >= 0.9
    # the interval's width shrinks as √(1 − ρ²) on average
    ratio = sum(adjusted / unadjusted for adjusted, unadjusted, _reduction in widths) / len(widths)
    promised = sum(math.sqrt(1 - reduction) for _adjusted, _unadjusted, reduction in widths) / len(widths)
    assert ratio == pytest.approx(promised, rel=0.1)


def test_without_spend_before_the_campaign_nothing_changes():
    treatment = PairedSums.of([(0, 3000)] * 12 + [(0, 0)] * 40)
    control = PairedSums.of([(0, 2000)] * 11 + [(0, 0)] * 40)

    adjusted = statistics.adjusted_difference_of_means(treatment, control)
    plain = statistics.difference_of_means(treatment.outcome, control.outcome)

    assert adjusted.theta == 0 and adjusted.fewer_shoppers_percent == 0
    assert (adjusted.difference.low, adjusted.difference.high) == pytest.approx((plain.low, plain.high))


def test_paired_sums_adjust_by_hand():
    pairs = [(100, 300), (0, 0), (200, 500), (50, 0)]
    theta = 1.5
    z = [y - theta * x for x, y in pairs]

    adjusted = PairedSums.of(pairs).adjusted(statistics.Decimal(theta))

    assert float(adjusted.total) == pytest.approx(sum(z))
    assert float(adjusted.squares) == pytest.approx(sum(value**2 for value in z))
    assert float(adjusted.cubes) == pytest.approx(sum(value**3 for value in z))
