"""The hourly traffic forecast and its calendar: closed days left out, public holidays learned and marked."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import reverse

from insights import forecast, selectors, services
from insights.calendar import holidays_between
from insights.demand import Calendar
from profiles.models import Purchase
from profiles.services.rollups import rollups_rebuild
from tests.factories import StoreFactory

WEEK = forecast.WEEK
SATURDAY = 5


def _pattern():
    # Open 9–18, busier at lunch and on Saturday, closed on Sunday (day 0 of the series is a Monday).
    return [
        0.0 if day == 6 or not 9 <= hour < 18 else (20 + 15 * (hour in (12, 13))) * (1.6 if day == SATURDAY else 1.0)
        for day in range(7)
        for hour in range(24)
    ]


def _series(weeks, *, seed=1, effects=None):
    """Hourly purchases around the pattern; `effects` multiplies whole days (day index → factor)."""
    rng = random.Random(seed)
    pattern, effects = _pattern(), effects or {}
    values = []
    for index in range(weeks * WEEK):
        mean = pattern[index % WEEK] * effects.get(index // 24, 1.0)
        values.append(max(0.0, rng.gauss(mean, mean**0.5)) if mean else 0.0)
    return values


def _closed(series, day):
    return [0.0 if index // 24 == day else value for index, value in enumerate(series)]


def _day_total(hours, day):
    return sum(hours[day * 24 : (day + 1) * 24])


# The model


def test_a_closed_day_does_not_pull_the_forecast_down():
    # given 16 weeks of trade, the last Saturday closed (the busiest day, weighing most in the average)
    truth = _series(16)
    last_saturday = 15 * 7 + SATURDAY
    shut = _closed(truth, last_saturday)
    calendar = Calendar(first_weekday=0, closed=frozenset({last_saturday}))

    # when
    marked = forecast.forecast(shut, weeks=1, calendar=calendar)
    unmarked = forecast.forecast(shut, weeks=1)
    expected = forecast.forecast(truth, weeks=1)

    # then the Saturday ahead is forecast as if the store had traded, not a third lower
    assert _day_total(marked, SATURDAY) == pytest.approx(_day_total(expected, SATURDAY), rel=0.06)
    assert _day_total(unmarked, SATURDAY) < 0.8 * _day_total(expected, SATURDAY)
    assert sum(marked) == pytest.approx(sum(expected), rel=0.03)


@pytest.mark.parametrize("closed_week", [10, 14])  # in the fitting weeks, in the held-out weeks
def test_the_error_figures_leave_a_closed_day_out(closed_week):
    # given the same trade with and without a closed Saturday, the closure marked
    truth = _series(16, seed=2)
    day = closed_week * 7 + SATURDAY
    calendar = Calendar(first_weekday=0, closed=frozenset({day}))

    # when both are back-tested
    with_closure = forecast.backtest(_closed(truth, day), calendar=calendar)
    without = forecast.backtest(truth, calendar=calendar)

    # then every figure is the one of the trade that had no closure: the closed day counts nowhere
    assert with_closure == without
    assert with_closure.beats_naive
    # unmarked, the closure is scored as a day of no demand
    assert forecast.backtest(_closed(truth, day)) != without


def test_the_held_out_figures_are_those_of_the_open_hours_by_hand():
    truth = _series(16, seed=3)
    day = 13 * 7 + 2
    shut = _closed(truth, day)
    calendar = Calendar(first_weekday=0, closed=frozenset({day}))

    result = forecast.backtest(shut, calendar=calendar)

    cut = 12 * WEEK
    predicted = forecast.forecast(shut[:cut], weeks=4, calendar=calendar)
    hours = [hour for hour in range(4 * WEEK) if (cut + hour) // 24 != day]
    error = sum(abs(shut[cut + hour] - predicted[hour]) for hour in hours)
    assert result.actual_total == pytest.approx(sum(shut[cut + hour] for hour in hours))
    assert result.wape == pytest.approx(error / result.actual_total)
    assert result.closed_days_left_out == 1


@pytest.mark.parametrize("effect", [1.8, 0.4])
def test_a_holiday_is_learned_and_applied_to_the_holiday_ahead(effect):
    # given five past holidays (weekdays, Sunday aside) on which trade moved by `effect`, and one ahead
    past = [17, 44, 66, 80, 102]
    ahead = 16 * 7 + 9  # the Wednesday of the second week forecast
    effects = dict.fromkeys(past, effect)
    history = _series(16, seed=4, effects=effects)
    calendar = Calendar(first_weekday=0, holidays=frozenset([*past, ahead]))

    # when
    learned = forecast.holiday_effect(history, calendar)
    predicted = forecast.forecast(history, weeks=3, calendar=calendar)

    # then the factor goes the way of the past holidays, pulled a little towards 1
    assert learned.seen == len(past)
    assert min(1.0, effect) < learned.factor < max(1.0, effect)
    assert abs(learned.factor - effect) < 0.35 * abs(effect - 1)
    # and the holiday ahead is forecast at it, against the same weekday a week before and after
    ordinary = (_day_total(predicted, ahead - 16 * 7 - 7) + _day_total(predicted, ahead - 16 * 7 + 7)) / 2
    assert _day_total(predicted, ahead - 16 * 7) == pytest.approx(learned.factor * ordinary, rel=0.03)
    # and the past holidays did not move the ordinary days
    plain = forecast.forecast(_series(16, seed=4), weeks=3)
    assert ordinary == pytest.approx((_day_total(plain, 2) + _day_total(plain, 16)) / 2, rel=0.05)


def test_no_holidays_known_leaves_the_forecast_as_it_was():
    history = _series(12, seed=5)

    assert forecast.forecast(history, weeks=2, calendar=Calendar(first_weekday=0)) == forecast.forecast(
        history, weeks=2
    )


def test_days_before_the_first_sale_are_not_history():
    # given a store that opened ten weeks ago, in a year of history
    opened = _series(10, seed=6)
    history = [0.0] * (42 * WEEK) + opened
    calendar = Calendar(first_weekday=0, closed=frozenset(range(42 * 7)))

    result = forecast.backtest(history, calendar=calendar)

    assert result == forecast.backtest(opened)
    assert forecast.forecast(history, weeks=1, calendar=calendar) == forecast.forecast(opened, weeks=1)
    # and a store open for five weeks is not tested yet
    assert forecast.backtest([0.0] * (47 * WEEK) + opened[: 5 * WEEK]).held_out_weeks == 0


# The page over real rows

NOW = datetime(2026, 11, 18, 15, 45, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
CLOSED_DAY = date(2026, 10, 27)


def _sell(merchant, store, *, weeks, seed=21):
    """Store purchases every day but Sunday of the `weeks` weeks before NOW's day, twice as many on a US public
    holiday, none on CLOSED_DAY."""
    rng = random.Random(seed)
    end = date(2026, 11, 17)
    holidays = holidays_between("US", end - timedelta(days=weeks * 7), end)
    purchases = []
    for offset in range(weeks * 7):
        day = end - timedelta(days=offset)
        if day == CLOSED_DAY or day.weekday() == 6:
            continue
        count = rng.randint(10, 16) * (2 if day in holidays else 1)
        for number in range(count):
            purchases.append(
                Purchase(
                    merchant=merchant,
                    store=store,
                    channel="in_store",
                    amount_minor=2500,
                    currency="USD",
                    occurred_at=datetime.combine(day, time(10 + number % 8, 5), tzinfo=NEW_YORK),
                    source="api",
                    external_id=f"{store.pk}-{day}-{number}",
                )
            )
    Purchase.objects.bulk_create(purchases)
    with transaction.atomic():
        rollups_rebuild(merchant=merchant)


@pytest.fixture
def new_york(merchant):
    return StoreFactory(merchant=merchant, name="Fifth Avenue", timezone="America/New_York")


@pytest.mark.django_db
def test_the_page_lists_the_closed_day_and_marks_the_holiday_ahead(merchant, new_york, owner_client):
    # given 20 weeks of trade in New York, closed one Tuesday, busier on public holidays
    _sell(merchant, new_york, weeks=20)
    services.insights_refresh(merchant=merchant, now=NOW)

    # when
    page = owner_client.get(reverse("insights:traffic"), {"scope": f"s{new_york.pk}"}).content.decode()

    # then the closure is named and left out, and Thanksgiving is marked in the daily table, forecast above
    # an ordinary Thursday
    assert "Closed on Tue 27 Oct 2026, left out" in page
    assert "Public holidays of US" in page
    assert "holiday</strong>: Thanksgiving Day" in page
    traffic = selectors.traffic_get(
        merchant=merchant, period_key="28d", scope=selectors.Scope(key=f"s{new_york.pk}", store=new_york), now=NOW
    )
    assert traffic.closed_days == [CLOSED_DAY]
    assert traffic.holiday_factor > 1.2
    by_day = {day.day: day for day in traffic.forecast_days}
    thanksgiving = by_day[date(2026, 11, 26)]
    assert thanksgiving.holiday == "Thanksgiving Day"
    assert thanksgiving.expected > 1.2 * by_day[date(2026, 12, 3)].expected
    assert by_day[date(2026, 12, 3)].holiday is None


@pytest.mark.django_db
def test_the_held_out_purchases_on_the_page_are_those_of_the_raw_rows(merchant, new_york, owner_client):
    _sell(merchant, new_york, weeks=20)
    services.insights_refresh(merchant=merchant, now=NOW)

    page = owner_client.get(reverse("insights:traffic"), {"scope": f"s{new_york.pk}"}).content.decode()

    # the four held-out weeks end yesterday (the merchant's day); the closed day had none anyway
    end = date(2026, 11, 17)
    held_out = [
        at
        for at in Purchase.objects.filter(merchant=merchant, store=new_york).values_list("occurred_at", flat=True)
        if end - timedelta(days=27) <= at.astimezone(NEW_YORK).date() <= end
    ]
    first = min(Purchase.objects.filter(merchant=merchant).values_list("occurred_at", flat=True))
    seen = holidays_between("US", first.astimezone(NEW_YORK).date(), end)
    assert f"{len(held_out):,} store purchases were made on the open days of those weeks" in page
    assert f"on the {len(seen)} in the last year" in page


@pytest.mark.django_db
def test_stores_in_several_countries_learn_holidays_store_by_store(merchant, new_york, owner_client):
    london = StoreFactory(merchant=merchant, name="Regent Street", timezone="Europe/London")
    _sell(merchant, new_york, weeks=12)
    _sell(merchant, london, weeks=12, seed=22)
    services.insights_refresh(merchant=merchant, now=NOW)

    everything = owner_client.get(reverse("insights:traffic")).content.decode()
    one = owner_client.get(reverse("insights:traffic"), {"scope": f"s{london.pk}"}).content.decode()

    assert "public holidays are taken into account store by store only" in everything
    assert "Public holidays of GB" in one
