"""The program holdout: the stratified quarterly draw, marketing skipping held-out shoppers, and a new quarter."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import CampaignStatus, OutboxMessage, OutboxStatus, ProgramHoldoutDraw, ProgramHoldoutMember
from campaigns.services import holdout, sending
from campaigns.services.assignment import Entry, entries_create
from core.errors import ApplicationError
from merchants.models import AuditEvent
from profiles.models import ConsentPurpose
from tests.campaigns.engine.helpers import campaign_with_message, reachable_shopper
from tests.factories import StoreFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def test_turning_the_holdout_on_draws_its_share_in_every_store_and_spend_band(merchant, owner):
    # given: two stores; in the first, 100 shoppers who bought nothing in the last 90 days and 80 who did
    # (from 10.00 to 800.00); 60 in the second; 20 without a home store
    first, second = StoreFactory(merchant=merchant), StoreFactory(merchant=merchant)
    for _ in range(100):
        ShopperFactory(merchant=merchant, home_store=first)
    for index in range(80):
        shopper = ShopperFactory(merchant=merchant, home_store=first)
        PurchaseFactory(
            merchant=merchant,
            shopper=shopper,
            amount_minor=1000 * (index + 1),
            occurred_at=timezone.now() - timedelta(days=10),
        )
    for _ in range(60):
        ShopperFactory(merchant=merchant, home_store=second)
    for _ in range(20):
        ShopperFactory(merchant=merchant)

    # when
    holdout.program_holdout_settings_save(merchant=merchant, is_enabled=True, percent=10, actor=owner)

    # then: one member row per shopper; every stratum holds out its 10 %, give or take one shopper
    draw = ProgramHoldoutDraw.objects.get(merchant=merchant)
    members = ProgramHoldoutMember.objects.filter(merchant=merchant, draw=draw)
    assert draw.shoppers == members.count() == 260
    assert draw.held_out == members.filter(is_held_out=True).count()
    sizes = Counter((member.store_id_at_draw, member.spend_band) for member in members)
    held = Counter((member.store_id_at_draw, member.spend_band) for member in members if member.is_held_out)
    assert set(sizes) == {
        (first.pk, 0),
        (first.pk, 1),
        (first.pk, 2),
        (first.pk, 3),
        (first.pk, 4),
        (second.pk, 0),
        (None, 0),
    }
    for stratum, size in sizes.items():
        assert abs(held[stratum] - size * 0.1) < 1, (stratum, held[stratum], size)
    # the top spend band holds the 20 biggest spenders
    assert min(m.spend_before_minor for m in members if m.spend_band == 4) == 61_000
    # and the change is in the audit log
    assert AuditEvent.objects.filter(merchant=merchant, action="program_holdout.changed", actor=owner).exists()


def test_a_share_outside_1_to_20_percent_is_refused(merchant, owner):
    with pytest.raises(ApplicationError) as error:
        holdout.program_holdout_settings_save(merchant=merchant, is_enabled=True, percent=40, actor=owner)
    assert error.value.fields == {"percent": ["Hold out between 1 and 20 % of shoppers."]}
    assert not ProgramHoldoutDraw.objects.filter(merchant=merchant).exists()


def test_a_new_quarter_draws_again_and_keeps_the_last_quarters_rows(merchant, owner):
    # given: a holdout drawn now
    for _ in range(50):
        ShopperFactory(merchant=merchant)
    now = timezone.now()
    holdout.program_holdout_settings_save(merchant=merchant, is_enabled=True, percent=10, actor=owner, now=now)
    start, end = holdout.quarter_of(timezone.localdate(now, ZoneInfo(merchant.timezone)))

    # when: the hourly task runs in the same quarter, then on the next quarter's second day
    assert holdout.program_holdouts_draw_due(now=now + timedelta(hours=1)) == 0
    next_quarter = datetime.combine(end, time(12), tzinfo=UTC) + timedelta(days=1)
    assert holdout.program_holdouts_draw_due(now=next_quarter) == 1

    # then: two quarters, each with its own rows
    draws = list(ProgramHoldoutDraw.objects.filter(merchant=merchant).order_by("quarter_start"))
    assert [(d.quarter_start, d.quarter_end) for d in draws] == [(start, end), holdout.quarter_of(end)]
    assert [ProgramHoldoutMember.objects.filter(merchant=merchant, draw=d).count() for d in draws] == [50, 50]
    # who is held out follows the quarter
    later = next_quarter + timedelta(days=14)
    ids = [member.shopper_id for member in ProgramHoldoutMember.objects.filter(merchant=merchant, draw=draws[1])]
    held_next_quarter = set(
        ProgramHoldoutMember.objects.filter(merchant=merchant, draw=draws[1], is_held_out=True).values_list(
            "shopper_id", flat=True
        )
    )
    assert holdout.held_out_shopper_ids(merchant_id=merchant.pk, shopper_ids=ids, at=later) == held_next_quarter


def _holdout_with(merchant, owner, shoppers):
    holdout.program_holdout_settings_save(merchant=merchant, is_enabled=True, percent=20, actor=owner)
    held = set(
        ProgramHoldoutMember.objects.filter(merchant=merchant, is_held_out=True).values_list("shopper_id", flat=True)
    )
    assert held and len(held) < len(shoppers)
    return held


def test_marketing_skips_held_out_shoppers_and_feedback_requests_still_reach_them(merchant, owner, daytime):
    # given: 20 reachable shoppers, 20 % of them held out
    shoppers = [reachable_shopper(merchant) for _ in range(20)]
    held = _holdout_with(merchant, owner, shoppers)
    marketing = campaign_with_message(merchant, status=CampaignStatus.ACTIVE)
    feedback = campaign_with_message(merchant, status=CampaignStatus.ACTIVE, purpose=ConsentPurpose.FEEDBACK)

    # when: both campaigns take every shopper, and the sender runs
    for campaign in (marketing, feedback):
        entries_create(campaign=campaign, entries=[Entry(shopper.pk, "broadcast") for shopper in shoppers])
    sending.outbox_send(limit=100)

    # then: the marketing message went to every shopper but the held-out ones, who did not even enter it
    marketed = set(
        OutboxMessage.objects.filter(merchant=merchant, campaign=marketing).values_list("shopper_id", flat=True)
    )
    assert marketed == {shopper.pk for shopper in shoppers} - held
    assert not marketing.assignments.filter(shopper_id__in=held).exists()
    # and the feedback request reached everybody
    assert OutboxMessage.objects.filter(merchant=merchant, campaign=feedback, status=OutboxStatus.SENT).count() == 20
    assert len(mail.outbox) == 20 + 20 - len(held)


def test_a_message_queued_before_the_draw_is_not_sent_to_a_held_out_shopper(merchant, owner, daytime):
    # given: messages queued for 20 shoppers, then the holdout turned on
    shoppers = [reachable_shopper(merchant) for _ in range(20)]
    campaign = campaign_with_message(merchant, status=CampaignStatus.ACTIVE)
    entries_create(campaign=campaign, entries=[Entry(shopper.pk, "broadcast") for shopper in shoppers])
    held = _holdout_with(merchant, owner, shoppers)

    # when
    sending.outbox_send(limit=100)

    # then
    skipped = OutboxMessage.objects.filter(merchant=merchant, campaign=campaign, reason="program_holdout")
    assert set(skipped.values_list("shopper_id", flat=True)) == held
    assert set(skipped.values_list("status", flat=True)) == {OutboxStatus.SUPPRESSED}
    assert len(mail.outbox) == 20 - len(held)


def test_turning_the_holdout_off_lets_marketing_reach_everybody_again(merchant, owner, daytime):
    shoppers = [reachable_shopper(merchant) for _ in range(20)]
    _holdout_with(merchant, owner, shoppers)
    holdout.program_holdout_settings_save(merchant=merchant, is_enabled=False, percent=20, actor=owner)
    campaign = campaign_with_message(merchant, status=CampaignStatus.ACTIVE)

    entries_create(campaign=campaign, entries=[Entry(shopper.pk, "broadcast") for shopper in shoppers])
    sending.outbox_send(limit=100)

    assert len(mail.outbox) == 20
    # the quarter's rows stay, for its report
    assert ProgramHoldoutMember.objects.filter(merchant=merchant).count() == 20


def test_another_merchants_holdout_does_not_hold_out_this_merchants_shoppers(merchant, other_merchant, owner):
    shopper = ShopperFactory(merchant=other_merchant)
    holdout.program_holdout_settings_save(merchant=other_merchant, is_enabled=True, percent=20, actor=None)
    ProgramHoldoutMember.objects.filter(merchant=other_merchant).update(is_held_out=True)

    assert holdout.held_out_shopper_ids(merchant_id=merchant.pk, shopper_ids=[shopper.pk], at=timezone.now()) == set()


def test_quarters_follow_the_calendar():
    assert holdout.quarter_of(date(2026, 2, 28)) == (date(2026, 1, 1), date(2026, 4, 1))
    assert holdout.quarter_of(date(2026, 12, 31)) == (date(2026, 10, 1), date(2027, 1, 1))
