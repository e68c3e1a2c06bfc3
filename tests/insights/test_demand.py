"""Demand by category: the weekly model on synthetic series, and the Demand page and CSV over real rows."""

import csv
import io
import math
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from insights import demand, services
from insights.calendar import country_for_timezone, holidays_between
from merchants.models import Store
from profiles.models import LineItem, Purchase
from tests.factories import StoreFactory
from tests.loyalty.factories import OfferFactory, ProgramFactory

WEEKDAY_PATTERN = [1.0, 0.9, 0.9, 1.1, 1.4, 1.8, 0.6]  # Monday first: a busy Saturday


def _poisson(rng, mean):
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, 1.0
    while True:
        product *= rng.random()
        if product < limit:
            return count
        count += 1


def _store(seed, *, holiday_effect=1.8, levels=(3, 12, 40), weeks=52, horizon_weeks=12, closures=0.01):
    """Categories of one store selling Poisson units around level × weekday × (holiday effect on a holiday)."""
    rng = random.Random(seed)
    days = weeks * 7
    holidays = frozenset(day for day in range(10, days + horizon_weeks * 7) if rng.random() < 0.03)
    closed = frozenset(day for day in range(days) if day not in holidays and rng.random() < closures)
    calendar = demand.Calendar(first_weekday=0, holidays=holidays, closed=closed)
    series = {}
    for index, level in enumerate(levels):
        units = []
        for day in range(days + horizon_weeks * 7):
            mean = level * WEEKDAY_PATTERN[day % 7] * (holiday_effect if day in holidays else 1.0)
            units.append(0 if day in closed else _poisson(rng, mean))
        series[f"category {index}"] = demand.Series(units=units, revenue=[value * 750 for value in units])
    return series, calendar, days


# The model


def test_the_backtest_beats_seasonal_naive_and_its_80_percent_ranges_hold_about_80_percent():
    # given 60 seeded stores of three categories with weekly seasonality and holidays that sell 1.8 ×
    total = demand.Score()
    for seed in range(60):
        series, calendar, days = _store(seed)

        # when each is fitted on all but its last four weeks and scored on them
        total.add(demand.backtest_store(series, calendar, days=days))

    # then it beats repeating last week, on both scaled errors, and its ranges cover 80 % ± 6 points
    assert total.weeks_scored == 60 * 3 * 4
    assert total.beats_naive
    assert total.wape < 0.8 * total.naive_wape
    assert total.mase < 0.8 * total.naive_mase
    assert 0.74 <= total.coverage <= 0.86


@pytest.mark.parametrize("effect", [2.0, 0.3])
def test_a_holiday_moves_the_forecast_of_its_week_the_way_past_holidays_went(effect):
    # given a year in which holidays sell `effect` × an ordinary day, and one holiday on a Monday next month
    series, calendar, days = _store(3, holiday_effect=effect)
    upcoming = days + 3 * 7  # the Monday of the fourth week ahead
    calendar = demand.Calendar(
        first_weekday=0,
        holidays=frozenset(day for day in calendar.holidays if day < days) | {upcoming},
        closed=calendar.closed,
    )

    # when
    forecast = demand.forecast_store(series, calendar, days=days)

    # then the holiday was learned, and the holiday week differs from the ordinary week before it that way
    assert forecast.effects.holiday_factor == pytest.approx(effect, rel=0.2)
    for weeks in forecast.weeks.values():
        ordinary, holiday_week = weeks[2].units, weeks[3].units
        if effect > 1:
            assert holiday_week > ordinary
        else:
            assert holiday_week < ordinary


