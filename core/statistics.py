"""The statistics behind every lift Storeloop shows (campaign reports, the program holdout, loyalty ROI), from
per-group power sums (n, buyers, Σx, Σx², Σx³).

SQL aggregates a group's sums in one pass however many shoppers were assigned, so the report never
reads per-shopper rows. Revenue per shopper is zero-inflated and skewed (most assigned shoppers buy
nothing in the window; a few spend a lot), and a small merchant's held-out group has a handful of
buyers. Three rules follow.

1. **No judgement without buyers.** Each group needs `MINIMUM_BUYERS` shoppers who bought, and
   some variation, before any interval is given; until then the report says "not enough data yet"
   and how many more shoppers would settle it (`shoppers_to_settle`).
2. **A standard error that does not collapse when the held-out group misses its big spenders.**
   Welch's √(s₁²/n₁ + s₂²/n₂) is dominated by the small held-out group, whose variance is badly
   underestimated exactly when it happened to draw no large basket: the estimate then looks high
   and precise, which is why Welch over-claimed rises. We also compute each group's variance
   from its own conversion rate and the basket moments of both groups' buyers together
   (v = p·E[b²] − p²·E[b]², the variance of a zero-inflated spend), and use the larger of the two
   standard errors. For conversion (values 0/1) both are the same.
3. **An interval that bends with the skew.** Hall's (1992) transformation of the studentised
   difference, g(t) = t + A·t²/3 + A²·t³/27 + A/6 with A the skewness of the estimate
   ((m₃₁/n₁² − m₃₂/n₂²)/SE³), is inverted in closed form, so the interval reaches further on the
   side the skew points to.

Chosen by simulation (1,000 campaigns per case, 200 for the bootstrap; 10 % held out, 10 % of held-out shoppers buying,
true conversion lift −2, 0 or +2 points; spend normal, exponential, or log-normal with σ = 1):

| method                                   | coverage, 5,000 shoppers | A/A "significant" |
|------------------------------------------|--------------------------|-------------------|
| Welch, normal quantile (before)          | 0.89–0.96                | 4.0–9.7 %         |
| percentile / BCa bootstrap (B = 400)     | 0.91–0.94 (2,000 shoppers) | 6.5–9 %         |
| Hall's transformation, Welch's SE        | 0.92–0.96                | 4.3–7.2 %         |
| Hall's transformation, the larger SE     | 0.94–0.97                | 3.0–6.1 %         |

The bootstrap does no better than the normal interval here (it resamples the same held-out group
that lacks the big spenders) and would need every shopper's revenue; the chosen method needs five
sums per group and is the same on every page load. With 20 held-out buyers (2,000 shoppers) it
covers 0.95–0.97 and says "significant" in 3–4.5 % of A/A campaigns; below the buyer minimum it
gives no interval at all. tests/campaigns/measurement/test_statistics.py keeps these figures in
check with a few hundred seeded campaigns.

4. **Less noise from what shoppers spent before** (CUPED, `adjusted_difference_of_means`): each
   shopper's outcome is adjusted by θ × (their spend over the 90 days before − the mean), θ = Cov/Var
   within the groups. The campaign cannot move spend before it, so the adjusted difference estimates the
   same lift with a variance smaller by the share ρ² that spend explains: the same answer from ρ² fewer
   shoppers. The interval is the one above on the adjusted sums, plus θ's own error (as in the analysis
   of covariance). Simulated (1,000 shoppers, 200 held out, 15 % converting, spend before correlated with
   spend after, 4,500 A/A campaigns in three seeded runs): "significant" 3.4–5.5 % of the time for
   revenue (unadjusted: 3.5–5.4 %) and 4.8–5.2 % for conversion, the nominal 5 %, with ρ² ≈ 0.1;
   tests/campaigns/measurement/test_cuped.py checks coverage (93–97 %) on 600 campaigns and A/A claims
   (≤ 5 %) on 300 of them.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from statistics import NormalDist

CONFIDENCE = 0.95
POWER = 0.80
# Below this many buyers in either group no interval is given (and no lift is judged).
MINIMUM_BUYERS = 10


def _z(probability: float) -> float:
    return NormalDist().inv_cdf(probability)


def _cube_root(value: float) -> float:
    return math.copysign(abs(value) ** (1 / 3), value)


@dataclass(frozen=True)
class GroupSums:
    """n shoppers, how many of them have a value other than zero (the buyers), and Σx, Σx², Σx³ of
    one value per shopper (revenue in minor units, or 1/0 for converted or not)."""

    count: int
    buyers: int
    total: int | Decimal
    squares: int | Decimal
    cubes: int | Decimal

    @classmethod
    def of(cls, values: "list[int]") -> "GroupSums":
        return cls(
            len(values),
            sum(1 for value in values if value),
            sum(values),
            sum(value * value for value in values),
            sum(value**3 for value in values),
        )

    @classmethod
    def conversions(cls, count: int, converted: int) -> "GroupSums":
        """A 0/1 value per shopper: every power sum is the number who converted."""
        return cls(count, converted, converted, converted, converted)

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

    @property
    def third_moment(self) -> float | None:
        """The central third moment (n in the denominator); None for an empty group."""
        if not self.count:
            return None
        n = Decimal(self.count)
        mean = Decimal(self.total) / n
        return float(Decimal(self.cubes) / n - 3 * mean * Decimal(self.squares) / n + 2 * mean**3)

    def __add__(self, other: "GroupSums") -> "GroupSums":
        return GroupSums(
            self.count + other.count,
            self.buyers + other.buyers,
            self.total + other.total,
            self.squares + other.squares,
            self.cubes + other.cubes,
        )


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


def is_settled(treatment: GroupSums, control: GroupSums) -> bool:
    """Enough buyers in both groups, and some shoppers who did not buy, for an interval to hold."""
    return all(
        group.buyers >= MINIMUM_BUYERS and group.count >= 2 and (group.variance or 0) > 0
        for group in (treatment, control)
    )


def _zero_inflated_variance(group: GroupSums, basket_mean: float, basket_square: float) -> float:
    """The variance of the group's mean if its shoppers buy at its own rate and spend like every buyer."""
    rate = group.buyers / group.count
    return max(0.0, rate * basket_square - rate * rate * basket_mean * basket_mean) / (group.count - 1)


