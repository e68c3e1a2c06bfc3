"""The hourly forecast: a weighted seasonal average with a damped trend, scored on held-out weeks."""

import itertools
import random

import pytest

from insights import forecast

WEEK = forecast.WEEK


def _weekly_pattern():
    # Open 9–18, busier at lunch and on Saturday, closed on Sunday.
    pattern = []
    for day in range(7):
        for hour in range(24):
            if day == 6 or not 9 <= hour < 18:
                pattern.append(0.0)
            else:
                pattern.append((20 + 15 * (hour in (12, 13))) * (1.6 if day == 5 else 1.0))
    return pattern


def _history(weeks, *, growth=1.0, seed=1):
    rng = random.Random(seed)
    pattern = _weekly_pattern()
    series = []
    for week in range(weeks):
        level = growth**week
        series.extend(float(rng.gauss(value * level, value**0.5)) if value else 0.0 for value in pattern)
    return [max(0.0, value) for value in series]


def test_it_beats_the_seasonal_naive_and_nears_the_noise_floor():
    history = _history(16)

    result = forecast.backtest(history)

    # What knowing the true pattern would score on the same held-out weeks: the noise itself.
    floor = forecast.mape(history[-4 * WEEK :], _weekly_pattern() * 4)
    assert result.held_out_weeks == 4
    assert result.mape < result.naive_mape
    assert result.mape < floor * 1.15


def test_a_growing_trade_is_carried_forward():
    history = _history(16, growth=1.03)

    predicted = forecast.forecast(history, weeks=4)

    last_week = sum(history[-WEEK:])
    # The true growth over four weeks is 12.6 %; a damped trend keeps part of it.
    assert last_week * 1.04 < sum(predicted[-WEEK:]) < last_week * 1.13
    assert len(predicted) == 4 * WEEK


def test_closed_hours_stay_closed():
    predicted = forecast.forecast(_history(8), weeks=1)

    assert all(value == 0 for hour, value in enumerate(predicted) if hour // 24 == 6)


def test_too_little_history_is_not_scored():
    assert forecast.backtest(_history(5)).mape is None
    assert forecast.forecast([], weeks=1) == [0.0] * WEEK


def test_mape_leaves_out_hours_without_purchases():
    assert forecast.mape([0, 10, 20], [5, 12, 10]) == pytest.approx((0.2 + 0.5) / 2)
    assert forecast.mape([0, 0], [1, 2]) is None


def test_the_trend_fades_over_the_horizon():
    predicted = forecast.forecast(_history(16, growth=1.03), weeks=4)

    totals = [sum(predicted[week * WEEK : (week + 1) * WEEK]) for week in range(4)]
    growth = [later / earlier for earlier, later in itertools.pairwise(totals)]

    # each week still grows, by less than the week before
    assert all(step > 1 for step in growth)
    assert growth[0] > growth[1] > growth[2]


def test_wape_and_mase_by_hand():
    actual, predicted = [0, 10, 20, 0], [2, 12, 10, 0]

    assert forecast.wape(actual, predicted) == pytest.approx((2 + 2 + 10) / 30)
    assert forecast.wape([0, 0], [1, 1]) is None
    assert forecast.mase(actual, predicted, scale=2.0) == pytest.approx((2 + 2 + 10) / 4 / 2)
    # the scale: "same hour last week" over the training weeks
    training = [1.0] * WEEK + [3.0] * WEEK
    assert forecast.naive_scale(training) == pytest.approx(2.0)
    assert forecast.naive_scale([1.0] * 2 * WEEK) is None


def test_the_backtest_scores_every_hour_and_names_the_better_of_the_two():
    history = _history(16)

    result = forecast.backtest(history)

    assert result.beats_naive
    assert result.wape < result.naive_wape
    assert result.mase < result.naive_mase < 1.5


def test_a_forecast_that_does_not_beat_seasonal_naive_is_told_so():
    # given: a trade that moved to a new weekly pattern a week before the held-out weeks, and kept it
    rng = random.Random(3)
    old, new = _weekly_pattern(), _weekly_pattern()[24:] + _weekly_pattern()[:24]
    history = [max(0.0, rng.gauss(value, 0.5)) for week in range(12) for value in (old if week < 7 else new)]

    result = forecast.backtest(history)

    # the weighted average still remembers the old pattern; repeating the last week does not
    assert not result.beats_naive
    assert result.naive_wape < result.wape
