"""Hourly purchases for the next weeks: a weighted seasonal average with a damped trend.

The week is the season (168 hours). Each hour of the week is forecast as the
exponentially weighted average of that hour over the last few weeks (recent weeks
count more; averaging removes most of one week's noise, which is what the
seasonal-naive "same hour last week" keeps), scaled by the trend of weekly totals,
damped so that it fades over the horizon. Pure Python: at 168 × 52 values a
numerical library would buy nothing.

Closed days and public holidays (a `demand.Calendar`, day indices from the history's
first day, as the demand forecast marks them):

- A **closed day** (a closure, or a day before the store's first sale: see
  `demand.closed_days` and `demand.before_opening`) is not a day without demand. It is
  left out of the averages (each hour of the week averages its last MAX_WEEKS_AVERAGED
  ordinary days, so a closure makes room for an older week), of the weekly totals the
  trend is drawn from, and of every error figure, seasonal-naive's included.
- A **public holiday** is left out of the averages too, and learned: the store's
  purchases on its past holidays against what the same weekday brought on the ordinary
  days around each (up to HOLIDAY_NEIGHBOUR_WEEKS weeks either side), pooled over the
  store's holidays and shrunk towards 1 by one ordinary day's purchases, as the demand
  forecast does. Holidays in the horizon are forecast at that factor; a store that
  closes on holidays learns a factor near 0.

`backtest` holds out the last weeks, fits on the ones before and scores the model and
the seasonal-naive baseline (the last training week, repeated) on the held-out hours:

- WAPE, Σ|actual − forecast| / Σ actual over every hour, empty ones included;
- MASE, the mean absolute error scaled by that of "same hour last week" over the
  training weeks (below 1: better than that rule was on the history);
- MAPE, the mean of |actual − forecast| / actual over the hours that had purchases
  only (an empty hour has no percentage): it means little for small counts.

Closed days are left out of the held-out hours, and seasonal-naive takes the same weekday
of the open week before (the rule a merchant would use, given its fairest reading).

The forecast beats seasonal-naive when its absolute error over the held-out hours is
smaller (the same test on WAPE or MASE: they share their denominators).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from insights.demand import Calendar, before_opening

WEEK = 168
HORIZON_WEEKS = 4
MAX_WEEKS_AVERAGED = 8
WEIGHT_DECAY = 0.7
TREND_DAMPING = 0.8  # φ: the trend adds φ, φ², φ³… weeks of growth
TREND_LIMITS = (0.85, 1.15)  # weekly growth the trend may assume
HOLIDAY_NEIGHBOUR_WEEKS = 4
DAY = 24
ORDINARY = Calendar(first_weekday=0)


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
    closed_days_left_out: int = 0  # of the held-out days
    actual_total: float = 0.0  # purchases in the held-out hours scored


@dataclass(frozen=True)
class HolidayEffect:
    factor: float  # purchases on a holiday against an ordinary day of its weekday
    seen: int  # past holidays it was learned from (those the store traded around)


def _weeks(history: Sequence[float]) -> list[Sequence[float]]:
    """Whole weeks, oldest first; `history` must start at a week boundary of the forecast's alignment."""
    count = len(history) // WEEK
    return [history[index * WEEK : (index + 1) * WEEK] for index in range(count)]


