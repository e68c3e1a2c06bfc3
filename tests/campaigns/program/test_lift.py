"""The Program lift page: held-out shoppers against the rest over the quarter, from real rows."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.measurement import program
from campaigns.models import ProgramHoldoutDraw, ProgramHoldoutMember
from campaigns.services import holdout
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def quarter(merchant, owner):
    """100 shoppers, 20 % held out, drawn 30 days ago; since then every second marketed shopper spent 30.00 and
    every second held-out shopper 20.00 (one of them also a purchase of 5.00 refunded in full, and a purchase
    before the draw that does not count)."""
    shoppers = [ShopperFactory(merchant=merchant) for _ in range(100)]
    drawn_at = timezone.now() - timedelta(days=30)
    ProgramHoldoutDraw.all_merchants.filter(merchant=merchant).delete()
    for shopper in shoppers:
        shopper.created_at = drawn_at - timedelta(days=1)
        shopper.save(update_fields=["created_at"])
    holdout.program_holdout_settings_save(merchant=merchant, is_enabled=True, percent=20, actor=owner, now=drawn_at)
    draw = ProgramHoldoutDraw.objects.get(merchant=merchant)
    members = list(ProgramHoldoutMember.objects.filter(merchant=merchant, draw=draw).order_by("shopper_id"))
    held = [m.shopper_id for m in members if m.is_held_out]
    marketed = [m.shopper_id for m in members if not m.is_held_out]
    by_id = {shopper.pk: shopper for shopper in shoppers}
    for index, shopper_id in enumerate(marketed):
        if index % 2 == 0:
            PurchaseFactory(
                merchant=merchant,
                shopper=by_id[shopper_id],
                amount_minor=3000,
                occurred_at=drawn_at + timedelta(days=3),
            )
    for index, shopper_id in enumerate(held):
        if index % 2 == 0:
            PurchaseFactory(
                merchant=merchant,
                shopper=by_id[shopper_id],
                amount_minor=2000,
                occurred_at=drawn_at + timedelta(days=5),
            )
    PurchaseFactory(
        merchant=merchant,
        shopper=by_id[held[1]],
        amount_minor=500,
        refunded_minor=500,
        occurred_at=drawn_at + timedelta(days=6),
    )
    PurchaseFactory(
        merchant=merchant, shopper=by_id[held[1]], amount_minor=9999, occurred_at=drawn_at - timedelta(hours=1)
    )
    return draw, marketed, held


def test_the_program_lift_compares_held_out_shoppers_with_the_rest(merchant, quarter):
    draw, marketed, held = quarter

    lift = program.program_lift(merchant=merchant, draw=draw)

    # then: the groups as drawn, their buyers and spend since the draw
    assert (lift.marketed.shoppers, lift.held_out.shoppers) == (len(marketed), len(held)) == (80, 20)
    assert lift.marketed.conversions == 40 and lift.held_out.conversions == 10
    assert lift.marketed.revenue_minor == 40 * 3000 and lift.held_out.revenue_minor == 10 * 2000
    # the lift per shopper: 1,500 − 1,000, adjusted for spend before the draw (9,999 of one held-out shopper)
    fixed = lift.revenue_adjustment.difference
    assert lift.revenue_lift.estimate == pytest.approx(fixed.estimate)
    assert abs(fixed.estimate - 500) < 100
    # the quarter is not over: the always-valid interval, wider than a single look's
    assert lift.is_sequential
    assert lift.revenue_lift.high - lift.revenue_lift.low > fixed.high - fixed.low
    assert "95 % always-valid interval" in lift.sentence


def test_the_page_shows_the_quarter_and_the_setting(merchant, quarter, owner_client):
    page = owner_client.get(reverse("campaigns:program_lift")).content.decode()

    assert "Program lift" in page
    assert 'id="program-groups"' in page
    assert "95 % always-valid interval" in page
    assert 'name="percent"' in page


def test_an_analyst_sees_the_page_but_cannot_change_the_holdout(merchant, quarter, client_for, analyst):
    client = client_for(analyst)

    assert client.get(reverse("campaigns:program_lift")).status_code == 200
    response = client.post(reverse("campaigns:program_holdout_settings"), {"is_enabled": "", "percent": 5})
    assert response.status_code == 403
    assert holdout.program_holdout_settings_get(merchant=merchant).is_enabled


def test_a_share_too_large_is_a_form_error(merchant, owner_client):
    response = owner_client.post(reverse("campaigns:program_holdout_settings"), {"is_enabled": "on", "percent": 50})

    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 20" in response.content.decode()
    assert not ProgramHoldoutDraw.objects.filter(merchant=merchant).exists()


def test_turning_it_on_from_the_page_draws_the_holdout(merchant, owner_client):
    for _ in range(30):
        ShopperFactory(merchant=merchant)

    response = owner_client.post(reverse("campaigns:program_holdout_settings"), {"is_enabled": "on", "percent": 10})

    assert response.status_code == 302
    draw = ProgramHoldoutDraw.objects.get(merchant=merchant)
    assert (draw.shoppers, draw.percent) == (30, 10)
    page = owner_client.get(response.url).content.decode()
    assert "held-out shoppers get no marketing message this quarter" in page


def test_another_merchants_quarter_is_a_404(merchant, quarter, outsider_client):
    draw, _marketed, _held = quarter
    assert outsider_client.get(reverse("campaigns:program_lift"), {"draw": draw.pk}).status_code == 404
