from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Coupon, Offer
from core.serializers import StrictInputSerializer
from profiles.models import Purchase


@extend_schema_field(OpenApiTypes.UUID)
class MerchantScopedPurchaseField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": "No purchase with id {value}.",
        "invalid": "Give a purchase id (a UUID).",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="public_id", **kwargs)

    def get_queryset(self) -> Any:
        return Purchase.objects.for_merchant(self.context["merchant"])

    def to_internal_value(self, data: Any) -> Any:
        serializers.UUIDField().run_validation(data)
        return super().to_internal_value(data)


class CouponRedeemInputSerializer(StrictInputSerializer):
    purchase_id = MerchantScopedPurchaseField(required=False, allow_null=True, default=None)


class OfferOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Offer
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "amount_off_minor",
            "percent_off",
            "free_item",
            "valid_from",
            "valid_until",
            "daily_start",
            "daily_end",
        ]


class ShopperOfferOutputSerializer(serializers.Serializer):
    offer = OfferOutputSerializer()
    code = serializers.CharField(allow_null=True, help_text="The shopper's coupon code; null for a card-linked offer.")
    closes_at = serializers.DateTimeField(help_text="When the offer next stops being usable (daily window or end).")


class ShopperOffersOutputSerializer(serializers.Serializer):
    shopper_id = serializers.UUIDField()
    offers = ShopperOfferOutputSerializer(many=True)


class CouponOutputSerializer(serializers.ModelSerializer):
    offer = OfferOutputSerializer()
    shopper_id = serializers.UUIDField(source="shopper.public_id")
    purchase_id = serializers.UUIDField(source="purchase.public_id", allow_null=True, default=None)

    class Meta:
        model = Coupon
        fields = ["code", "offer", "shopper_id", "issued_at", "redeemed_at", "purchase_id"]