def test_a_closed_day_is_not_a_day_without_demand():
    # given a store whose last four weeks had six closed days (nothing sold)
    series, calendar, days = _store(5, closures=0.0)
    closures = frozenset(range(days - 28, days, 5))
    emptied = {
        category: demand.Series(
            units=[0 if day in closures else value for day, value in enumerate(one.units)],
            revenue=[0 if day in closures else value for day, value in enumerate(one.revenue)],
        )
        for category, one in series.items()
    }
    purchases = [sum(one.units[day] for one in emptied.values()) for day in range(days)]

    # when the closures are found from the store's purchases and the series fitted
    found = demand.closed_days(purchases, 0, calendar.holidays)
    marked = demand.forecast_store(emptied, demand.Calendar(0, calendar.holidays, closed=found), days=days)
    unmarked = demand.forecast_store(emptied, demand.Calendar(0, calendar.holidays), days=days)
    truth = demand.forecast_store(series, calendar, days=days)

    # then they are the closed days, and the forecast is the one without closures, not one dragged down
    assert closures <= found
    for category in series:
        assert marked.weeks[category][0].units == pytest.approx(truth.weeks[category][0].units, rel=0.03)
        assert unmarked.weeks[category][0].units < 0.9 * truth.weeks[category][0].units


def test_a_quiet_store_with_an_empty_day_is_not_called_closed():
    # two purchases a day on average: a day without any happens by chance
    assert demand.closed_days([2, 3, 0, 1, 2, 2, 3] * 8, 0, frozenset()) == frozenset()


def test_the_store_country_comes_from_its_time_zone():
    assert country_for_timezone("Europe/London") == "GB"
    assert country_for_timezone("America/Chicago") == "US"
    assert country_for_timezone("UTC") is None
    assert "Christmas Day" in holidays_between("GB", date(2026, 12, 1), date(2026, 12, 31)).values()
    assert holidays_between(None, date(2026, 12, 1), date(2026, 12, 31)) == {}


# The page over real rows

