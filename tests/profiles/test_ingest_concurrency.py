"""Ingest racing merges and other batches, on real PostgreSQL with real threads and connections."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction

from profiles.models import Channel, Purchase, ShopperRollup
from profiles.services import identity, rollups
from profiles.services.batch import purchase_record_batch
from profiles.services.purchases import PurchaseInput, cards_resolve, purchase_record
from tests.profiles.factories import CardFactory, ShopperFactory

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
# Long enough for a blocked statement to show it is blocked; a blocked test fails, it does not hang.
BLOCKED_FOR = 0.5
WAIT = 20


class Worker(threading.Thread):
    """Runs `work` in its own database connection; keeps its result or the exception it raised."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None

    def run(self) -> None:
        try:
            self.result = self.work()
        except Exception as error:  # handed to the test, which asserts on it
            self.error = error
        finally:
            connections.close_all()

    def outcome(self) -> object:
        self.join(WAIT)
        assert not self.is_alive(), "still running"
        if self.error is not None:
            raise self.error
        return self.result


def held_open(work: Callable[[], object], done: threading.Event, release: threading.Event) -> Callable[[], object]:
    """`work` in a transaction that stays open (its locks held) until `release` is set."""

    def run() -> object:
        with transaction.atomic():
            result = work()
            done.set()
            assert release.wait(WAIT)
        return result

    return run


def purchase(merchant, external_id: str, card, *, minutes: int = 0) -> PurchaseInput:
    return PurchaseInput(
        external_id=external_id,
        amount_minor=1000,
        currency=merchant.currency,
        occurred_at=T0 + timedelta(minutes=minutes),
        channel=Channel.ONLINE,
        card_token=card.token,
    )


@pytest.fixture
def pair(merchant):
    survivor, merged = ShopperFactory(merchant=merchant), ShopperFactory(merchant=merchant)
    card = CardFactory(shopper=merged)
    connection.close()
    return survivor, merged, card


def test_a_purchase_arriving_while_a_merge_commits_lands_on_the_survivor(merchant, pair):
    survivor, merged, card = pair
    merge_done, release = threading.Event(), threading.Event()
    merging = Worker(
        held_open(
            lambda: identity.shopper_merge(
                merchant=merchant, survivor=survivor, merged=merged, actor=None, reason="Same person"
            ),
            merge_done,
            release,
        )
    )
    merging.start()
    assert merge_done.wait(WAIT)

    # when a purchase on the merged profile's card arrives before the merge commits
    recording = Worker(lambda: purchase_record(merchant=merchant, data=purchase(merchant, "during", card)))
    recording.start()
    recording.join(BLOCKED_FOR)
    assert recording.is_alive(), "the purchase must wait for the merge"
    release.set()
    merging.outcome()
    recorded = recording.outcome().purchase

    # then it follows the merge
    assert Purchase.all_merchants.get(pk=recorded.pk).shopper_id == survivor.pk
    assert ShopperRollup.objects.get(shopper=survivor).purchase_count == 1
    assert not ShopperRollup.objects.filter(shopper=merged).exists()


def test_a_merge_starting_while_a_purchase_is_open_moves_it_to_the_survivor(merchant, pair):
    survivor, merged, card = pair
    recorded, release = threading.Event(), threading.Event()
    recording = Worker(
        held_open(
            lambda: purchase_record(merchant=merchant, data=purchase(merchant, "before", card)), recorded, release
        )
    )
    recording.start()
    assert recorded.wait(WAIT)

    # when a merge starts before the purchase commits
    merging = Worker(
        lambda: identity.shopper_merge(merchant=merchant, survivor=survivor, merged=merged, actor=None, reason="Same")
    )
    merging.start()
    merging.join(BLOCKED_FOR)
    assert merging.is_alive(), "the merge must wait for the purchase"
    release.set()
    made = recording.outcome().purchase
    event = merging.outcome()

    # then the merge moved it, and an undo would put it back
    assert Purchase.all_merchants.get(pk=made.pk).shopper_id == survivor.pk
    assert made.pk in event.moved["purchases"]
    assert ShopperRollup.objects.get(shopper=survivor).purchase_count == 1


