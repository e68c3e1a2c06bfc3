"""The benchmarks' own parts: the bodies they send are accepted, and the control endpoint does what it says."""

import json
import random

import pytest
from django.test import override_settings

from benchmarks.common import PurchaseBodies
from benchmarks.load import LoadResult
from profiles.models import Purchase
from tests.profiles.factories import CardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bodies(store, merchant):
    card = CardFactory(shopper__merchant=merchant)
    return PurchaseBodies(prefix="test", store_ids=[store.pk], card_tokens=[card.token])


def test_the_purchase_bodies_are_accepted_by_the_api(api_client, bodies):
    rng = random.Random(1)
    statuses = [
        api_client.post("/api/v1/purchases", bodies.body(rng, str(number)), format="json").status_code
        for number in range(20)
    ]

    assert statuses == [201] * 20


@override_settings(ROOT_URLCONF="benchmarks.urls")
def test_the_control_validates_the_same_body_and_inserts_one_row(client, merchant, bodies, settings):
    settings.BENCH_MERCHANT_ID = merchant.pk
    body = bodies.body(random.Random(2), "control")

    created = client.post("/bench/control", json.dumps(body), content_type="application/json")
    refused = client.post("/bench/control", json.dumps({**body, "amount_minor": 0}), content_type="application/json")

    assert created.status_code == 201
    assert refused.status_code == 400
    purchase = Purchase.all_merchants.get(external_id=body["external_id"])
    assert (purchase.merchant_id, purchase.amount_minor, purchase.line_items.count()) == (
        merchant.pk,
        body["amount_minor"],
        0,
    )


def test_load_results_add_up():
    result = LoadResult(seconds=2.0, latencies_ms=[1.0, 2.0, 3.0, 40.0])
    result.statuses.update({201: 3, 500: 1})

    assert (result.ok, result.errors, result.rps) == (3, 1, 1.5)
    assert result.summary("ours")["ours_p50_ms"] == 3.0


def test_the_loyalty_setup_has_ten_rules_two_offers_and_earns(api_client, bodies, merchant, store):
    from benchmarks.loyalty import bench_program_seed
    from loyalty.models import EarnRule, LedgerEntry, Offer
    from tests.factories import StoreFactory

    bench_program_seed(merchant=merchant, store_ids=[store.pk, StoreFactory(merchant=merchant).pk])
    rng = random.Random(2)
    statuses = [
        api_client.post("/api/v1/purchases", bodies.body(rng, str(number)), format="json").status_code
        for number in range(20)
    ]

    assert statuses == [201] * 20
    assert EarnRule.objects.filter(merchant=merchant, is_active=True).count() == 10
    assert Offer.objects.filter(merchant=merchant).count() == 2
    assert LedgerEntry.objects.filter(merchant=merchant, reason="earn").exists()
