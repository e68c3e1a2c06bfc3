"""A worker killed at each point of a send, and the sweep that releases its claims: nothing lost, nothing twice.

Each test kills the sender at one point (an exception it cannot catch, as SIGKILL would leave things), then lets
time pass beyond the claim's lease, runs the sweep and the sender again, and counts what reached the channel.
A real worker killed with SIGKILL mid-batch is in test_worker_kill.py.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from campaigns.channels import message_id_header
from campaigns.models import CampaignStatus, OutboxMessage, OutboxStatus
from campaigns.services import sending
from campaigns.services.assignment import Entry, entries_create
from profiles import sms
from tests.campaigns.engine.helpers import campaign_with_message, reachable_shopper

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the sender catches it, no cleanup runs that a kill would skip."""


def _queued(merchant, count=1, channel="email"):
    shoppers = [reachable_shopper(merchant, channel=channel) for _ in range(count)]
    campaign = campaign_with_message(merchant, channel=channel)
    campaign.status = CampaignStatus.ACTIVE
    campaign.save(update_fields=["status"])
    entries_create(campaign=campaign, entries=[Entry(shopper.pk, "broadcast") for shopper in shoppers])
    return campaign, shoppers


def _after_the_lease():
    """The dead worker's lease has run out: the sweep releases its claims, the next send goes."""
    released = sending.outbox_release_stale(now=timezone.now() + sending.CLAIM_LEASE + timedelta(seconds=1))
    sending.outbox_send()
    return released


def _statuses(campaign):
    return sorted(OutboxMessage.objects.filter(campaign=campaign).values_list("status", flat=True))


class DyingEmailBackend:
    """Takes `handed` messages, then the worker dies while the next one is with the channel (it went out)."""

    handed = 0

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        mail.outbox.extend(messages)
        if len(mail.outbox) > DyingEmailBackend.handed:
            raise WorkerKilled
        return len(messages)


class DyingSmsBackend(sms.BaseBackend):
    handed = 0

    def send_messages(self, messages):
        sms.outbox.extend(messages)
        if len(sms.outbox) > DyingSmsBackend.handed:
            raise WorkerKilled
        return len(messages)


def test_killed_before_the_claim_commits_the_message_goes_once(merchant, daytime):
    campaign, _shoppers = _queued(merchant)

    with pytest.raises(WorkerKilled), transaction.atomic():
        sending.outbox_claim(claimed_by="dying worker")
        raise WorkerKilled  # the claim's transaction never commits

    sending.outbox_send()
    _after_the_lease()

    assert len(mail.outbox) == 1
    assert _statuses(campaign) == [OutboxStatus.SENT]


def test_killed_after_the_claim_before_the_hand_off_the_message_goes_once_after_the_lease(merchant, daytime):
    campaign, _shoppers = _queued(merchant, count=3)

    sending.outbox_claim(claimed_by="dying worker")  # committed; the worker dies here
    sending.outbox_send()  # another sender finds nothing to claim while the lease holds
    assert mail.outbox == []

    released = _after_the_lease()

    assert released.requeued == 3
    assert len(mail.outbox) == 3
    assert _statuses(campaign) == [OutboxStatus.SENT] * 3


def test_killed_during_an_email_hand_off_every_email_goes_and_repeats_carry_the_same_message_id(merchant, daytime):
    campaign, shoppers = _queued(merchant, count=5)
    DyingEmailBackend.handed = 2  # the third is with the channel when the worker dies

    with override_settings(EMAIL_BACKEND=f"{__name__}.DyingEmailBackend"), pytest.raises(WorkerKilled):
        sending.outbox_send()
    # Emails are recorded sent 50 at a time (or within 50 ms): those handed over before the kill may not be yet.
    left = _statuses(campaign).count(OutboxStatus.HANDING)
    assert left >= 3
    released = _after_the_lease()

    assert released.requeued == left
    assert _statuses(campaign) == [OutboxStatus.SENT] * 5
    # Five messages; what had reached the channel unrecorded went again with the same Message-ID, which a
    # mailbox (or an ESP's idempotency key) files as the message it already has.
    assert len(mail.outbox) == 3 + left  # three reached the channel before the kill, then each row left went
    message_ids = [email.extra_headers["Message-ID"] for email in mail.outbox]
    assert len(set(message_ids)) == 5
    by_address = {}
    for email in mail.outbox:
        by_address.setdefault(email.to[0], set()).add(email.extra_headers["Message-ID"])
    assert sorted(by_address) == sorted(shopper.contacts.get().value for shopper in shoppers)
    assert all(len(ids) == 1 for ids in by_address.values())
    outbox_ids = OutboxMessage.objects.filter(campaign=campaign).values_list("pk", flat=True)
    assert set(message_ids) == {message_id_header(pk) for pk in outbox_ids}


