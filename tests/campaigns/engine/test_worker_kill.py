"""A real worker killed with SIGKILL in the middle of a broadcast batch, a new worker, the sweep: every treated
shopper gets their message, and no message reaches the channel twice under two identities."""

import os
import signal
import time
from collections import defaultdict
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from campaigns.channels import EmailChannel, message_id_header
from campaigns.models import OutboxMessage, OutboxStatus
from campaigns.services import sending
from campaigns.tasks import send_due_messages
from tests.campaigns.engine.helpers import campaign_with_message, launched, reachable_shopper
from tests.test_celery_worker import not_eager, start_worker, stop_worker  # noqa: F401 - fixture

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("not_eager", "daytime"),
]

SHOPPERS = 300
KILL_AFTER = 100  # hand-offs recorded before the kill: the batch of 300 is a third through
UNFINISHED = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.HANDING)


def _handed(path):
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def _wait(condition, *, seconds, worker, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"worker exited while waiting for {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s")
        time.sleep(0.05)


def _broadcast_killed_mid_batch(merchant, tmp_path, *, channel, shoppers, kill_after):
    """A broadcast to `shoppers` reachable shoppers on a worker SIGKILLed after `kill_after` hand-offs, a new
    worker, the sweep once the lease has run out; returns the campaign, each shopper's address, the hand-offs
    and what the kill left, when the broadcast has finished."""
    # given a broadcast to a few hundred reachable shoppers, and a channel that records every hand-off
    audience = [reachable_shopper(merchant, channel=channel, purposes=("marketing",)) for _ in range(shoppers)]
    address_of = {shopper.pk: shopper.contacts.get().value for shopper in audience}
    handed_file = tmp_path / "handed.tsv"
    backends = {
        "EMAIL_BACKEND": "tests.campaigns.engine.recording_backend.RecordingBackend",
        "SMS_BACKEND": "tests.campaigns.engine.recording_backend.RecordingSmsBackend",
        "RECORDING_EMAIL_FILE": str(handed_file),
        "RECORDING_SMS_FILE": str(handed_file),
        "RECORDING_EMAIL_DELAY": "0.01",
    }
    first = start_worker(log=tmp_path / "first-worker.log", **backends)
    try:
        campaign = launched(campaign_with_message(merchant, channel=channel))  # commits: the run goes to the worker

        # when the worker is killed with SIGKILL in the middle of the batch
        _wait(lambda: len(_handed(handed_file)) >= kill_after, seconds=45, worker=first, what="hand-offs")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    handed_before_kill = len(_handed(handed_file))
    left = dict(
        OutboxMessage.objects.filter(campaign=campaign, status__in=UNFINISHED)
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    assert 0 < handed_before_kill < shoppers  # the kill landed mid-batch
    assert left  # and left claimed rows behind

    # and a new worker starts, and the sweep runs once the dead worker's lease has run out
    second = start_worker(log=tmp_path / "second-worker.log", **backends)
    try:
        released = sending.outbox_release_stale(now=timezone.now() + sending.CLAIM_LEASE + timedelta(seconds=1))
        send_due_messages.delay()
        _wait(
            lambda: not OutboxMessage.objects.filter(campaign=campaign, status__in=UNFINISHED).exists(),
            seconds=45,
            worker=second,
            what="end of the broadcast",
        )
    finally:
        stop_worker(second)
    handed = _handed(handed_file)
    print(  # noqa: T201 - the counts, for whoever runs this with -s
        f"\n{channel}: handed before the kill: {handed_before_kill}; left claimed: {left}; released: {released}; "
        f"hand-offs: {len(handed)} for {shoppers} shoppers"
    )
    return campaign, address_of, handed


def test_a_worker_killed_mid_batch_loses_no_email_and_sends_none_twice(merchant, tmp_path):
    campaign, address_of, handed = _broadcast_killed_mid_batch(
        merchant, tmp_path, channel="email", shoppers=300, kill_after=100
    )

    # then every treated shopper got exactly one message, none got two
    messages = dict(OutboxMessage.objects.filter(campaign=campaign).values_list("pk", "shopper_id"))
    assert len(messages) == 300
    assert set(OutboxMessage.objects.filter(campaign=campaign).values_list("status", flat=True)) == {OutboxStatus.SENT}
    identities_by_address = defaultdict(set)
    for message_id, address in handed:
        identities_by_address[address].add(message_id)
    assert set(identities_by_address) == set(address_of.values())
    assert all(len(identities) == 1 for identities in identities_by_address.values())
    assert {identities.pop() for identities in identities_by_address.values()} == {
        message_id_header(pk) for pk in messages
    }
    # Only what had reached the channel but was not yet recorded went a second time, under the same Message-ID.
    assert len(handed) - 300 <= EmailChannel.record_group


def test_a_worker_killed_mid_batch_sends_no_text_twice_and_loses_at_most_the_one_in_flight(merchant, tmp_path):
    campaign, address_of, handed = _broadcast_killed_mid_batch(
        merchant, tmp_path, channel="sms", shoppers=60, kill_after=20
    )

    # then no number got two texts, and every shopper got theirs but at most the one whose text was in flight
    numbers = [number for _message_id, number in handed]
    assert len(numbers) == len(set(numbers))
    assert len(set(address_of.values()) - set(numbers)) <= 1
    statuses = list(OutboxMessage.objects.filter(campaign=campaign).values_list("status", "reason"))
    assert len(statuses) == 60
    assert statuses.count((OutboxStatus.SENT, "")) >= 59
    assert set(statuses) <= {(OutboxStatus.SENT, ""), (OutboxStatus.FAILED, "interrupted")}
