"""Hourly purchases for the next weeks: a weighted seasonal average with a damped trend.

The week is the season (168 hours). Each hour of the week is forecast as the
exponentially weighted average of that hour over the last few weeks (recent weeks
count more; averaging removes most of one week's noise, which is what the
seasonal-naive "same hour last week" keeps), scaled by the trend of weekly totals,
damped so that it fades over the horizon. Pure Python: at 168 × 16 values a
numerical library would buy nothing.

`backtest` holds out the last weeks, fits on the ones before and scores the model and
the seasonal-naive baseline (the last training week, repeated) on the held-out hours:

- WAPE, Σ|actual − forecast| / Σ actual over every hour, empty ones included;
- MASE, the mean absolute error scaled by that of "same hour last week" over the
  training weeks (below 1: better than that rule was on the history);
- MAPE, the mean of |actual − forecast| / actual over the hours that had purchases
  only (an empty hour has no percentage): it means little for small counts.

The forecast beats seasonal-naive when its absolute error over the held-out hours is
smaller (the same test on WAPE or MASE: they share their denominators).
"""

from collections.abc import Sequence
from dataclasses import dataclass

WEEK = 168
HORIZON_WEEKS = 4
MAX_WEEKS_AVERAGED = 8
WEIGHT_DECAY = 0.7
TREND_DAMPING = 0.8  # φ: the trend adds φ, φ², φ³… weeks of growth
TREND_LIMITS = (0.85, 1.15)  # weekly growth the trend may assume


@dataclass(frozen=True)
class Backtest:
    mape: float | None
    naive_mape: float | None
    held_out_weeks: int
    wape: float | None = None
    naive_wape: float | None = None
    mase: float | None = None
    naive_mase: float | None = None
    beats_naive: bool | None = None


def _weeks(history: Sequence[float]) -> list[Sequence[float]]:
    """Whole weeks, oldest first; `history` must start at a week boundary of the forecast's alignment."""
    count = len(history) // WEEK
    return [history[index * WEEK : (index + 1) * WEEK] for index in range(count)]


def forecast(history: Sequence[float], *, weeks: int = HORIZON_WEEKS) -> list[float]:
    """The next `weeks` × 168 hours after `history` (a whole number of weeks, oldest first)."""
    past = _weeks(history)
    if not past:
        return [0.0] * (weeks * WEEK)
    recent = past[-MAX_WEEKS_AVERAGED:][::-1]  # newest first
    weights = [WEIGHT_DECAY**age for age in range(len(recent))]
    total_weight = sum(weights)
    profile = [
        sum(weight * week[hour] for weight, week in zip(weights, recent, strict=True)) / total_weight
        for hour in range(WEEK)
    ]
    # The profile stands for the weighted mean age of its weeks: the trend first brings it to the last
    # week in full, then carries it forward damped, since a trend rarely lasts.
    mean_age = sum(weight * age for age, weight in enumerate(weights)) / total_weight
    growth = _weekly_growth([sum(week) for week in past])
    result: list[float] = []
    # Week `ahead` grows by growth^(φ + φ² + … + φ^ahead) beyond the last week: each week adds less than
    # the one before, and the whole trend never adds more than growth^(φ / (1 − φ)).
    exponent = mean_age
    for ahead in range(1, weeks + 1):
        exponent += TREND_DAMPING**ahead
        factor = growth**exponent
        result.extend(max(0.0, value * factor) for value in profile)
    return result


def _weekly_growth(totals: Sequence[float]) -> float:
    """Growth per week between the mean of the last two weekly totals and of the (up to six) weeks before."""
    if len(totals) < 4:
        return 1.0
    newer = totals[-2:]
    older = totals[-MAX_WEEKS_AVERAGED:-2]
    newer_mean, older_mean = sum(newer) / len(newer), sum(older) / len(older)
    if older_mean <= 0 or newer_mean <= 0:
        return 1.0
    distance = (len(older) + 1) / 2 + 0.5  # weeks between the two groups' centres
    growth = (newer_mean / older_mean) ** (1 / distance)
    return min(max(growth, TREND_LIMITS[0]), TREND_LIMITS[1])


def seasonal_naive(history: Sequence[float], *, weeks: int = HORIZON_WEEKS) -> list[float]:
    past = _weeks(history)
    last = list(past[-1]) if past else [0.0] * WEEK
    return last * weeks


def mape(actual: Sequence[float], predicted: Sequence[float]) -> float | None:
    """Mean absolute percentage error over the hours that had purchases (an empty hour has no percentage)."""
    errors = [abs(a - p) / a for a, p in zip(actual, predicted, strict=True) if a > 0]
    return sum(errors) / len(errors) if errors else None


def wape(actual: Sequence[float], predicted: Sequence[float]) -> float | None:
    """Weighted absolute percentage error: every hour's absolute error, empty hours included, over all purchases."""
    total = sum(actual)
    if total <= 0:
        return None
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / total


def naive_scale(training: Sequence[float]) -> float | None:
    """The mean absolute error of "same hour last week" over the training weeks (MASE's denominator)."""
    errors = [abs(training[index] - training[index - WEEK]) for index in range(WEEK, len(training))]
    scale = sum(errors) / len(errors) if errors else 0.0
    return scale if scale > 0 else None


def mase(actual: Sequence[float], predicted: Sequence[float], *, scale: float | None) -> float | None:
    """Mean absolute scaled error: the mean absolute error over `scale` (`naive_scale` of the training weeks)."""
    if scale is None or not actual:
        return None
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / len(actual) / scale


def backtest(history: Sequence[float], *, held_out_weeks: int = HORIZON_WEEKS) -> Backtest:
    """Fit on all but the last `held_out_weeks`, score on those. Needs two more weeks than it holds out."""
    past = _weeks(history)
    if len(past) < held_out_weeks + 2:
        return Backtest(mape=None, naive_mape=None, held_out_weeks=0)
    cut = (len(past) - held_out_weeks) * WEEK
    training, actual = history[:cut], history[cut : len(past) * WEEK]
    model = forecast(training, weeks=held_out_weeks)
    naive = seasonal_naive(training, weeks=held_out_weeks)
    scale = naive_scale(training)
    model_error = sum(abs(a - p) for a, p in zip(actual, model, strict=True))
    naive_error = sum(abs(a - p) for a, p in zip(actual, naive, strict=True))
    return Backtest(
        mape=mape(actual, model),
        naive_mape=mape(actual, naive),
        held_out_weeks=held_out_weeks,
        wape=wape(actual, model),
        naive_wape=wape(actual, naive),
        mase=mase(actual, model, scale=scale),
        naive_mase=mase(actual, naive, scale=scale),
        beats_naive=model_error < naive_error,
    )
