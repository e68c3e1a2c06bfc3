"""The report's confidence sequence, checked by seeded simulation: merchants open the report every day
and act the first time it says "significant". Purchases arrive as they would: each shopper buys at their
own rate (a Poisson process, rates varying between shoppers), spends per a skewed basket, and the report
at each day's look sums what each shopper spent since entering the campaign up to that day."""

import math
import random

import pytest

from core import statistics
from core.statistics import Difference, GroupSums

MEAN_BASKET = 5000  # minor units
SHAPE, SCALE = 0.8, 0.5  # each shopper's purchases per 30 days: Gamma(0.8, 0.5), 0.4 on average


def _poisson(rng: random.Random, mean: float) -> int:
    threshold, count, product = math.exp(-mean), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _day_of_purchase(rng: random.Random, timing: str, window: int) -> float:
    """Days after entering the campaign: spread evenly, mostly in the first days, or mostly late."""
    draw = rng.random()
    if timing == "front":  # exponential decay (mean 3 days), cut at the window's end
        return -3 * math.log(1 - draw * (1 - math.exp(-window / 3)))
    if timing == "back":  # density rising with time
        return window * math.sqrt(draw)
    return draw * window


def _shopper(rng, *, window: int, timing: str, multiplier: float) -> list[tuple[float, int]]:
    """(days after entering, amount) of each purchase one shopper makes in the window."""
    rate = rng.gammavariate(SHAPE, SCALE) / 30 * multiplier
    level = MEAN_BASKET * rng.lognormvariate(-0.18, 0.6)  # this shopper's usual basket, 1 × the mean on average
    return [
        (_day_of_purchase(rng, timing, window), max(1, round(level * rng.lognormvariate(-0.08, 0.4))))
        for _ in range(_poisson(rng, rate * window))
    ]


def _looks(rng, *, shoppers: int, held_out_share: float, window: int, entry_days: int, timing: str, multiplier=1.0):
    """One campaign looked at every day until its planned end (the last entry's window end): per look, the
    share of the planned period gone by and the (revenue, conversion) sums of the messaged and held-out groups."""
    end = entry_days + window
    # per group: how many shoppers had entered by each day, and each buyer's spend by each day
    entered = {group: [0] * (end + 1) for group in ("messaged", "held out")}
    spend = {group: [[0] * (end + 1)] for group in entered}  # one list per buyer; one dummy row
    for _ in range(shoppers):
        group = "held out" if rng.random() < held_out_share else "messaged"
        day_in = rng.random() * entry_days
        entered[group][math.ceil(day_in) or 1] += 1
        purchases = _shopper(rng, window=window, timing=timing, multiplier=1.0 if group == "held out" else multiplier)
        if purchases:
            by_day = [0] * (end + 1)
            for after, amount in purchases:
                by_day[min(end, math.ceil(day_in + after) or 1)] += amount
            spend[group].append(by_day)
    for group in entered:
        entered[group] = _cumulative(entered[group])
        spend[group] = [_cumulative(by_day) for by_day in spend[group][1:]]
    for look in range(1, end + 1):
        sums = []
        for group in ("messaged", "held out"):
            values = [by_day[look] for by_day in spend[group] if by_day[look]]
            count = entered[group][look]
            sums.append(
                (
                    GroupSums(count, len(values), sum(values), sum(v * v for v in values), sum(v**3 for v in values)),
                    GroupSums.conversions(count, len(values)),
                )
            )
        yield look / end, sums[0], sums[1]


def _cumulative(values: list[int]) -> list[int]:
    total, out = 0, []
    for value in values:
        total += value
        out.append(total)
    return out


def _judged(treated: GroupSums, held_out: GroupSums, share: float) -> tuple[Difference | None, Difference | None]:
    """(the fixed 95 % interval, the confidence sequence's band) at one look."""
    fixed = statistics.difference_of_means(treated, held_out)
    return fixed, statistics.always_valid(fixed, elapsed_share=share) if fixed is not None else None


CASES = {
    # a broadcast to 3,000 shoppers, 10 % held out, a 14-day window, most purchases in the first days
    "broadcast, early buyers": {
        "shoppers": 3000,
        "held_out_share": 0.1,
        "window": 14,
        "entry_days": 0,
        "timing": "front",
    },
    "broadcast, late buyers": {
        "shoppers": 3000,
        "held_out_share": 0.1,
        "window": 14,
        "entry_days": 0,
        "timing": "back",
    },
    # a triggered campaign taking shoppers every day for four weeks, 20 % held out, a 7-day window
    "triggered, every day": {"shoppers": 2000, "held_out_share": 0.2, "window": 7, "entry_days": 28, "timing": "flat"},
}


