"""Coupons redeemed at the same moment on real PostgreSQL with real threads: the cap holds."""

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Coupon
from campaigns.offers.services import coupon_issue, coupon_redeem
from core.errors import ApplicationError
from tests.campaigns.factories import OfferFactory
from tests.loyalty.test_concurrency import race
from tests.profiles.factories import ShopperFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_redemptions_never_pass_the_cap(merchant):
    offer = OfferFactory(merchant=merchant, max_redemptions=2)
    codes = [
        coupon_issue(offer=offer, shopper=ShopperFactory(merchant=merchant), at=timezone.now()).code for _ in range(5)
    ]
    connection.close()

    results = race([lambda code=code: coupon_redeem(merchant=merchant, code=code, at=timezone.now()) for code in codes])

    redeemed = [result for result in results if isinstance(result, Coupon)]
    refused = [result for result in results if isinstance(result, ApplicationError)]
    assert len(redeemed) == 2 and len(refused) == 3, results
    assert {error.code for error in refused} == {"offer_cap_reached"}
    assert Coupon.objects.filter(offer=offer, redeemed_at__isnull=False).count() == 2


def test_the_same_code_redeemed_twice_at_once_is_used_once(merchant):
    offer = OfferFactory(merchant=merchant)
    code = coupon_issue(offer=offer, shopper=ShopperFactory(merchant=merchant), at=timezone.now()).code
    connection.close()

    results = race([lambda: coupon_redeem(merchant=merchant, code=code, at=timezone.now()) for _ in range(4)])

    assert sum(isinstance(result, Coupon) for result in results) == 1, results
    assert {result.code for result in results if isinstance(result, ApplicationError)} == {"coupon_already_redeemed"}