NOW = datetime(2026, 11, 18, 15, 45, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def _sell(merchant, store, *, weeks, seed=11, closed=(), only=None):
    """Purchases of one or two items (Shoes, Bags) every day of the `weeks` weeks before NOW's day."""
    rng = random.Random(seed)
    end = NOW.astimezone(LONDON).date() - timedelta(days=1)
    purchases, lines = [], []
    for offset in range(weeks * 7):
        day = end - timedelta(days=offset)
        if day in closed or (only is not None and day not in only):
            continue
        for number in range(_poisson(rng, 10 * WEEKDAY_PATTERN[day.weekday()])):
            at = datetime.combine(day, time(10 + number % 8, 5), tzinfo=LONDON)
            purchase = Purchase(
                merchant=merchant,
                store=store,
                channel="in_store",
                amount_minor=4000,
                currency="EUR",
                occurred_at=at,
                source="api",
                external_id=f"{store.pk}-{seed}-{day}-{number}",
            )
            purchases.append(purchase)
            lines.append((purchase, "Shoes", 1 + number % 2, 1500))
            lines.append((purchase, "Bags", 1, 1000))
    Purchase.objects.bulk_create(purchases)
    LineItem.objects.bulk_create(
        LineItem(
            merchant=merchant,
            purchase=purchase,
            name=category,
            category=category,
            quantity=quantity,
            unit_price_minor=price,
        )
        for purchase, category, quantity, price in lines
    )


def _csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def london(merchant):
    return StoreFactory(merchant=merchant, name="London", timezone="Europe/London")


@pytest.mark.django_db
def test_the_page_shows_the_backtest_with_units_recomputable_from_raw_rows(merchant, london, owner_client):
    # given 20 weeks of sales in London, one Tuesday closed
    closed_day = date(2026, 10, 27)
    _sell(merchant, london, weeks=20, closed={closed_day})
    services.insights_refresh(merchant=merchant, now=NOW)

    # when
    response = owner_client.get(reverse("insights:demand"))

    # then the units sold in the four held-out weeks are those of the raw line items
    page = response.content.decode()
    end = NOW.astimezone(LONDON).date() - timedelta(days=1)
    held_out = [
        line.quantity
        for line in LineItem.objects.filter(purchase__merchant=merchant).select_related("purchase")
        if end - timedelta(days=27) <= line.purchase.occurred_at.astimezone(LONDON).date() <= end
    ]
    assert response.status_code == 200
    assert f"{sum(held_out):,} units were sold in those weeks" in page
    assert "held out of its fitting, the forecast" in page
    assert "Public holidays of GB" in page
    assert "1 closed day left out (2026-10-27)" in page
    assert "Christmas Day" in page  # a week of the horizon holds it
    assert "Shoes" in page and "Bags" in page


@pytest.mark.django_db
def test_the_page_says_when_the_forecast_does_not_beat_seasonal_naive(merchant, london, owner_client):
    # given sales that jump to four times their level in the held-out weeks: no forecast could see it coming
    _sell(merchant, london, weeks=20)
    _sell(merchant, london, weeks=4, seed=12)
    _sell(merchant, london, weeks=4, seed=13)
    _sell(merchant, london, weeks=4, seed=14)
    services.insights_refresh(merchant=merchant, now=NOW)

    page = owner_client.get(reverse("insights:demand")).content.decode()

    assert "the forecast did not beat seasonal-naive" in page


@pytest.mark.django_db
def test_the_csv_has_every_category_week_with_its_range(merchant, london, owner_client):
    _sell(merchant, london, weeks=20)
    services.insights_refresh(merchant=merchant, now=NOW)

    rows = _csv_rows(owner_client.get(reverse("insights:demand"), {"format": "csv"}))

    header, body = rows[0], rows[1:]
    assert header[:6] == ["store", "category", "week_start", "units", "units_low_80", "units_high_80"]
    assert len(body) == 2 * demand.HORIZON_WEEKS
    assert {row[1] for row in body} == {"Shoes", "Bags"}
    first = body[0]
    assert first[0] == "London" and first[2] == "2026-11-18"
    assert int(first[4]) <= float(first[3]) <= int(first[5])
    christmas = [row for row in body if "Christmas Day" in row[10]]
    assert christmas and christmas[0][2] <= "2026-12-25"


@pytest.mark.django_db
def test_another_merchants_demand_stays_out_of_sight(merchant, london, other_merchant, outsider_client):
    _sell(merchant, london, weeks=20)
    services.insights_refresh(merchant=merchant, now=NOW)

    response = outsider_client.get(reverse("insights:demand"), {"scope": f"s{london.pk}"})

    assert response.status_code == 200
    assert "Shoes" not in response.content.decode()
    assert Store.objects.for_merchant(other_merchant).filter(name="London").count() == 0


@pytest.mark.django_db
def test_a_planned_promotion_raises_its_week_as_past_promotions_did(merchant, london, owner_client):
    # given three past week-long offers in London during which it sold twice as much, and one planned
    end = NOW.astimezone(LONDON).date() - timedelta(days=1)
    program = ProgramFactory(merchant=merchant)
    _sell(merchant, london, weeks=20)
    for weeks_ago in (4, 9, 14):
        first = end - timedelta(days=weeks_ago * 7 + 6)
        week = {first + timedelta(days=offset) for offset in range(7)}
        _sell(merchant, london, weeks=20, seed=100 + weeks_ago, only=week)
        OfferFactory(
            program=program,
            store=london,
            starts_at=datetime.combine(first, time(0, 1), tzinfo=LONDON),
            ends_at=datetime.combine(first + timedelta(days=6), time(23, 0), tzinfo=LONDON),
        )
    planned = end + timedelta(days=15)  # the third week ahead
    OfferFactory(
        program=program,
        store=london,
        starts_at=datetime.combine(planned, time(0, 1), tzinfo=LONDON),
        ends_at=datetime.combine(planned + timedelta(days=6), time(23, 0), tzinfo=LONDON),
    )
    services.insights_refresh(merchant=merchant, now=NOW)

    # when
    page = owner_client.get(reverse("insights:demand")).content.decode()
    rows = _csv_rows(owner_client.get(reverse("insights:demand"), {"format": "csv"}))[1:]

    # then the planned week is marked and forecast well above the ordinary week before it
    assert "Promotions: on the 21 promotion days in the last year it sold" in page
    shoes = [row for row in rows if row[1] == "Shoes"]
    assert [int(row[11]) for row in shoes[:4]] == [0, 0, 7, 0]
    assert float(shoes[2][3]) > 1.5 * float(shoes[1][3])
