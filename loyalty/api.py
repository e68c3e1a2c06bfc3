"""The loyalty API for checkout plugins: what a shopper can redeem, redeem, reverse."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.idempotency import idempotent
from core.schema import idempotency_header
from loyalty import selectors
from loyalty import serializers as s
from loyalty.services import redeem
from profiles.api import READ_ERRORS, WRITE_ERRORS, MerchantAPIView
from profiles.models import Shopper


class RedeemableApi(MerchantAPIView):
    """The shopper's balance and the rewards they can redeem now."""

    required_scopes = {"GET": "loyalty:read"}

    @extend_schema(
        operation_id="loyalty_redeemable",
        tags=["loyalty"],
        responses={200: s.RedeemableOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, shopper_id: str) -> Response:
        shopper = get_object_or_404(Shopper.objects.for_merchant(self.merchant), public_id=shopper_id)
        return Response(
            s.RedeemableOutputSerializer(selectors.rewards_redeemable(merchant=self.merchant, shopper=shopper)).data
        )


class RedeemApi(MerchantAPIView):
    """Spend points on a reward at checkout."""

    required_scopes = {"POST": "loyalty:write"}

    @extend_schema(
        operation_id="loyalty_redeem",
        tags=["loyalty"],
        request=s.RedeemInputSerializer,
        parameters=[idempotency_header(required=True)],
        responses={201: s.RedemptionOutputSerializer, **WRITE_ERRORS},
        description=(
            "Take the reward's points from the shopper's balance. Refused with `insufficient_points` (nothing "
            "taken) when the balance does not cover it; two redemptions at once can never overdraw it. An "
            "`Idempotency-Key` is required, so a retry does not redeem twice."
        ),
    )
    @idempotent(required=True)
    def post(self, request: Request) -> Response:
        data = self.parse(s.RedeemInputSerializer)
        redemption = redeem.reward_redeem(
            merchant=self.merchant,
            shopper=data["shopper_id"],
            reward=data["reward_id"],
            order_reference=data["order_reference"],
        )
        redemption = selectors.redemption_get(merchant=self.merchant, public_id=redemption.public_id)
        return Response(s.RedemptionOutputSerializer(redemption).data, status=status.HTTP_201_CREATED)


class RedemptionReverseApi(MerchantAPIView):
    """Give the points of a redemption back (the order was cancelled)."""

    required_scopes = {"POST": "loyalty:write"}

    @extend_schema(
        operation_id="loyalty_redemption_reverse",
        tags=["loyalty"],
        request=None,
        parameters=[idempotency_header(required=True)],
        responses={200: s.RedemptionOutputSerializer, **WRITE_ERRORS},
    )
    @idempotent(required=True)
    def post(self, request: Request, redemption_id: str) -> Response:
        redemption = selectors.redemption_get(merchant=self.merchant, public_id=redemption_id)
        redeem.redemption_reverse(merchant=self.merchant, redemption=redemption)
        redemption = selectors.redemption_get(merchant=self.merchant, public_id=redemption_id)
        return Response(s.RedemptionOutputSerializer(redemption).data)