def _day_totals(history: Sequence[float]) -> list[float]:
    return [sum(history[day * DAY : (day + 1) * DAY]) for day in range(len(history) // DAY)]


def _profile(history: Sequence[float], calendar: Calendar, days: int) -> tuple[list[float], list[float]]:
    """Each hour of the week averaged over the last MAX_WEEKS_AVERAGED ordinary days of its weekday, recent
    ones weighing more (by their age in weeks), and the weighted mean age of each weekday's days."""
    profile, ages = [0.0] * WEEK, [0.0] * 7
    for weekday in range(7):
        last_week = (days - 1 - weekday) // 7  # the latest week holding this weekday
        chosen: list[tuple[int, int]] = []
        for week in range(last_week, -1, -1):
            if len(chosen) == MAX_WEEKS_AVERAGED:
                break
            if calendar.is_ordinary(week * 7 + weekday):
                chosen.append((last_week - week, week))
        if not chosen:
            continue  # never seen open and ordinary: nothing to expect
        weights = [WEIGHT_DECAY**age for age, _week in chosen]
        total_weight = sum(weights)
        ages[weekday] = sum(weight * age for weight, (age, _week) in zip(weights, chosen, strict=True)) / total_weight
        for hour in range(DAY):
            profile[weekday * DAY + hour] = (
                sum(
                    weight * history[week * WEEK + weekday * DAY + hour]
                    for weight, (_age, week) in zip(weights, chosen, strict=True)
                )
                / total_weight
            )
    return profile, ages


def _weekly_totals(history: Sequence[float], calendar: Calendar, profile: Sequence[float]) -> list[float]:
    """Each week's purchases on its ordinary days, brought to a whole week by the profile's share of those days;
    weeks without an ordinary day (closed, or before the first sale) are left out."""
    days = _day_totals(history)
    expected = [sum(profile[weekday * DAY : (weekday + 1) * DAY]) for weekday in range(7)]
    whole = sum(expected)
    totals = []
    for week in range(len(days) // 7):
        ordinary = [day for day in range(week * 7, week * 7 + 7) if calendar.is_ordinary(day)]
        share = sum(expected[day % 7] for day in ordinary)
        if ordinary and share > 0:
            totals.append(sum(days[day] for day in ordinary) * whole / share)
    return totals


def holiday_effect(history: Sequence[float], calendar: Calendar = ORDINARY) -> HolidayEffect:
    """The store's holiday factor from the whole weeks of `history` (see the module's docstring)."""
    days = len(_weeks(history)) * 7
    totals = _day_totals(history)
    profile, _ages = _profile(history, calendar, days)
    ordinary_day = sum(profile) / 7
    sold = expected = 0.0
    seen = 0
    for holiday in sorted(day for day in calendar.holidays if day < days and day not in calendar.closed):
        neighbours = [
            totals[day]
            for step in range(1, HOLIDAY_NEIGHBOUR_WEEKS + 1)
            for day in (holiday - 7 * step, holiday + 7 * step)
            if 0 <= day < days and calendar.is_ordinary(day)
        ]
        if not neighbours:
            continue  # nothing ordinary around it to compare with
        sold += totals[holiday]
        expected += sum(neighbours) / len(neighbours)
        seen += 1
    if ordinary_day <= 0:
        return HolidayEffect(factor=1.0, seen=0)
    return HolidayEffect(factor=(sold + ordinary_day) / (expected + ordinary_day), seen=seen)


def forecast(history: Sequence[float], *, weeks: int = HORIZON_WEEKS, calendar: Calendar = ORDINARY) -> list[float]:
    """The next `weeks` × 168 hours after `history` (a whole number of weeks, oldest first); `calendar` marks
    its closed days and the holidays of history and horizon alike."""
    past = _weeks(history)
    if not past:
        return [0.0] * (weeks * WEEK)
    days = len(past) * 7
    profile, ages = _profile(history, calendar, days)
    growth = _weekly_growth(_weekly_totals(history[: days * DAY], calendar, profile))
    holiday_factor = holiday_effect(history, calendar).factor if calendar.holidays else 1.0
    result: list[float] = []
    # The profile stands for the weighted mean age of its weeks: the trend first brings it to the last
    # week in full, then carries it forward damped, since a trend rarely lasts.
    # Week `ahead` grows by growth^(φ + φ² + … + φ^ahead) beyond the last week: each week adds less than
    # the one before, and the whole trend never adds more than growth^(φ / (1 − φ)).
    carried = 0.0
    for ahead in range(1, weeks + 1):
        carried += TREND_DAMPING**ahead
        for weekday in range(7):
            factor = growth ** (ages[weekday] + carried)
            if days + (ahead - 1) * 7 + weekday in calendar.holidays:
                factor *= holiday_factor
            result.extend(max(0.0, value * factor) for value in profile[weekday * DAY : (weekday + 1) * DAY])
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


def seasonal_naive(
    history: Sequence[float], *, weeks: int = HORIZON_WEEKS, calendar: Calendar = ORDINARY
) -> list[float]:
    """The last week of `history`, repeated; a closed day of it replaced by the same weekday of the open week
    before."""
    past = _weeks(history)
    days = len(past) * 7
    last: list[float] = []
    for day in range(days - 7, days):
        while day >= 0 and day in calendar.closed:
            day -= 7
        last.extend(history[day * DAY : (day + 1) * DAY] if day >= 0 else [0.0] * DAY)
    return (last if past else [0.0] * WEEK) * weeks


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


def naive_scale(training: Sequence[float], calendar: Calendar = ORDINARY) -> float | None:
    """The mean absolute error of "same hour last week" over the training weeks (MASE's denominator), over the
    hours whose day and the day a week before were open."""
    errors = [
        abs(training[index] - training[index - WEEK])
        for index in range(WEEK, len(training))
        if index // DAY not in calendar.closed and index // DAY - 7 not in calendar.closed
    ]
    scale = sum(errors) / len(errors) if errors else 0.0
    return scale if scale > 0 else None


def mase(actual: Sequence[float], predicted: Sequence[float], *, scale: float | None) -> float | None:
    """Mean absolute scaled error: the mean absolute error over `scale` (`naive_scale` of the training weeks)."""
    if scale is None or not actual:
        return None
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / len(actual) / scale


def backtest(
    history: Sequence[float], *, held_out_weeks: int = HORIZON_WEEKS, calendar: Calendar = ORDINARY
) -> Backtest:
    """Fit on all but the last `held_out_weeks`, score on those, their closed days left out. Needs two more whole
    weeks since the first sale than it holds out."""
    past = _weeks(history)
    days = len(past) * 7
    opened = before_opening([round(total) for total in _day_totals(history[: days * DAY])])
    if (days - opened) // 7 < held_out_weeks + 2:
        return Backtest(mape=None, naive_mape=None, held_out_weeks=0)
    cut = (len(past) - held_out_weeks) * WEEK
    training = history[:cut]
    model = forecast(training, weeks=held_out_weeks, calendar=calendar)
    naive = seasonal_naive(training, weeks=held_out_weeks, calendar=calendar)
    scale = naive_scale(training, calendar)
    scored = [hour for hour in range(held_out_weeks * WEEK) if (cut + hour) // DAY not in calendar.closed]
    actual = [history[cut + hour] for hour in scored]
    model = [model[hour] for hour in scored]
    naive = [naive[hour] for hour in scored]
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
        beats_naive=model_error < naive_error if actual else None,
        actual_total=sum(actual),
        closed_days_left_out=sum(1 for day in range(cut // DAY, days) if day in calendar.closed),
    )