@dataclass(frozen=True)
class Reach:
    """How far the report's interval reaches around its estimate: [estimate − below, estimate + above]."""

    standard_error: float
    below: float
    above: float


def _modelled_variance(treatment: GroupSums, control: GroupSums) -> float:
    """The variance of the difference of means if each group buys at its own rate and every buyer spends
    like the buyers of both groups together (rule 2 of the module docstring)."""
    buyers = treatment.buyers + control.buyers
    basket_mean = float(Decimal(treatment.total + control.total) / buyers)
    basket_square = float(Decimal(treatment.squares + control.squares) / buyers)
    return _zero_inflated_variance(treatment, basket_mean, basket_square) + _zero_inflated_variance(
        control, basket_mean, basket_square
    )


def interval_reach(
    treatment: GroupSums,
    control: GroupSums,
    *,
    confidence: float = CONFIDENCE,
    modelled_variance: float | None = None,
    extra_variance: float = 0.0,
) -> Reach:
    """The standard error and the skew-corrected reach of the interval for these groups (see the module
    docstring). The report's interval and the builder's detectable lift both come from here; the caller
    checks that the groups are settled. Group sums may be expected rather than observed (fractional).
    `modelled_variance` replaces the zero-inflated model's variance and `extra_variance` adds to the larger
    of the two (both for outcomes adjusted by CUPED)."""
    treatment_variance, control_variance = treatment.variance or 0.0, control.variance or 0.0
    welch = treatment_variance / treatment.count + control_variance / control.count
    modelled = _modelled_variance(treatment, control) if modelled_variance is None else modelled_variance
    standard_error = math.sqrt(max(welch, modelled) + extra_variance)
    skewness = (
        (treatment.third_moment or 0.0) / treatment.count**2 - (control.third_moment or 0.0) / control.count**2
    ) / standard_error**3
    quantile = _z(0.5 + confidence / 2)

    def untransformed(value: float) -> float:
        # The inverse of Hall's g(t) = t + A·t²/3 + A²·t³/27 + A/6 = ((1 + A·t/3)³ − 1)/A + A/6.
        if abs(skewness) < 1e-9:
            return value
        return 3 / skewness * (_cube_root(1 + skewness * (value - skewness / 6)) - 1)

    return Reach(standard_error, standard_error * untransformed(quantile), -standard_error * untransformed(-quantile))


