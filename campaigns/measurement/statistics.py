"""The statistics behind a campaign report, from per-group sums only (count, sum, sum of squares).

A group is summarised by n, Σx and Σx², which SQL aggregates in one pass however many shoppers
were assigned. The difference of two groups' means gets Welch's standard error
(√(s₁²/n₁ + s₂²/n₂), no equal-variance assumption) and a normal-approximation interval. Revenue
per shopper is very skewed (most spend nothing in the window), so the interval reaches its nominal
95 % once the held-out group has several hundred shoppers (tests/campaigns/measurement simulate
10,000-shopper campaigns: coverage 0.93-0.95); at those sizes Student's t and the normal quantile
differ in the third decimal. The standard library's `statistics.NormalDist` gives the quantiles, so
no numeric package is needed.

A proportion (did the shopper convert?) is a mean of 0/1 values, so its Σx² equals Σx and the same
arithmetic gives the interval of a difference in conversion rates.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist

CONFIDENCE = 0.95
POWER = 0.80
# Below this many shoppers in either group the normal approximation is not trusted.
MINIMUM_GROUP_SIZE = 30


def _z(probability: float) -> float:
    return NormalDist().inv_cdf(probability)


@dataclass(frozen=True)
class GroupSums:
    """n shoppers, Σx and Σx² of one value per shopper (revenue in minor units, or 0/1 converted)."""

    count: int
    total: int | Decimal
    squares: int | Decimal

    @property
    def mean(self) -> float | None:
        return float(self.total) / self.count if self.count else None

    @property
    def variance(self) -> float | None:
        """The sample variance (n − 1 in the denominator); None below two shoppers."""
        if self.count < 2:
            return None
        total, squares = Decimal(self.total), Decimal(self.squares)
        spread = squares - total * total / self.count
        return max(0.0, float(spread / (self.count - 1)))

    def __add__(self, other: "GroupSums") -> "GroupSums":
        return GroupSums(self.count + other.count, self.total + other.total, self.squares + other.squares)


@dataclass(frozen=True)
class Difference:
    """treatment mean − control mean, and its confidence interval."""

    estimate: float
    low: float
    high: float
    standard_error: float
    confidence: float

    @property
    def is_significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0

    def scaled(self, factor: float) -> "Difference":
        low, high = sorted((self.low * factor, self.high * factor))
        return Difference(self.estimate * factor, low, high, self.standard_error * abs(factor), self.confidence)


def difference_of_means(
    treatment: GroupSums, control: GroupSums, *, confidence: float = CONFIDENCE
) -> Difference | None:
    """Welch's difference of means with a normal-approximation interval; None when a group has < 2 shoppers."""
    treatment_variance, control_variance = treatment.variance, control.variance
    if treatment_variance is None or control_variance is None:
        return None
    standard_error = math.sqrt(treatment_variance / treatment.count + control_variance / control.count)
    estimate = float(treatment.total) / treatment.count - float(control.total) / control.count
    margin = _z(0.5 + confidence / 2) * standard_error
    return Difference(estimate, estimate - margin, estimate + margin, standard_error, confidence)


def too_small(*groups: GroupSums) -> bool:
    return any(group.count < MINIMUM_GROUP_SIZE for group in groups)


# Before launch: how big a lift can this audience show?


def minimum_detectable_difference(
    *, treated: int, held_out: int, stdev: float, confidence: float = CONFIDENCE, power: float = POWER
) -> float | None:
    """The smallest true difference in means that a two-sided test at `confidence` finds with
    probability `power`, for these group sizes and a per-shopper standard deviation."""
    if treated < 1 or held_out < 1:
        return None
    return (_z(0.5 + confidence / 2) + _z(power)) * stdev * math.sqrt(1 / treated + 1 / held_out)


def required_audience(
    *,
    baseline_rate: float,
    relative_lift: float,
    holdout_fraction: float,
    confidence: float = CONFIDENCE,
    power: float = POWER,
) -> int | None:
    """Shoppers needed in all (treated + held out) to detect a conversion rate moving from
    `baseline_rate` to `baseline_rate × (1 + relative_lift)`, with `holdout_fraction` held out."""
    if not (0 < baseline_rate < 1) or relative_lift <= 0 or not (0 < holdout_fraction < 1):
        return None
    treated_rate = min(baseline_rate * (1 + relative_lift), 0.999)
    difference = treated_rate - baseline_rate
    variance_sum = (
        treated_rate * (1 - treated_rate) / (1 - holdout_fraction)
        + baseline_rate * (1 - baseline_rate) / holdout_fraction
    )
    total = (_z(0.5 + confidence / 2) + _z(power)) ** 2 * variance_sum / difference**2
    return math.ceil(total)


@dataclass(frozen=True)
class SampleHint:
    audience: int
    treated: int
    held_out: int
    baseline_rate: float
    detectable_points: float | None  # percentage points of conversion rate
    needed_for_relative_lift: int | None
    relative_lift: float

    @property
    def is_enough(self) -> bool:
        return self.needed_for_relative_lift is not None and self.audience >= self.needed_for_relative_lift

    @property
    def sentence(self) -> str:
        if self.held_out < 1 or self.treated < 1:
            return "With no held-out shoppers the report cannot measure this campaign's lift."
        detectable = (
            f"it can detect a change in conversion of about {self.detectable_points:.1f} points "
            f"(from a {self.baseline_rate:.0%} baseline)"
            if self.detectable_points is not None
            else "it cannot estimate a detectable change"
        )
        need = (
            f" To detect a {self.relative_lift:.0%} relative lift, about {self.needed_for_relative_lift:,} shoppers "
            f"are needed{' — this audience is enough' if self.is_enough else ''}."
            if self.needed_for_relative_lift is not None
            else ""
        )
        return f"With {self.audience:,} shoppers ({self.held_out:,} held out), {detectable} 80 % of the time.{need}"


def sample_hint(*, audience: int, holdout_percent: int, baseline_rate: float, relative_lift: float = 0.2) -> SampleHint:
    held_out = round(audience * holdout_percent / 100)
    treated = audience - held_out
    rate = min(max(baseline_rate, 0.01), 0.99)
    detectable = minimum_detectable_difference(treated=treated, held_out=held_out, stdev=math.sqrt(rate * (1 - rate)))
    return SampleHint(
        audience=audience,
        treated=treated,
        held_out=held_out,
        baseline_rate=rate,
        detectable_points=detectable * 100 if detectable is not None else None,
        needed_for_relative_lift=required_audience(
            baseline_rate=rate, relative_lift=relative_lift, holdout_fraction=holdout_percent / 100
        )
        if 0 < holdout_percent < 100
        else None,
        relative_lift=relative_lift,
    )
