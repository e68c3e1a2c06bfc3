"""Rollups kept on ingest must equal a recomputation from raw rows, whatever the mix of events."""

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from profiles.models import PurchaseSource
from profiles.services import rollups
from profiles.services.batch import purchase_record_batch
from profiles.services.purchases import PurchaseInput, purchase_record, purchase_refund
from tests.factories import StoreFactory
from tests.profiles.factories import CardFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # spans the European DST change

record = st.tuples(
    st.just("record"),
    st.integers(0, 3),  # card index; 3 = no card (anonymous)
    st.sampled_from(["seoul", "paris", "online"]),
    st.integers(1, 50_000),
    st.integers(0, 60 * 24 * 3),
)
refund = st.tuples(st.just("refund"), st.integers(0, 1000), st.integers(0, 3), st.none(), st.none())
batch = st.tuples(
    st.just("batch"),
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 9_000), st.integers(0, 60 * 24 * 3)), min_size=1, max_size=6),
    st.none(),
    st.none(),
    st.none(),
)


class Rollback(Exception):
    pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(st.one_of(record, refund, batch), min_size=1, max_size=25))
def test_rollups_equal_recomputation_after_any_mix_of_purchases_and_refunds(merchant, operations):
    try:
        with transaction.atomic():
            _run(merchant, operations)
            drift = rollups.rollups_rebuild(merchant=merchant)
            assert (drift.shopper_rows, drift.store_hour_rows) == (0, 0)
            raise Rollback
    except Rollback:
        pass


def _run(merchant, operations):
    stores = {
        "seoul": StoreFactory(merchant=merchant, name="Seoul", timezone="Asia/Seoul"),
        "paris": StoreFactory(merchant=merchant, name="Paris", timezone="Europe/Paris"),
        "online": None,
    }
    cards = [CardFactory(shopper__merchant=merchant) for _ in range(3)]
    recorded = []
    counter = 0

    def purchase(card_index, where, amount, minutes):
        nonlocal counter
        counter += 1
        return PurchaseInput(
            external_id=f"p{counter}",
            amount_minor=amount,
            currency=merchant.currency,
            occurred_at=START + timedelta(minutes=minutes),
            channel="online" if where == "online" else "in_store",
            store=stores[where],
            card_token=cards[card_index].token if card_index < 3 else None,
            source=PurchaseSource.API,
        )

    for kind, a, b, c, d in operations:
        if kind == "record":
            recorded.append(purchase_record(merchant=merchant, data=purchase(a, b, c, d)).purchase)
        elif kind == "batch":
            rows = [purchase(card, "paris" if amount % 2 else "online", amount, minutes) for card, amount, minutes in a]
            recorded.extend(r.purchase for r in purchase_record_batch(merchant=merchant, rows=rows) if r.purchase)
        elif recorded:
            target = recorded[a % len(recorded)]
            remaining = (
                target.amount_minor - type(target).objects.get(merchant=target.merchant_id, pk=target.pk).refunded_minor
            )
            portion = None if b == 0 else max(1, remaining // (b + 1))
            with contextlib.suppress(ApplicationError):  # already fully refunded
                purchase_refund(merchant=merchant, purchase_id=target.pk, amount_minor=portion)


def test_rebuild_reports_and_repairs_drift(merchant):
    store = StoreFactory(merchant=merchant, timezone="Europe/Paris")
    card = CardFactory(shopper__merchant=merchant)
    for minute in range(3):
        purchase_record(
            merchant=merchant,
            data=PurchaseInput(
                external_id=f"x{minute}",
                amount_minor=1000,
                currency="EUR",
                occurred_at=START + timedelta(minutes=minute),
                channel="in_store",
                store=store,
                card_token=card.token,
            ),
        )
    from profiles.models import ShopperRollup, StoreHourRollup

    ShopperRollup.objects.filter(shopper=card.shopper).update(total_minor=1)
    StoreHourRollup.objects.filter(merchant=merchant).update(purchase_count=99)

    drift = rollups.rollups_rebuild(merchant=merchant)

    assert (drift.shopper_rows, drift.store_hour_rows) == (2, 2)  # each wrong row counts as missing + extra
    rollup = ShopperRollup.objects.get(shopper=card.shopper)
    assert (rollup.purchase_count, rollup.total_minor, rollup.last_store_id) == (3, 3000, store.pk)
    assert rollups.rollups_rebuild(merchant=merchant).total == 0