def difference_of_means(
    treatment: GroupSums, control: GroupSums, *, confidence: float = CONFIDENCE
) -> Difference | None:
    """The difference of the groups' means with a skew-corrected interval (see the module docstring);
    None until both groups are settled (`is_settled`)."""
    if not is_settled(treatment, control):
        return None
    reach = interval_reach(treatment, control, confidence=confidence)
    estimate = float(treatment.total) / treatment.count - float(control.total) / control.count
    return Difference(estimate, estimate - reach.below, estimate + reach.above, reach.standard_error, confidence)


# Variance reduction with each shopper's spend before the campaign (CUPED: Deng, Xu, Kohavi & Walker, 2013)


@dataclass(frozen=True)
class PairedSums:
    """One group's sums of an outcome y (`outcome`: n, buyers, Σy, Σy², Σy³) and of a covariate x measured
    before the campaign (each shopper's spend over the lookback), with the cross sums the adjustment needs."""

    outcome: GroupSums
    x: int | Decimal  # Σx
    xx: int | Decimal  # Σx²
    xxx: int | Decimal  # Σx³
    xy: int | Decimal  # Σxy
    xxy: int | Decimal  # Σx²y
    xyy: int | Decimal  # Σxy²

    @classmethod
    def of(cls, pairs: "list[tuple[int, int]]") -> "PairedSums":
        """From (x, y) per shopper."""
        return cls(
            GroupSums.of([y for _x, y in pairs]),
            sum(x for x, _y in pairs),
            sum(x * x for x, _y in pairs),
            sum(x**3 for x, _y in pairs),
            sum(x * y for x, y in pairs),
            sum(x * x * y for x, y in pairs),
            sum(x * y * y for x, y in pairs),
        )

    @classmethod
    def empty(cls) -> "PairedSums":
        return cls(GroupSums(0, 0, 0, 0, 0), 0, 0, 0, 0, 0, 0)

    def __add__(self, other: "PairedSums") -> "PairedSums":
        return PairedSums(
            self.outcome + other.outcome,
            self.x + other.x,
            self.xx + other.xx,
            self.xxx + other.xxx,
            self.xy + other.xy,
            self.xxy + other.xxy,
            self.xyy + other.xyy,
        )

    def adjusted(self, theta: Decimal) -> GroupSums:
        """The sums of z = y − θx: the adjusted outcome, but for a shift shared by both groups (+θ·x̄), which
        leaves their difference, variances and skew as they are."""
        y = self.outcome
        total = Decimal(y.total) - theta * Decimal(self.x)
        squares = Decimal(y.squares) - 2 * theta * Decimal(self.xy) + theta * theta * Decimal(self.xx)
        cubes = (
            Decimal(y.cubes)
            - 3 * theta * Decimal(self.xyy)
            + 3 * theta * theta * Decimal(self.xxy)
            - theta**3 * Decimal(self.xxx)
        )
        return GroupSums(y.count, y.buyers, total, squares, cubes)


