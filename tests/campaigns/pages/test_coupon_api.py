"""POST /api/v1/coupons/{code}/redeem: idempotent, capped, windowed, and merchant-scoped."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Coupon
from campaigns.offers.services import coupon_issue
from tests.campaigns.factories import OfferFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon(merchant):
    offer = OfferFactory(merchant=merchant, name="Five off", amount_off_minor=500)
    return coupon_issue(offer=offer, shopper=ShopperFactory(merchant=merchant), at=timezone.now())


def _redeem(client, code, body=None, key=None):
    """A redemption under a fresh Idempotency-Key unless one is given ("" sends none)."""
    key = str(uuid.uuid4()) if key is None else key
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"/api/v1/coupons/{code}/redeem", body or {}, format="json", **headers)


def test_redeem_marks_the_coupon_used_on_the_purchase(api_client, coupon, merchant):
    purchase = PurchaseFactory(merchant=merchant, shopper=coupon.shopper)

    response = _redeem(api_client, coupon.code.lower(), {"purchase_id": str(purchase.public_id)})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["code"] == coupon.code and body["offer"]["name"] == "Five off"
    assert body["purchase_id"] == str(purchase.public_id)
    coupon.refresh_from_db()
    assert coupon.redeemed_at is not None and coupon.purchase == purchase


def test_the_same_idempotency_key_returns_the_first_answer(api_client, coupon):
    first = _redeem(api_client, coupon.code, key="till-7-order-1")
    again = _redeem(api_client, coupon.code, key="till-7-order-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


def test_a_second_redemption_under_another_key_is_a_conflict(api_client, coupon):
    assert _redeem(api_client, coupon.code).status_code == 200

    response = _redeem(api_client, coupon.code, key="another-order")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "coupon_already_redeemed"


def test_a_redemption_without_an_idempotency_key_is_refused_and_changes_nothing(api_client, coupon):
    response = _redeem(api_client, coupon.code, key="")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert list(response.json()["error"]["fields"]) == ["headers.Idempotency-Key"]
    coupon.refresh_from_db()
    assert coupon.redeemed_at is None


def test_the_cap_stops_redemptions_once_reached(api_client, merchant):
    offer = OfferFactory(merchant=merchant, max_redemptions=1)
    first, second = (
        coupon_issue(offer=offer, shopper=ShopperFactory(merchant=merchant), at=timezone.now()) for _ in range(2)
    )
    assert _redeem(api_client, first.code).status_code == 200

    response = _redeem(api_client, second.code)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "offer_cap_reached"
    assert Coupon.all_merchants.get(pk=second.pk).redeemed_at is None


def test_an_expired_offer_cannot_be_redeemed(api_client, coupon):
    coupon.offer.valid_until = timezone.now() - timedelta(seconds=1)
    coupon.offer.save()

    response = _redeem(api_client, coupon.code)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "offer_expired"
    assert Coupon.all_merchants.get(pk=coupon.pk).redeemed_at is None


def test_outside_the_daily_window_is_refused(api_client, coupon, merchant):
    import zoneinfo

    now = timezone.now().astimezone(zoneinfo.ZoneInfo(merchant.timezone))
    coupon.offer.daily_start = (now + timedelta(hours=1)).time()
    coupon.offer.daily_end = (now + timedelta(hours=2)).time()
    coupon.offer.save()

    response = _redeem(api_client, coupon.code)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "offer_outside_daily_window"


def test_another_merchants_coupon_is_404(other_api_client, coupon):
    response = _redeem(other_api_client, coupon.code)

    assert response.status_code == 404
    assert Coupon.all_merchants.get(pk=coupon.pk).redeemed_at is None


def test_bad_input_is_400_with_field_errors(api_client, coupon, other_merchant):
    foreign_purchase = PurchaseFactory(merchant=other_merchant)

    for body, field in (
        ({"purchase_id": "nope"}, "purchase_id"),
        ({"purchase_id": str(foreign_purchase.public_id)}, "purchase_id"),
        ({"amount": 5}, "amount"),
    ):
        response = _redeem(api_client, coupon.code, body)
        assert response.status_code == 400, body
        assert field in response.json()["error"]["fields"]
    assert Coupon.all_merchants.get(pk=coupon.pk).redeemed_at is None


def test_unknown_code_is_404(api_client):
    assert _redeem(api_client, "NOPE2345").status_code == 404


def test_redeeming_needs_the_write_scope(merchant, coupon):
    from rest_framework.test import APIClient

    from merchants import services

    _key, secret = services.api_key_create(merchant=merchant, actor=None, name="Read only", scopes=["loyalty:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    assert _redeem(client, coupon.code).status_code == 403
    assert client.get(f"/api/v1/shoppers/{coupon.shopper.public_id}/offers").status_code == 200


def test_a_purchase_of_another_shopper_is_refused(api_client, coupon, merchant):
    someone_else = PurchaseFactory(merchant=merchant, shopper=ShopperFactory(merchant=merchant))

    response = _redeem(api_client, coupon.code, {"purchase_id": str(someone_else.public_id)})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "purchase_mismatch"
    assert "purchase_id" in response.json()["error"]["fields"]
    assert Coupon.all_merchants.get(pk=coupon.pk).redeemed_at is None