def test_batches_sharing_shoppers_do_not_wait_for_each_other_to_resolve_cards(merchant):
    cards = [CardFactory(shopper=ShopperFactory(merchant=merchant)) for _ in range(5)]
    connection.close()
    resolved, release = threading.Event(), threading.Event()
    # given one batch that resolved these cards and has not committed yet
    first = Worker(
        held_open(lambda: cards_resolve(merchant=merchant, card_tokens=[c.token for c in cards]), resolved, release)
    )
    first.start()
    assert resolved.wait(WAIT)

    # when another batch on the same cards comes in, it goes through without waiting
    second = Worker(
        lambda: purchase_record_batch(
            merchant=merchant, rows=[purchase(merchant, f"second-{i}", card) for i, card in enumerate(cards)]
        )
    )
    second.start()
    second.join(WAIT)
    finished_while_first_open = not second.is_alive()
    release.set()
    first.outcome()

    assert finished_while_first_open
    assert [result.status for result in second.outcome()] == ["created"] * 5


def test_concurrent_batches_on_the_same_shoppers_all_land_and_the_rollups_add_up(merchant):
    cards = [CardFactory(shopper=ShopperFactory(merchant=merchant)) for _ in range(8)]
    connection.close()

    def batch(name: str, order: list) -> Callable[[], object]:
        rows = [purchase(merchant, f"{name}-{i}", card, minutes=i) for i, card in enumerate(order * 5)]
        return lambda: purchase_record_batch(merchant=merchant, rows=rows)

    # two batches touching the same shoppers' rows in opposite orders (a deadlock if locks were taken unordered)
    workers = [Worker(batch("a", cards)), Worker(batch("b", cards[::-1])), Worker(batch("c", cards[::2]))]
    for worker in workers:
        worker.start()
    statuses = [result.status for worker in workers for result in worker.outcome()]

    assert statuses == ["created"] * 100
    assert Purchase.objects.filter(merchant=merchant).count() == 100
    assert sum(ShopperRollup.objects.filter(merchant=merchant).values_list("purchase_count", flat=True)) == 100
    with transaction.atomic():
        assert rollups.rollups_rebuild(merchant=merchant).total == 0


def test_two_refunds_of_one_shopper_at_once_leave_one_exact_rollup(merchant):
    from profiles.services.purchases import purchase_refund

    card = CardFactory(shopper=ShopperFactory(merchant=merchant))
    first = purchase_record(merchant=merchant, data=purchase(merchant, "r-1", card)).purchase
    # in another hour: the two refunds share no store-hour row, which would make the second wait
    second = purchase_record(merchant=merchant, data=purchase(merchant, "r-2", card, minutes=150)).purchase
    connection.close()
    refunded, release = threading.Event(), threading.Event()

    # when one refund recomputes the shopper's row and holds its transaction open
    holding = Worker(
        held_open(lambda: purchase_refund(merchant=merchant, purchase_id=first.pk, amount_minor=400), refunded, release)
    )
    holding.start()
    assert refunded.wait(WAIT)
    # and another refund of the same shopper recomputes the same row meanwhile
    other = Worker(lambda: purchase_refund(merchant=merchant, purchase_id=second.pk))
    other.start()
    other.join(BLOCKED_FOR)
    release.set()
    holding.outcome()
    other.outcome()  # before: a duplicate key on the rollup's primary key

    # then the row is what the purchases say
    row = ShopperRollup.objects.get(shopper=card.shopper)
    assert (row.purchase_count, row.total_minor) == (1, 600)
    with transaction.atomic():
        assert rollups.rollups_rebuild(merchant=merchant).total == 0