@dataclass(frozen=True)
class AdjustedDifference:
    """The difference of means adjusted by CUPED, and what the adjustment bought."""

    difference: Difference
    theta: float
    # The share of the outcome's variance the pre-period spend explains: the same interval width needs this
    # share fewer shoppers than without the adjustment.
    variance_reduction: float

    @property
    def fewer_shoppers_percent(self) -> int:
        return math.floor(100 * self.variance_reduction)


def adjusted_difference_of_means(
    treatment: PairedSums, control: PairedSums, *, confidence: float = CONFIDENCE
) -> AdjustedDifference | None:
    """The difference of the groups' means of y − θ(x − x̄), with θ = Cov(x, y) / Var(x) within the groups
    (x is measured before the campaign, so the campaign cannot move it and the adjusted difference estimates
    the same lift). The interval is the report's (`interval_reach`) on the adjusted sums, its zero-inflated
    floor scaled by 1 − ρ²; no interval until the unadjusted groups are settled (`is_settled`)."""
    if not is_settled(treatment.outcome, control.outcome):
        return None
    groups = (treatment, control)
    x_spread = sum((Decimal(g.xx) - Decimal(g.x) ** 2 / g.outcome.count for g in groups), Decimal(0))
    y_spread = sum(
        (Decimal(g.outcome.squares) - Decimal(g.outcome.total) ** 2 / g.outcome.count for g in groups), Decimal(0)
    )
    cross = sum((Decimal(g.xy) - Decimal(g.x) * Decimal(g.outcome.total) / g.outcome.count for g in groups), Decimal(0))
    explained = 0.0
    if x_spread <= 0 or y_spread <= 0:
        theta, reduction, theta_variance = Decimal(0), 0.0, 0.0
    else:
        theta = cross / x_spread
        reduction = min(1.0, float(cross * cross / (x_spread * y_spread)))
        shoppers = treatment.outcome.count + control.outcome.count
        residual = float(y_spread - cross * cross / x_spread) / max(1, shoppers - 3)
        # θ is estimated, not known: as in the analysis of covariance, the difference of the groups' mean x
        # carries θ's own error into the estimate (zero when the groups' pre-period spend is alike).
        theta_variance = residual / float(x_spread)
        # The floor drops by the variance x explains (an amount, not a share: where the model's variance is
        # above the observed one, the adjustment removes no more than it explains).
        explained = (
            float(cross * cross / x_spread)
            / max(1, shoppers - 2)
            * sum(1 / (group.outcome.count - 1) for group in groups)
        )
    adjusted_treatment, adjusted_control = treatment.adjusted(theta), control.adjusted(theta)
    mean_x_gap = float(Decimal(treatment.x) / treatment.outcome.count - Decimal(control.x) / control.outcome.count)
    reach = interval_reach(
        adjusted_treatment,
        adjusted_control,
        confidence=confidence,
        modelled_variance=max(0.0, _modelled_variance(treatment.outcome, control.outcome) - explained),
        extra_variance=mean_x_gap * mean_x_gap * theta_variance,
    )
    estimate = float(adjusted_treatment.total) / treatment.outcome.count - float(adjusted_control.total) / (
        control.outcome.count
    )
    difference = Difference(estimate, estimate - reach.below, estimate + reach.above, reach.standard_error, confidence)
    return AdjustedDifference(difference, float(theta), reduction)


def shoppers_to_settle(treatment: GroupSums, control: GroupSums) -> int | None:
    """About how many more shoppers, split as now, would give both groups `MINIMUM_BUYERS` buyers;
    0 when they have them, None when nobody has bought yet (there is no rate to go by)."""
    shoppers = treatment.count + control.count
    buyers = treatment.buyers + control.buyers
    if not buyers or not treatment.count or not control.count:
        return None
    needed = Fraction(0)
    for group in (treatment, control):
        rate = Fraction(group.buyers, group.count) if group.buyers else Fraction(buyers, shoppers)
        share = Fraction(group.count, shoppers)
        needed = max(needed, MINIMUM_BUYERS / rate / share)
    return max(0, math.ceil(needed) - shoppers)