@pytest.fixture(scope="module")
def a_a_campaigns():
    """Per case, 120 seeded campaigns without a true lift: for each, whether looking every day ever saw a
    "significant" revenue or conversion result, by the fixed interval and by the sequence."""
    seen = {}
    for seed, (case, settings) in enumerate(CASES.items()):
        rng = random.Random(1612 + seed)
        outcomes = []
        for _ in range(120):
            fixed_claim = sequence_claim = False
            for share, (revenue, conversion), (held_revenue, held_conversion) in _looks(rng, **settings):
                for treated, held_out in ((revenue, held_revenue), (conversion, held_conversion)):
                    fixed, band = _judged(treated, held_out, share)
                    fixed_claim |= fixed is not None and fixed.is_significant
                    sequence_claim |= band is not None and band.is_significant
            outcomes.append((fixed_claim, sequence_claim))
        seen[case] = outcomes
    return seen


@pytest.mark.parametrize("case", CASES)
def test_looking_every_day_at_the_sequence_keeps_false_claims_under_5_percent(a_a_campaigns, case):
    # given: campaigns without a true lift, looked at every day until the planned end, "significant" on either
    # revenue or conversion counting as a claim
    outcomes = a_a_campaigns[case]

    # then: the sequence claims a lift in at most 5 % of them
    claims = sum(sequence for _fixed, sequence in outcomes) / len(outcomes)
    assert claims <= 0.05, claims


def test_looking_every_day_at_the_fixed_interval_over_claims(a_a_campaigns):
    # the problem the sequence solves: the same campaigns, judged by the fixed 95 % interval at every look
    outcomes = [outcome for case in CASES for outcome in a_a_campaigns[case]]
    claims = sum(fixed for fixed, _sequence in outcomes) / len(outcomes)
    assert claims > 0.10, claims


def _true_lift(multiplier: float, days: float) -> tuple[float, float]:
    """(revenue per shopper, conversion) lift by `days` after entering, purchases spread evenly: a shopper
    buying at rate r makes r·days purchases on average; 1 − E[exp(−r·days)] = 1 − (1 + days·θ)^−k buy at all."""
    rate = SHAPE * SCALE / 30
    conversion = 1 - (1 + days * multiplier * SCALE / 30) ** -SHAPE - (1 - (1 + days * SCALE / 30) ** -SHAPE)
    return (multiplier - 1) * rate * days * MEAN_BASKET, conversion


def test_the_sequence_covers_the_true_lift_at_every_look_at_once_in_95_percent_of_campaigns():
    # given: broadcasts to 3,000 shoppers whose message raises each shopper's rate of buying by 30 %
    rng = random.Random(27)
    settings = {
        "shoppers": 3000,
        "held_out_share": 0.1,
        "window": 14,
        "entry_days": 0,
        "timing": "flat",
        "multiplier": 1.3,
    }
    covered_everywhere = 0
    for _ in range(100):
        missed = False
        for share, (revenue, conversion), (held_revenue, held_conversion) in _looks(rng, **settings):
            true_revenue, true_conversion = _true_lift(1.3, share * 14)
            for (treated, held_out), truth in (
                ((revenue, held_revenue), true_revenue),
                ((conversion, held_conversion), true_conversion),
            ):
                _fixed, band = _judged(treated, held_out, share)
                missed |= band is not None and not band.low <= truth <= band.high
        covered_everywhere += not missed

    # then: every band of a campaign covers that day's true lift together, in at least 95 % of campaigns
    assert covered_everywhere / 100 >= 0.95, covered_everywhere / 100


def test_the_band_by_hand():
    # given: a fixed 95 % interval of 100 ± 1.96 × 40
    fixed = Difference(100.0, 100 - 1.959964 * 40, 100 + 1.959964 * 40, 40.0, 0.95)

    # when: looked at half-way and at the planned end
    half, end = (statistics.always_valid(fixed, elapsed_share=share) for share in (0.5, 1.0))

    # then: the normal mixture boundary √((1 + 1/x)·log((1 + x)/α²)) standard errors, x = 7.94 × the share
    tuning = -2 * math.log(0.05) + math.log(1 - 2 * math.log(0.05))
    for band, share in ((half, 0.5), (end, 1.0)):
        x = tuning * share
        reach = 40 * math.sqrt((1 + 1 / x) * math.log((1 + x) / 0.05**2))
        assert (band.estimate, band.low, band.high) == pytest.approx((100, 100 - reach, 100 + reach))
    # about 1.55 × the fixed interval at the end, wider before it
    assert (end.high - end.low) / (fixed.high - fixed.low) == pytest.approx(1.55, abs=0.01)
    assert half.high - half.low > end.high - end.low
    assert not end.is_significant and fixed.is_significant
    # an hour into a two-week campaign the band is too wide to say anything
    early = statistics.always_valid(fixed, elapsed_share=0.003)
    assert early.high - early.low > 5 * (fixed.high - fixed.low)
