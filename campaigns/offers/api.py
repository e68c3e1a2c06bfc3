"""The offers API for checkout plugins: a shopper's live offers, and redeeming a coupon code."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import Coupon
from campaigns.offers import selectors, services
from campaigns.offers import serializers as s
from core.idempotency import idempotent
from core.schema import error_responses, idempotency_header
from profiles.api import READ_ERRORS, MerchantAPIView
from profiles.models import Shopper


class ShopperOffersApi(MerchantAPIView):
    """The offers a shopper holds that are live right now."""

    required_scopes = {"GET": "loyalty:read"}

    @extend_schema(
        operation_id="offers_for_shopper",
        tags=["offers"],
        responses={200: s.ShopperOffersOutputSerializer, **READ_ERRORS},
        description=(
            "Unredeemed coupons and card-linked offers the shopper was sent, while live: inside their dates, "
            "inside their daily window (in the store's timezone) and under their cap. An offer leaves this "
            "list the moment its window ends."
        ),
    )
    def get(self, request: Request, shopper_id: str) -> Response:
        shopper = get_object_or_404(Shopper.objects.for_merchant(self.merchant), public_id=shopper_id)
        offers = selectors.offers_for_shopper(merchant=self.merchant, shopper=shopper, at=timezone.now())
        body = s.ShopperOffersOutputSerializer({"shopper_id": shopper.public_id, "offers": offers}).data
        return Response(body)


class CouponRedeemApi(MerchantAPIView):
    """Use a shopper's coupon code at checkout."""

    required_scopes = {"POST": "loyalty:write"}

    @extend_schema(
        operation_id="coupons_redeem",
        tags=["offers"],
        request=s.CouponRedeemInputSerializer,
        parameters=[idempotency_header(required=True)],
        responses={200: s.CouponOutputSerializer, **error_responses(400, 401, 403, 404, 409, 422, 429)},
        description=(
            "Mark the coupon used, optionally on a recorded purchase. 404 for an unknown code (or another "
            "merchant's); 409 `coupon_already_redeemed` or `offer_cap_reached`; 422 `offer_expired`, "
            "`offer_not_started` or `offer_outside_daily_window`. Nothing changes when refused. An "
            "`Idempotency-Key` is required, so a retry returns the first answer instead of a 409."
        ),
    )
    @idempotent(required=True)
    def post(self, request: Request, code: str) -> Response:
        data = self.parse(s.CouponRedeemInputSerializer)
        coupon = services.coupon_redeem(
            merchant=self.merchant, code=code, at=timezone.now(), purchase=data.get("purchase_id")
        )
        coupon = (
            Coupon.objects.for_merchant(self.merchant).select_related("offer", "shopper", "purchase").get(pk=coupon.pk)
        )
        return Response(s.CouponOutputSerializer(coupon).data, status=status.HTTP_200_OK)
