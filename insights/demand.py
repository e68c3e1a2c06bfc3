"""Weekly demand per category and store: units and revenue for the next weeks, with 80 % prediction intervals.

The model works by day and reports by week (seven days from the forecast's first day):

    expected units on day d = level × weekday factor × holiday factor (on a public holiday)
                                    × promotion factor (on a promotion day)

- The **weekday factors** are each weekday's mean over the ordinary days of the last
  SEASON_WEEKS weeks, against the mean of all of them.
- The **level** is the mean of the ordinary days, weekday removed, over the last
  RECENT_WEEKS weeks, recent weeks weighing more (WEIGHT_DECAY per week of age).
- The **holiday and promotion factors** are learned per store, pooled over its categories:
  what the store sold on past holidays (promotion days) against what level and weekday
  alone expected on them, shrunk towards 1 by one ordinary day's worth of sales, so that
  one odd holiday does not make a rule. A store that closes on holidays learns a factor
  near 0: nothing to stock for that day.
- An **ordinary day** is neither a holiday, nor a promotion day, nor a closed day. A closed
  day (no purchase at all in the store when its weekday usually brings CLOSED_MIN_EXPECTED
  or more: a closure, a power cut, a refit) is not a day without demand: it is left out of
  the fitting and of every error figure.
- **Intervals** (INTERVAL_LEVEL, 80 %) take a week's units as negative-binomial, with the
  mean above and a variance μ + α μ², α measured per store on one-week-ahead forecasts over
  the history (method of moments): counting noise for small series, the week-to-week
  drift of the level for large ones. `backtest` reports how often held-out weeks fell
  inside, which is how the level is checked.
- **Revenue** is units × the series' average unit price over the recent weeks: the
  forecast assumes prices hold.

Pure Python: a merchant has tens of series of a few hundred days.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

INTERVAL_LEVEL = 0.8
HORIZON_WEEKS = 12
HELD_OUT_WEEKS = 4
HISTORY_WEEKS = 52
RECENT_WEEKS = 8
SEASON_WEEKS = 26
WEIGHT_DECAY = 0.7
CLOSED_MIN_EXPECTED = 5.0
# Exact negative-binomial quantiles below this mean; the normal approximation above it.
EXACT_QUANTILE_LIMIT = 200.0
HORIZON_WIDENING = 0.5


@dataclass(frozen=True)
class Calendar:
    """One store's marked days, as indices from the first day of its history (history and horizon alike)."""

    first_weekday: int  # 0 = Monday, of day index 0
    holidays: frozenset[int] = frozenset()
    promotions: frozenset[int] = frozenset()
    closed: frozenset[int] = frozenset()  # history only

    def weekday(self, day: int) -> int:
        return (self.first_weekday + day) % 7

    def is_ordinary(self, day: int) -> bool:
        return day not in self.holidays and day not in self.promotions and day not in self.closed


@dataclass(frozen=True)
class Series:
    """Daily units and revenue (minor units) of one category in one store, whole weeks, oldest first."""

    units: Sequence[float]
    revenue: Sequence[float]


@dataclass(frozen=True)
class Week:
    units: float
    low: int
    high: int
    revenue: float
    revenue_low: float
    revenue_high: float


@dataclass(frozen=True)
class StoreEffects:
    holiday_factor: float
    promotion_factor: float
    dispersion: float  # α
    holidays_seen: int
    promotion_days_seen: int


@dataclass
class _Fit:
    """One series fitted on its first `days` days."""

    weekday_factors: list[float]
    # Per week: (sum of ordinary days' units with the weekday removed, number of ordinary days).
    weekly: list[tuple[float, int]]
    price: float

    def level(self, week: int) -> float:
        """The level at the start of `week`, from the RECENT_WEEKS weeks before it."""
        weighted_sum = weighted_count = 0.0
        for age, index in enumerate(range(week - 1, max(week - 1 - RECENT_WEEKS, -1), -1)):
            total, count = self.weekly[index]
            weight = WEIGHT_DECAY**age
            weighted_sum += weight * total
            weighted_count += weight * count
        return weighted_sum / weighted_count if weighted_count else 0.0


