"""The checkout plugins' loyalty API: redeemable rewards, redeem (idempotent), reverse."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import LedgerEntry, Redemption
from merchants import services as merchant_services
from tests.loyalty.conftest import account_of
from tests.loyalty.factories import RewardFactory

pytestmark = pytest.mark.django_db


def post(client, name, body=None, key=None, **kwargs):
    """A write under a fresh Idempotency-Key unless one is given ("" sends none)."""
    key = str(uuid.uuid4()) if key is None else key
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(reverse(name, kwargs=kwargs or None), body, format="json", **headers)


@pytest.fixture
def member(program, buy, shopper):
    buy(25000)  # 250 points
    return shopper


@pytest.fixture
def rewards(program):
    return {
        "coffee": RewardFactory(
            program=program,
            name="Free coffee",
            kind="free_item",
            free_item_sku="COF-1",
            amount_off_minor=None,
            points_cost=100,
        ),
        "ten_off": RewardFactory(program=program, name="10 off", points_cost=200, amount_off_minor=1000),
        "big": RewardFactory(program=program, name="50 off", points_cost=1000, amount_off_minor=5000),
        "later": RewardFactory(
            program=program, name="Spring", points_cost=10, available_from=timezone.now() + timedelta(days=30)
        ),
    }


def test_redeemable_lists_what_the_balance_pays_for_now(api_client, member, rewards):
    response = api_client.get(reverse("api_loyalty_redeemable", args=[member.public_id]))

    assert response.status_code == 200
    body = response.json()
    assert body["points_balance"] == 250
    assert [reward["name"] for reward in body["rewards"]] == ["Free coffee", "10 off"]


@pytest.mark.parametrize("route", ["api_loyalty_redeem", "api_loyalty_redemption_reverse"])
def test_a_points_write_without_an_idempotency_key_is_refused_and_takes_nothing(api_client, member, rewards, route):
    body = {"shopper_id": str(member.public_id), "reward_id": str(rewards["ten_off"].public_id), "order_reference": "A"}
    redemption = post(api_client, "api_loyalty_redeem", body).json()
    balance = account_of(member).points_balance
    kwargs = {"redemption_id": redemption["id"]} if route == "api_loyalty_redemption_reverse" else {}

    response = post(api_client, route, body if not kwargs else None, key="", **kwargs)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert list(response.json()["error"]["fields"]) == ["headers.Idempotency-Key"]
    assert account_of(member).points_balance == balance
    assert Redemption.objects.filter(merchant=member.merchant).count() == 1


def test_redeem_is_idempotent_and_reversible(api_client, member, rewards):
    body = {
        "shopper_id": str(member.public_id),
        "reward_id": str(rewards["ten_off"].public_id),
        "order_reference": "A1",
    }

    first = post(api_client, "api_loyalty_redeem", body, key="k-1")
    replay = post(api_client, "api_loyalty_redeem", body, key="k-1")

    assert first.status_code == 201 and first.json()["points_balance"] == 50
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
    assert Redemption.all_merchants.count() == 1

    reverse_once = post(api_client, "api_loyalty_redemption_reverse", redemption_id=first.json()["id"], key="r-1")
    again = post(api_client, "api_loyalty_redemption_reverse", redemption_id=first.json()["id"], key="r-2")
    assert reverse_once.status_code == 200 and reverse_once.json()["status"] == "reversed"
    assert reverse_once.json()["points_balance"] == 250
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reversed"
    assert account_of(member).points_balance == 250


def test_redeem_more_than_the_balance_is_refused_and_takes_nothing(api_client, member, rewards):
    body = {"shopper_id": str(member.public_id), "reward_id": str(rewards["big"].public_id)}

    response = post(api_client, "api_loyalty_redeem", body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "insufficient_points"
    assert "reward_id" in response.json()["error"]["fields"]
    assert account_of(member).points_balance == 250
    assert not LedgerEntry.all_merchants.filter(reason="redemption").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shopper_id": None}, "shopper_id"),
        ({"shopper_id": "not-a-uuid"}, "shopper_id"),
        ({"shopper_id": str(uuid.uuid4())}, "shopper_id"),
        ({"reward_id": "not-a-uuid"}, "reward_id"),
        ({"reward_id": str(uuid.uuid4())}, "reward_id"),
        ({"points": 5}, "points"),
    ],
)
def test_bad_redeem_input_is_400_with_field_errors(api_client, member, rewards, body, field):
    valid = {"shopper_id": str(member.public_id), "reward_id": str(rewards["coffee"].public_id)}

    response = post(api_client, "api_loyalty_redeem", {**valid, **body})

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert not Redemption.all_merchants.exists()


def test_reward_not_available_yet_is_refused(api_client, member, rewards):
    body = {"shopper_id": str(member.public_id), "reward_id": str(rewards["later"].public_id)}
    response = post(api_client, "api_loyalty_redeem", body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "reward_unavailable"


def test_scopes_are_required(merchant, member, rewards):
    _key, secret = merchant_services.api_key_create(
        merchant=merchant, actor=None, name="Read only", scopes=["loyalty:read"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    body = {"shopper_id": str(member.public_id), "reward_id": str(rewards["coffee"].public_id)}

    assert client.get(reverse("api_loyalty_redeemable", args=[member.public_id])).status_code == 200
    refused = post(client, "api_loyalty_redeem", body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "missing_scope"


def test_another_merchant_gets_404_on_every_loyalty_endpoint(api_client, other_api_client, member, rewards):
    redemption = post(
        api_client,
        "api_loyalty_redeem",
        {"shopper_id": str(member.public_id), "reward_id": str(rewards["coffee"].public_id)},
    ).json()

    assert other_api_client.get(reverse("api_loyalty_redeemable", args=[member.public_id])).status_code == 404
    foreign = post(
        other_api_client,
        "api_loyalty_redeem",
        {"shopper_id": str(member.public_id), "reward_id": str(rewards["coffee"].public_id)},
    )
    assert foreign.status_code == 400 and set(foreign.json()["error"]["fields"]) == {"shopper_id", "reward_id"}
    assert post(other_api_client, "api_loyalty_redemption_reverse", redemption_id=redemption["id"]).status_code == 404
    assert Redemption.all_merchants.get().status == "redeemed"