def test_killed_during_a_text_hand_off_only_the_text_in_flight_is_lost(merchant, daytime):
    campaign, shoppers = _queued(merchant, count=5, channel="sms")
    DyingSmsBackend.handed = 2

    with override_settings(SMS_BACKEND=f"{__name__}.DyingSmsBackend"), pytest.raises(WorkerKilled):
        sending.outbox_send()
    released = _after_the_lease()

    # The two before went, the three after went once the lease ran out, the one in flight was with Twilio
    # (no idempotency key there): never sent again, marked interrupted.
    assert (released.requeued, released.interrupted) == (2, 1)
    assert len(sms.outbox) == 5
    assert sorted(text.to for text in sms.outbox) == sorted(shopper.contacts.get().value for shopper in shoppers)
    assert _statuses(campaign) == [OutboxStatus.FAILED] + [OutboxStatus.SENT] * 4
    assert OutboxMessage.objects.get(campaign=campaign, status=OutboxStatus.FAILED).reason == "interrupted"


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_killed_after_the_hand_off_before_recording_it(merchant, daytime, monkeypatch, channel):
    campaign, _shoppers = _queued(merchant, channel=channel)

    def die(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(sending, "_record_deliveries", die)
    with pytest.raises(WorkerKilled):
        sending.outbox_send()
    monkeypatch.undo()
    sending.outbox_send()  # nothing while the lease holds
    _after_the_lease()

    message = OutboxMessage.objects.get(campaign=campaign)
    if channel == "email":
        assert [email.extra_headers["Message-ID"] for email in mail.outbox] == [message_id_header(message.pk)] * 2
        assert message.status == OutboxStatus.SENT
    else:
        assert len(sms.outbox) == 1
        assert (message.status, message.reason) == (OutboxStatus.FAILED, "interrupted")


def test_the_sweep_leaves_live_claims_alone(merchant, daytime):
    campaign, _shoppers = _queued(merchant, count=2)
    sending.outbox_claim(claimed_by="live worker")

    released = sending.outbox_release_stale(now=timezone.now() + sending.CLAIM_LEASE - timedelta(seconds=5))

    assert (released.requeued, released.interrupted) == (0, 0)
    assert _statuses(campaign) == [OutboxStatus.SENDING] * 2


def test_a_live_sender_renews_its_lease(merchant, daytime, monkeypatch):
    campaign, _shoppers = _queued(merchant)
    lease = sending._Lease("live worker")
    sending.outbox_claim(claimed_by=lease.token)
    OutboxMessage.objects.filter(campaign=campaign).update(claimed_at=timezone.now() - sending.CLAIM_LEASE)

    lease.renewed -= sending.HEARTBEAT.total_seconds()  # a heartbeat is due
    lease.renew_if_due()

    assert sending.outbox_release_stale().requeued == 0
    assert _statuses(campaign) == [OutboxStatus.SENDING]


def test_a_message_that_keeps_dying_with_its_worker_is_closed(merchant, daytime):
    campaign, _shoppers = _queued(merchant)
    OutboxMessage.objects.filter(campaign=campaign).update(attempts=sending.MAX_ATTEMPTS - 1)
    sending.outbox_claim(claimed_by="dying worker")

    released = sending.outbox_release_stale(now=timezone.now() + sending.CLAIM_LEASE + timedelta(seconds=1))

    assert (released.requeued, released.interrupted) == (0, 1)
    message = OutboxMessage.objects.get(campaign=campaign)
    assert (message.status, message.reason) == (OutboxStatus.FAILED, "interrupted")


def test_a_sender_whose_lease_ran_out_cannot_hand_over_rows_claimed_again(merchant, daytime):
    campaign, _shoppers = _queued(merchant)
    late = sending._Lease("stalled worker")
    (message_id,) = sending.outbox_claim(claimed_by=late.token)
    sending.outbox_release_stale(now=timezone.now() + sending.CLAIM_LEASE + timedelta(seconds=1))
    sending.outbox_claim(claimed_by="next worker")

    assert sending._mark_handing([message_id], late, durable=True) == set()
    assert _statuses(campaign) == [OutboxStatus.SENDING]


class StallingEmailBackend:
    """The first hand-off hangs past the lease: meanwhile the sweep releases the claim and another sender
    claims the rows (done here, as it happens while the call hangs)."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        mail.outbox.extend(messages)
        if len(mail.outbox) == 1:
            StallingEmailBackend.clock += 60
            sending.outbox_release_stale(now=timezone.now() + sending.CLAIM_LEASE + timedelta(seconds=1))
            sending.outbox_claim(claimed_by="next worker")
        return len(messages)


def test_a_sender_that_hung_past_its_lease_hands_over_nothing_it_no_longer_holds(merchant, daytime, monkeypatch):
    campaign, _shoppers = _queued(merchant, count=3)
    StallingEmailBackend.clock = 0.0
    monkeypatch.setattr(sending, "monotonic", lambda: StallingEmailBackend.clock)

    with override_settings(EMAIL_BACKEND=f"{__name__}.StallingEmailBackend"):
        sending.outbox_send()
    assert len(mail.outbox) == 1  # the stalled sender stopped after the hand-off that hung
    _after_the_lease()  # the next sender died too: its claim is released, and the messages go

    assert _statuses(campaign) == [OutboxStatus.SENT] * 3
    message_ids = [email.extra_headers["Message-ID"] for email in mail.outbox]
    assert len(message_ids) == 4  # the one in flight during the hang went again, under its Message-ID
    assert len(set(message_ids)) == 3