def _fit(series: Series, calendar: Calendar, days: int) -> _Fit:
    season_start = max(0, days - SEASON_WEEKS * 7)
    sums, counts = [0.0] * 7, [0] * 7
    for day in range(season_start, days):
        if calendar.is_ordinary(day):
            sums[calendar.weekday(day)] += series.units[day]
            counts[calendar.weekday(day)] += 1
    overall = sum(sums) / sum(counts) if sum(counts) else 0.0
    # A weekday seen on few days is pulled towards the overall mean (one pseudo-day).
    factors = [
        ((sums[weekday] + overall) / (counts[weekday] + 1)) / overall if overall > 0 else 1.0 for weekday in range(7)
    ]
    weekly = []
    for week in range(days // 7):
        total, count = 0.0, 0
        for day in range(week * 7, week * 7 + 7):
            if calendar.is_ordinary(day) and factors[calendar.weekday(day)] > 0:
                total += series.units[day] / factors[calendar.weekday(day)]
                count += 1
        weekly.append((total, count))
    recent = range(max(0, days - RECENT_WEEKS * 7), days)
    units = sum(series.units[day] for day in recent if day not in calendar.closed)
    revenue = sum(series.revenue[day] for day in recent if day not in calendar.closed)
    if units <= 0:
        units, revenue = sum(series.units[:days]), sum(series.revenue[:days])
    return _Fit(weekday_factors=factors, weekly=weekly, price=revenue / units if units > 0 else 0.0)


def _base(fit: _Fit, calendar: Calendar, day: int, level: float) -> float:
    return level * fit.weekday_factors[calendar.weekday(day)]


def _effects(fits: Sequence[tuple[Series, _Fit]], calendar: Calendar, days: int) -> StoreEffects:
    """The store's holiday and promotion factors and its dispersion, from its series' first `days` days."""
    weeks = days // 7
    first_week = 2  # a level needs weeks before it
    sold = {"holiday": 0.0, "promotion": 0.0}
    expected = {"holiday": 0.0, "promotion": 0.0}
    ordinary_day = 0.0
    for series, fit in fits:
        ordinary_day += fit.level(weeks)
        for week in range(first_week, weeks):
            level = fit.level(week)
            for day in range(week * 7, week * 7 + 7):
                kind = "holiday" if day in calendar.holidays else "promotion" if day in calendar.promotions else None
                if kind is not None and day not in calendar.closed:
                    sold[kind] += series.units[day]
                    expected[kind] += _base(fit, calendar, day, level)
    factors = dict.fromkeys(sold, 1.0)
    if ordinary_day > 0:  # else nothing ordinary to compare with: no effect learned
        factors = {kind: (sold[kind] + ordinary_day) / (expected[kind] + ordinary_day) for kind in sold}
    # α by the method of moments on one-week-ahead forecasts: E[(a − μ)² − μ] = α μ².
    excess = squares = 0.0
    for series, fit in fits:
        for week in range(max(first_week, weeks - SEASON_WEEKS), weeks):
            level = fit.level(week)
            mean = actual = 0.0
            for day in range(week * 7, week * 7 + 7):
                if day in calendar.closed:
                    continue
                mean += _base(fit, calendar, day, level) * _factor(calendar, day, factors)
                actual += series.units[day]
            if mean > 0:
                excess += (actual - mean) ** 2 - mean
                squares += mean**2
    return StoreEffects(
        holiday_factor=factors["holiday"],
        promotion_factor=factors["promotion"],
        dispersion=max(0.0, excess / squares) if squares else 0.0,
        holidays_seen=sum(1 for day in calendar.holidays if day < days),
        promotion_days_seen=sum(1 for day in calendar.promotions if day < days and day not in calendar.holidays),
    )


def _factor(calendar: Calendar, day: int, factors: Mapping[str, float]) -> float:
    if day in calendar.holidays:
        return factors["holiday"]
    if day in calendar.promotions:
        return factors["promotion"]
    return 1.0


def widened(dispersion: float, *, ahead: int) -> float:
    """α for a week `ahead` weeks out: α is measured one week ahead, and the level drifts further the further
    out (a random walk's variance grows with its steps; half of α is taken to be drift)."""
    return dispersion * (1 + HORIZON_WIDENING * (ahead - 1))


def quantiles(mean: float, dispersion: float, level: float = INTERVAL_LEVEL) -> tuple[int, int]:
    """The central `level` interval of a negative binomial of this mean and α (Poisson when α = 0)."""
    lower_tail, upper_tail = (1 - level) / 2, 1 - (1 - level) / 2
    if mean <= 0:
        return 0, 0
    if mean > EXACT_QUANTILE_LIMIT:
        spread = math.sqrt(mean + dispersion * mean**2)
        normal = NormalDist(mean, spread)
        return max(0, math.floor(normal.inv_cdf(lower_tail))), math.ceil(normal.inv_cdf(upper_tail))
    if dispersion > 0:
        shape = 1 / dispersion
        probability = math.exp(shape * math.log(shape / (shape + mean)))
    else:
        probability = math.exp(-mean)
    cumulative, count, low = probability, 0, None
    while True:
        if low is None and cumulative >= lower_tail:
            low = count
        if cumulative >= upper_tail:
            return low if low is not None else count, count
        if dispersion > 0:
            probability *= (count + 1 / dispersion) / (count + 1) * mean / (1 / dispersion + mean)
        else:
            probability *= mean / (count + 1)
        count += 1
        cumulative += probability
        if probability < 1e-12 and count > mean:  # what is left of the tail cannot reach the quantile
            return low if low is not None else count, count


@dataclass(frozen=True)
class StoreForecast:
    effects: StoreEffects
    weeks: dict[str, list[Week]]  # per category
    daily_means: dict[str, list[float]] = field(default_factory=dict)


def forecast_store(
    series: Mapping[str, Series], calendar: Calendar, *, days: int, weeks: int = HORIZON_WEEKS
) -> StoreForecast:
    """Fit every category of one store on its first `days` days (whole weeks) and forecast the `weeks` after."""
    fits = {category: _fit(one, calendar, days) for category, one in series.items()}
    effects = _effects([(series[category], fit) for category, fit in fits.items()], calendar, days)
    factors = {"holiday": effects.holiday_factor, "promotion": effects.promotion_factor}
    result, daily = {}, {}
    for category, fit in fits.items():
        level = fit.level(days // 7)
        means = [
            _base(fit, calendar, day, level) * _factor(calendar, day, factors) for day in range(days, days + weeks * 7)
        ]
        daily[category] = means
        rows = []
        for week in range(weeks):
            mean = sum(means[week * 7 : week * 7 + 7])
            low, high = quantiles(mean, widened(effects.dispersion, ahead=week + 1))
            rows.append(
                Week(
                    units=mean,
                    low=low,
                    high=high,
                    revenue=mean * fit.price,
                    revenue_low=low * fit.price,
                    revenue_high=high * fit.price,
                )
            )
        result[category] = rows
    return StoreForecast(effects=effects, weeks=result, daily_means=daily)


@dataclass
class Score:
    """Held-out weekly totals against the forecast and seasonal-naive; sums, so stores add up to the merchant."""

    held_out_weeks: int = 0
    weeks_scored: int = 0
    actual: float = 0.0
    model_error: float = 0.0
    naive_error: float = 0.0
    inside: int = 0
    scale_sum: float = 0.0  # Σ |week − week before| over the training weeks
    scale_count: int = 0

    def add(self, other: "Score") -> None:
        self.held_out_weeks = max(self.held_out_weeks, other.held_out_weeks)
        for name in ("weeks_scored", "actual", "model_error", "naive_error", "inside", "scale_sum", "scale_count"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def wape(self) -> float | None:
        return self.model_error / self.actual if self.actual > 0 else None

    @property
    def naive_wape(self) -> float | None:
        return self.naive_error / self.actual if self.actual > 0 else None

    @property
    def _scale(self) -> float | None:
        scale = self.scale_sum / self.scale_count if self.scale_count else 0.0
        return scale if scale > 0 else None

    @property
    def mase(self) -> float | None:
        scale = self._scale
        return self.model_error / self.weeks_scored / scale if scale and self.weeks_scored else None

    @property
    def naive_mase(self) -> float | None:
        scale = self._scale
        return self.naive_error / self.weeks_scored / scale if scale and self.weeks_scored else None

    @property
    def beats_naive(self) -> bool | None:
        return self.model_error < self.naive_error if self.weeks_scored else None

    @property
    def coverage(self) -> float | None:
        return self.inside / self.weeks_scored if self.weeks_scored else None

    def as_dict(self) -> dict[str, float | int | bool | None]:
        return {
            "held_out_weeks": self.held_out_weeks,
            "weeks_scored": self.weeks_scored,
            "actual": self.actual,
            "model_error": self.model_error,
            "naive_error": self.naive_error,
            "inside": self.inside,
            "scale_sum": self.scale_sum,
            "scale_count": self.scale_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, float | int | bool | None]) -> "Score":
        return cls(**{name: data[name] for name in cls().as_dict() if name in data})  # type: ignore[arg-type]


def seasonal_naive_day(units: Sequence[float], calendar: Calendar, *, day: int, cut: int) -> float:
    """Same weekday in the last training week; if the store was closed that day, the open one before it (the
    rule a merchant would use, given its fairest reading)."""
    candidate = day - 7 * ((day - cut) // 7 + 1)
    while candidate >= 0 and candidate in calendar.closed:
        candidate -= 7
    return units[candidate] if candidate >= 0 else 0.0


def backtest_store(
    series: Mapping[str, Series], calendar: Calendar, *, days: int, held_out_weeks: int = HELD_OUT_WEEKS
) -> Score:
    """Fit on all but the last `held_out_weeks` of `days`, score the weekly totals of those weeks, closed days
    left out of actual, forecast and seasonal-naive alike. Needs RECENT_WEEKS more weeks than it holds out."""
    weeks = days // 7
    if weeks < held_out_weeks + RECENT_WEEKS or not series:
        return Score()
    cut = (weeks - held_out_weeks) * 7
    predicted = forecast_store(series, calendar, days=cut, weeks=held_out_weeks)
    score = Score(held_out_weeks=held_out_weeks)
    for category, one in series.items():
        totals = [sum(one.units[week * 7 : week * 7 + 7]) for week in range(weeks - held_out_weeks)]
        score.scale_sum += sum(abs(totals[week] - totals[week - 1]) for week in range(1, len(totals)))
        score.scale_count += max(0, len(totals) - 1)
        means = predicted.daily_means[category]
        for week in range(held_out_weeks):
            open_days = [day for day in range(cut + week * 7, cut + week * 7 + 7) if day not in calendar.closed]
            if not open_days:
                continue
            actual = sum(one.units[day] for day in open_days)
            model = sum(means[day - cut] for day in open_days)
            naive = sum(seasonal_naive_day(one.units, calendar, day=day, cut=cut) for day in open_days)
            low, high = quantiles(model, widened(predicted.effects.dispersion, ahead=week + 1))
            score.weeks_scored += 1
            score.actual += actual
            score.model_error += abs(actual - model)
            score.naive_error += abs(actual - naive)
            score.inside += low <= actual <= high
    return score


def closed_days(purchases: Sequence[int], first_weekday: int, holidays: frozenset[int]) -> frozenset[int]:
    """Days without any purchase in a store whose weekday averages CLOSED_MIN_EXPECTED or more on the days it
    traded (holidays aside: a holiday is its own case). Where a weekday brings fewer, an empty day may be
    chance, so it is kept as a day of low demand."""
    sums, counts = [0] * 7, [0] * 7
    for day, count in enumerate(purchases):
        if count and day not in holidays:
            sums[(first_weekday + day) % 7] += count
            counts[(first_weekday + day) % 7] += 1
    usual = [sums[weekday] / counts[weekday] if counts[weekday] else 0.0 for weekday in range(7)]
    opened = before_opening(purchases)
    return frozenset(
        day
        for day, count in enumerate(purchases)
        if day >= opened
        and count == 0
        and day not in holidays
        and usual[(first_weekday + day) % 7] >= CLOSED_MIN_EXPECTED
    )


def before_opening(purchases: Sequence[int]) -> int:
    """The number of days before the first purchase: a store not yet trading (or not yet connected) is left out
    of the fitting, and is no closure either."""
    return next((day for day, count in enumerate(purchases) if count), len(purchases))