# Before launch: how big a lift can this audience show?


def _expected_conversions(shoppers: int, rate: float) -> GroupSums:
    """A group of `shoppers` converting at exactly `rate` (fractional counts: an expectation, not a sample)."""
    converted = Decimal(shoppers) * Decimal(rate)
    return GroupSums(shoppers, max(1, round(converted)), converted, converted, converted)


def detectable_conversion_difference(
    *, treated: int, held_out: int, baseline_rate: float, confidence: float = CONFIDENCE, power: float = POWER
) -> float | None:
    """The smallest rise in conversion rate (0..1) the report finds significant with probability `power`.

    The report's own interval (`interval_reach`) decides: at a true rise d, the estimate falls within
    z_power standard errors below d with that probability, so d is where the interval for groups converting
    at exactly baseline + d and baseline reaches down to z_power standard errors above zero. Solved by
    fixed-point iteration (the standard error and the skew change with d); None without both groups."""
    if treated < 2 or held_out < 2 or not 0 < baseline_rate < 1:
        return None
    control = _expected_conversions(held_out, baseline_rate)
    difference = 0.0
    for _ in range(50):
        treatment = _expected_conversions(treated, min(baseline_rate + difference, 0.999))
        reach = interval_reach(treatment, control, confidence=confidence)
        following = reach.below + _z(power) * reach.standard_error
        if abs(following - difference) < 1e-9:
            break
        difference = following
    return difference


def required_audience(
    *,
    baseline_rate: float,
    relative_lift: float,
    holdout_fraction: float,
    confidence: float = CONFIDENCE,
    power: float = POWER,
) -> int | None:
    """Shoppers needed in all (treated + held out) for the report to find a conversion rate moving from
    `baseline_rate` to `baseline_rate × (1 + relative_lift)` with probability `power`, `holdout_fraction`
    held out: the smallest audience whose `detectable_conversion_difference` is that rise."""
    if not (0 < baseline_rate < 1) or relative_lift <= 0 or not (0 < holdout_fraction < 1):
        return None
    target = min(baseline_rate * (1 + relative_lift), 0.999) - baseline_rate

    def detectable(audience: int) -> float:
        held_out = max(2, round(audience * holdout_fraction))
        found = detectable_conversion_difference(
            treated=max(2, audience - held_out),
            held_out=held_out,
            baseline_rate=baseline_rate,
            confidence=confidence,
            power=power,
        )
        return found if found is not None else math.inf

    low, high = 4, 8
    while detectable(high) > target:
        low, high = high, high * 2
        if high > 10**9:
            return None
    while low < high:  # the smallest audience that detects the target rise
        middle = (low + high) // 2
        if detectable(middle) <= target:
            high = middle
        else:
            low = middle + 1
    return high


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
    def expected_held_out_buyers(self) -> float:
        return self.held_out * self.baseline_rate

    @property
    def audience_to_settle(self) -> int | None:
        """Shoppers needed for the held-out group to have the report's minimum of buyers, at the baseline rate."""
        if self.audience < 1 or self.held_out < 1:
            return None
        # A hair below the exact figure, so that floating-point dust does not add a shopper.
        return math.ceil(MINIMUM_BUYERS * self.audience / (self.baseline_rate * self.held_out) - 1e-9)

    @property
    def can_settle(self) -> bool:
        """Whether the report can be expected to judge the lift at all (the same rule as the report's)."""
        return self.expected_held_out_buyers >= MINIMUM_BUYERS

    @property
    def is_enough(self) -> bool:
        return (
            self.can_settle
            and self.needed_for_relative_lift is not None
            and self.audience >= self.needed_for_relative_lift
        )

    @property
    def sentence(self) -> str:
        if self.held_out < 1 or self.treated < 1:
            return "With no held-out shoppers the report cannot measure this campaign's lift."
        if not self.can_settle:
            return (
                f"With {self.audience:,} shoppers ({self.held_out:,} held out), about "
                f"{self.expected_held_out_buyers:.0f} held-out shoppers can be expected to buy: too few to judge a "
                f"lift (the report needs {MINIMUM_BUYERS} buyers in each group) and the report will say it does not "
                f"have enough data. About {self.audience_to_settle:,} shoppers would give it enough."
            )
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
        return (
            f"With {self.audience:,} shoppers ({self.held_out:,} held out), {detectable} 80 % of the time, before "
            f"the report's adjustment for what shoppers spent before the campaign, which usually narrows it.{need}"
        )


