"""The loyalty ROI's comparison, checked by seeded simulation: shoppers who join buy twice as often as those
who never do, so members against every other shopper claim a lift that is not there; members of a month
against later joiners, matched on what they did before (`core.statistics.matched_difference`), do not."""

import math
import random

import pytest

from core import statistics
from core.statistics import GroupSums

MEAN_BASKET = 5000


def _poisson(rng: random.Random, mean: float) -> int:
    threshold, count, product = math.exp(-mean), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _program(rng: random.Random, *, members: int, later: int, others: int, lift: float):
    """One program's month: (per-stratum (members, later joiners) sums, (members, every non-member) sums, the
    true added spend per member). Joiners buy twice as often as other shoppers; membership multiplies a
    member's rate by 1 + lift; each shopper's spend before (three months) is what the strata see."""
    people = []
    for kind, count in (("member", members), ("later", later), ("other", others)):
        for _ in range(count):
            rate = rng.gammavariate(0.8, 0.5) * (2.0 if kind != "other" else 1.0)  # purchases a month
            level = MEAN_BASKET * rng.lognormvariate(-0.18, 0.6)
            store = rng.randrange(3)

            def basket(level=level):
                return max(1, round(level * rng.lognormvariate(-0.08, 0.4)))

            before = [basket() for _ in range(_poisson(rng, rate * 3))]
            after = sum(basket() for _ in range(_poisson(rng, rate * ((1 + lift) if kind == "member" else 1.0))))
            people.append((kind, rate * level, store, sum(before), len(before), after))
    spenders = sorted(before for kind, _mean, _store, before, _visits, _after in people if before and kind != "other")
    quartiles = [spenders[len(spenders) * k // 4] for k in (1, 2, 3)]
    strata: dict[tuple[int, int, int], dict[bool, list[int]]] = {}
    unmatched: dict[bool, list[int]] = {True: [], False: []}
    for kind, _mean, store, before, visits, after in people:
        unmatched[kind == "member"].append(after)
        if kind != "other":
            band = 0 if not before else 1 + sum(before > quartile for quartile in quartiles)
            strata.setdefault((store, band, min(visits, 4)), {True: [], False: []})[kind == "member"].append(after)
    truth = lift * sum(mean for kind, mean, *_rest in people if kind == "member") / members
    return (
        [(GroupSums.of(group[True]), GroupSums.of(group[False])) for group in strata.values()],
        (GroupSums.of(unmatched[True]), GroupSums.of(unmatched[False])),
        truth,
    )


@pytest.fixture(scope="module")
def simulated():
    """Per true lift (none, +30 %), 150 programs of 100 members, 300 later joiners and 600 other shoppers."""
    outcomes = {}
    for seed, lift in enumerate((0.0, 0.3)):
        rng = random.Random(1616 + seed)
        rows = []
        for _ in range(150):
            strata, (members, everyone_else), truth = _program(rng, members=100, later=300, others=600, lift=lift)
            rows.append(
                (statistics.matched_difference(strata), statistics.difference_of_means(members, everyone_else), truth)
            )
        outcomes[lift] = rows
    return outcomes


def test_the_matched_interval_covers_the_true_added_spend_in_93_to_97_percent_of_programs(simulated):
    judged = covered = 0
    for rows in simulated.values():
        for matched, _unmatched, truth in rows:
            if matched is None:
                continue
            judged += 1
            covered += matched.difference.low <= truth <= matched.difference.high
    assert judged >= 280
    assert 0.93 <= covered / judged <= 0.98, covered / judged


def test_without_a_true_lift_the_matched_comparison_claims_one_at_most_5_percent_of_the_time(simulated):
    rows = [matched for matched, _unmatched, _truth in simulated[0.0] if matched is not None]
    claims = sum(matched.difference.is_significant for matched in rows) / len(rows)
    assert claims <= 0.05, claims


def test_members_against_every_other_shopper_would_claim_a_lift_that_is_not_there(simulated):
    # why the page compares with later joiners: joiners buy more whatever the program does
    rows = [unmatched for _matched, unmatched, _truth in simulated[0.0] if unmatched is not None]
    claims = sum(unmatched.is_significant and unmatched.estimate > 0 for unmatched in rows) / len(rows)
    # (42–49 % of these programs over three seeds; more with more shoppers)
    assert claims > 0.3, claims


def test_members_without_a_comparable_shopper_are_left_out_and_counted():
    members = GroupSums.of([3000] * 12 + [0] * 8)
    strata = [
        (members, GroupSums.of([1000] * 12 + [0] * 18)),
        (GroupSums.of([9000, 0, 0]), GroupSums.of([])),  # nobody to compare with
    ]
    result = statistics.matched_difference(strata)
    assert (result.matched, result.unmatched) == (20, 3)
    assert result.difference.estimate == pytest.approx(3000 * 12 / 20 - 1000 * 12 / 30)
