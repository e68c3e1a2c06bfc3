"""Broadcast runs: holdout and A/B at assignment, one run however often beat fires, lost chunks resumed."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from campaigns.models import (
    Assignment,
    AssignmentGroup,
    CampaignKind,
    CampaignRun,
    CampaignStatus,
    OutboxMessage,
    OutboxStatus,
)
from campaigns.services import broadcasts, sending
from campaigns.services.assignment import Entry, entries_create
from tests.campaigns.engine.helpers import campaign_with_message, launched, reachable_shopper
from tests.profiles.factories import ShopperFactory

pytestmark = pytest.mark.django_db


def _run_everything():
    for run in broadcasts.broadcast_runs_start():
        for index in range(run.chunks):
            broadcasts.broadcast_chunk_write(run_id=run.run_id, index=index)
    while sending.outbox_send().claimed:
        pass


def test_holdout_shoppers_get_an_assignment_and_no_message(merchant, daytime):
    shoppers = [reachable_shopper(merchant) for _ in range(60)]
    campaign = launched(campaign_with_message(merchant, holdout=50))

    _run_everything()

    assignments = Assignment.objects.filter(campaign=campaign)
    assert assignments.count() == 60
    held_out = set(assignments.filter(group=AssignmentGroup.HOLDOUT).values_list("shopper_id", flat=True))
    treated = set(assignments.filter(group=AssignmentGroup.TREATMENT).values_list("shopper_id", flat=True))
    assert held_out and treated
    messaged = set(OutboxMessage.objects.filter(campaign=campaign).values_list("shopper_id", flat=True))
    assert messaged == treated
    addresses = {message.to[0] for message in mail.outbox}
    assert addresses == {shopper.contacts.get().value for shopper in shoppers if shopper.pk in treated}


def test_the_holdout_share_follows_the_percent(merchant):
    campaign = campaign_with_message(merchant, holdout=10)
    entries = [Entry(shopper_id, "broadcast") for shopper_id in range(1, 20_001)]
    from campaigns.services.assignment import group_draw

    held = sum(group_draw(campaign=campaign, variants=[], entry=entry)[0] == "holdout" for entry in entries)

    # 10 % of 20,000 is 2,000; its standard deviation is ~42: six of them either side.
    assert 1750 < held < 2250


def test_ab_variants_split_by_weight_and_each_gets_its_own_message(merchant, daytime):
    for _ in range(80):
        reachable_shopper(merchant)
    campaign = launched(campaign_with_message(merchant, holdout=0, variants=(("A", 50), ("B", 50))))

    _run_everything()

    by_variant = {key: OutboxMessage.objects.filter(campaign=campaign, variant__key=key).count() for key in ("A", "B")}
    assert by_variant["A"] + by_variant["B"] == 80
    assert by_variant["A"] > 15 and by_variant["B"] > 15
    subjects = {message.subject[:3] for message in mail.outbox}
    assert subjects == {"[A]", "[B]"}
    for message in OutboxMessage.objects.filter(campaign=campaign).select_related("variant", "assignment"):
        assert message.subject.startswith(f"[{message.variant.key}]")
        assert message.assignment.variant_id == message.variant_id


def test_only_reachable_shoppers_enter_a_broadcast(merchant, daytime):
    reachable = reachable_shopper(merchant)
    ShopperFactory(merchant=merchant)  # no contact, no consent
    reachable_shopper(merchant, purposes=())  # a contact but no consent
    campaign = launched(campaign_with_message(merchant))

    _run_everything()

    assert list(Assignment.objects.filter(campaign=campaign).values_list("shopper_id", flat=True)) == [reachable.pk]


def test_a_broadcast_scheduled_later_waits(merchant, daytime):
    reachable_shopper(merchant)
    campaign = launched(campaign_with_message(merchant, scheduled_at=timezone.now() + timedelta(hours=2)))

    _run_everything()

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert mail.outbox == []


def test_beat_firing_twice_starts_one_run(merchant, daytime):
    reachable_shopper(merchant)
    campaign = launched(campaign_with_message(merchant))

    first = broadcasts.broadcast_runs_start()
    second = broadcasts.broadcast_runs_start()
    for run in first + second:
        for index in range(run.chunks):
            broadcasts.broadcast_chunk_write(run_id=run.run_id, index=index)
            broadcasts.broadcast_chunk_write(run_id=run.run_id, index=index)  # a chunk task delivered twice
    sending.outbox_send()

    assert len(first) == 1 and second == []
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1
    assert len(mail.outbox) == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_at_the_same_moment_start_one_run(merchant):
    for _ in range(3):
        reachable_shopper(merchant)
    campaign = launched(campaign_with_message(merchant, scheduled_at=timezone.now() + timedelta(hours=1)))
    campaign.__class__.objects.filter(merchant=campaign.merchant_id, pk=campaign.pk).update(
        next_run_at=timezone.now()
    )  # its time has come
    barrier = threading.Barrier(2)
    started = []

    def beat():
        try:
            barrier.wait()
            started.extend(broadcasts.broadcast_runs_start())
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(started) == 1
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


def test_a_lost_chunk_is_written_by_the_resume_sweep(merchant, daytime, monkeypatch):
    monkeypatch.setattr(broadcasts, "CHUNK_SIZE", 2)
    for _ in range(5):
        reachable_shopper(merchant)
    campaign = launched(campaign_with_message(merchant))
    (run,) = broadcasts.broadcast_runs_start()
    assert run.chunks == 3
    broadcasts.broadcast_chunk_write(run_id=run.run_id, index=0)  # chunks 1 and 2 are lost with their worker

    assert broadcasts.broadcast_runs_resume() == []  # too early to call them lost
    later = timezone.now() + broadcasts.RESUME_AFTER + timedelta(seconds=1)
    missing = broadcasts.broadcast_runs_resume(now=later)
    for run_id, index in missing:
        broadcasts.broadcast_chunk_write(run_id=run_id, index=index)
    while sending.outbox_send().claimed:
        pass

    assert missing == [(run.run_id, 1), (run.run_id, 2)]
    assert len(mail.outbox) == 5
    assert CampaignRun.all_merchants.get(pk=run.run_id).finished_at is not None
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


def test_a_recurring_broadcast_messages_again_on_each_run(merchant, daytime):
    shopper = reachable_shopper(merchant)
    campaign = launched(campaign_with_message(merchant, kind=CampaignKind.RECURRING, repeat_every_days=7))

    _run_everything()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.next_run_at > timezone.now() + timedelta(days=6)
    _run_everything()  # not due yet: nothing new
    assert len(mail.outbox) == 1

    a_week_later = campaign.next_run_at + timedelta(minutes=1)
    for run in broadcasts.broadcast_runs_start(now=a_week_later):
        for index in range(run.chunks):
            broadcasts.broadcast_chunk_write(run_id=run.run_id, index=index)
    sending.outbox_send()

    keys = sorted(OutboxMessage.objects.filter(shopper=shopper).values_list("dedupe_key", flat=True))
    assert len(keys) == 2 and keys[0] != keys[1]
    assert len(mail.outbox) == 2


def test_a_greeting_goes_without_an_offer(merchant, daytime):
    reachable_shopper(merchant)
    campaign = launched(campaign_with_message(merchant, kind=CampaignKind.GREETING))

    _run_everything()

    assert OutboxMessage.objects.get(campaign=campaign).status == OutboxStatus.SENT


def test_another_merchants_shoppers_never_enter(merchant, other_merchant, daytime):
    mine = reachable_shopper(merchant)
    reachable_shopper(other_merchant)
    campaign = launched(campaign_with_message(merchant))

    _run_everything()

    assert list(Assignment.objects.filter(campaign=campaign).values_list("shopper_id", flat=True)) == [mine.pk]
    assert len(mail.outbox) == 1


def test_entries_for_a_campaign_are_unique_across_overlapping_calls(merchant):
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant)

    made = entries_create(campaign=campaign, entries=[Entry(shopper.pk, "k"), Entry(shopper.pk, "k")])

    assert len(made) == 1
    assert Assignment.objects.filter(campaign=campaign).count() == 1