def sample_hint(*, audience: int, holdout_percent: int, baseline_rate: float, relative_lift: float = 0.2) -> SampleHint:
    held_out = round(audience * holdout_percent / 100)
    treated = audience - held_out
    rate = min(max(baseline_rate, 0.01), 0.99)
    detectable = detectable_conversion_difference(treated=treated, held_out=held_out, baseline_rate=rate)
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


# Intervals that stay valid when the report is opened every day (a confidence sequence)
#
# A 95 % interval holds for one look decided in advance. A merchant who opens the report every day and
# acts the first time it excludes zero is wrong far more often than 5 % of the time (with 14 daily looks
# at an A/A campaign, about a quarter of the time). Before the planned end the report therefore widens
# its interval into a confidence sequence: a band that covers the truth at every look at once with
# probability 95 %, so looking daily, or hourly, costs nothing.
#
# The band is Robbins' normal mixture boundary, as given by Howard, Ramdas, McAuliffe & Sekhon,
# "Time-uniform, nonparametric, nonasymptotic confidence sequences", Annals of Statistics 49(2), 2021
# (eq. 14 and Proposition 6), used with the report's estimate and standard error as in the asymptotic
# confidence sequences of Waudby-Smith, Arnold, Wu, Ramdas & others, "Time-uniform central limit theory
# and asymptotic confidence sequences", Annals of Statistics 52(6), 2024. For a statistic S that grows like a
# Gaussian random walk with variance V, mixing exp(λS − λ²V/2) over λ ~ N(0, τ²) gives a martingale;
# by Ville's inequality it passes 1/α with probability at most α, at any time. Solved for S:
#
#     |S| ≤ √V · √((1 + 1/x) · log((1 + x) / α²)),    x = τ²V.
#
# The report's difference of means is S/n, so its band is estimate ± SE · √((1 + 1/x)·log((1 + x)/α²)).
# x measures how far the campaign has come: we take V in proportion to the share of the planned period
# that has passed (the calendar as the information clock, as in Lan & DeMets' spending functions), and
# τ so that the band is narrowest at the planned end (x = −2·log α + log(1 − 2·log α), Waudby-Smith et
# al. §2.4): there it is about 1.55 × the fixed 95 % interval, earlier it is wider still. Each group
# still needs `MINIMUM_BUYERS` buyers first.
#
# The boundary holds at every instant for a Gaussian walk; the report's statistic is one only
# approximately (estimated variance, the calendar standing in for information), so the claim rests on
# simulation. tests/campaigns/measurement/test_sequential.py simulates broadcasts whose purchases come
# early or late in the window and a campaign taking shoppers every day, each looked at every day until its
# planned end (3 × 120 A/A campaigns, three seeds each): "significant" on revenue or conversion at any look
# in 0–2.5 % of them, where the fixed 95 % interval looked at daily says it in 16–30 %; with a true lift, the
# bands of all looks together covered the true lift-so-far in 99–100 % of campaigns. The band is
# conservative (it pays for looks at every instant; merchants look at most daily).


def _mixture_width(x: float, alpha: float) -> float:
    """The band's half-width in standard errors at intrinsic time x > 0."""
    return math.sqrt((1 + 1 / x) * math.log((1 + x) / (alpha * alpha)))


def sequence_tuning(alpha: float) -> float:
    """The intrinsic time at which the band is narrowest (Waudby-Smith et al. 2024, §2.4)."""
    return -2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))


def always_valid(difference: Difference, *, elapsed_share: float) -> Difference:
    """The confidence sequence's band around the report's estimate, `elapsed_share` of the planned period
    having passed (above 1 for a campaign without a planned end that runs on; the band is very wide near 0)."""
    alpha = 1 - difference.confidence
    x = sequence_tuning(alpha) * max(elapsed_share, 1e-6)
    reach = difference.standard_error * _mixture_width(x, alpha)
    estimate = difference.estimate
    return Difference(estimate, estimate - reach, estimate + reach, difference.standard_error, difference.confidence)


# Matched comparisons (loyalty members against comparable non-members)
#
# Members are not a random draw: shoppers who join spend more to begin with. Coarsened exact matching
# (Iacus, King & Porro, "Causal inference without balance checking: coarsened exact matching", Political
# Analysis 20(1), 2012) compares them within strata of what they did before joining (home store, band of
# spend, number of visits); the effect on members (ATT) is the members-weighted average of the strata's
# differences, Σ (n₁ₛ/N₁)·(ȳ₁ₛ − ȳ₀ₛ), over strata holding both groups (members of a stratum without any
# non-member are left out and counted). Its variance is Σ (n₁ₛ/N₁)²·(s₁ₛ²/n₁ₛ + s₀ₛ²/n₀ₛ); a stratum's
# variance is the larger of its group's own and that of the stratum's two groups together, which does not
# collapse when a small group happened to miss its big spenders (rule 2 above). The interval is normal.
# tests/loyalty/test_roi_statistics.py simulates members of a month against later joiners (skewed spend,
# joiners buying twice as often as other shoppers, 100 members and 300 later joiners, 150 programs per case,
# three seeds): coverage 95–98 % (a little conservative) and "significant" without a true lift in 2.7–3.3 %,
# where members against every other shopper claim a lift in 42–49 % of the same programs.


@dataclass(frozen=True)
class MatchedDifference:
    difference: Difference
    matched: int  # treated shoppers in strata that also hold controls
    unmatched: int  # treated shoppers left out: no control shared their stratum


def _stratum_variance(group: GroupSums, both: GroupSums) -> float:
    own = group.variance if group.count >= 2 else None
    pooled = both.variance or 0.0
    return max(own or 0.0, pooled)


def matched_difference(
    strata: "list[tuple[GroupSums, GroupSums]]", *, confidence: float = CONFIDENCE
) -> MatchedDifference | None:
    """The average effect on the treated over strata of (treated, control) sums (see above); None until both
    groups, over the matched strata, have `MINIMUM_BUYERS` buyers."""
    matched = [(treated, control) for treated, control in strata if treated.count and control.count]
    unmatched = sum(treated.count for treated, control in strata if treated.count and not control.count)
    treated_total = sum(treated.count for treated, _control in matched)
    if not treated_total:
        return None
    treated_buyers = sum(treated.buyers for treated, _control in matched)
    control_buyers = sum(control.buyers for _treated, control in matched)
    if treated_buyers < MINIMUM_BUYERS or control_buyers < MINIMUM_BUYERS:
        return None
    estimate = variance = 0.0
    for treated, control in matched:
        weight = treated.count / treated_total
        both = treated + control
        estimate += weight * (float(treated.total) / treated.count - float(control.total) / control.count)
        variance += (
            weight
            * weight
            * (_stratum_variance(treated, both) / treated.count + _stratum_variance(control, both) / control.count)
        )
    if variance <= 0:
        return None
    reach = _z(0.5 + confidence / 2) * math.sqrt(variance)
    return MatchedDifference(
        Difference(estimate, estimate - reach, estimate + reach, math.sqrt(variance), confidence),
        matched=treated_total,
        unmatched=unmatched,
    )
