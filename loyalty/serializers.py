from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import StrictInputSerializer
from loyalty.models import Redemption, Reward
from profiles.serializers import MerchantScopedShopperField


@extend_schema_field(OpenApiTypes.UUID)
class MerchantScopedRewardField(serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "No reward with id {value}.", "invalid": "Give a reward id (a UUID)."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="public_id", **kwargs)

    def get_queryset(self) -> Any:
        return Reward.objects.for_merchant(self.context["merchant"])

    def to_internal_value(self, data: Any) -> Any:
        serializers.UUIDField().run_validation(data)
        return super().to_internal_value(data)


class RedeemInputSerializer(StrictInputSerializer):
    shopper_id = MerchantScopedShopperField()
    reward_id = MerchantScopedRewardField()
    order_reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)


class RewardOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Reward
        fields = [
            "id",
            "name",
            "kind",
            "points_cost",
            "amount_off_minor",
            "percent_off",
            "free_item_sku",
            "available_until",
        ]


class CreditOutputSerializer(serializers.Serializer):
    offer = serializers.CharField(source="offer.name")
    credit_minor = serializers.IntegerField()
    awarded_at = serializers.DateTimeField(source="created_at")


class RedeemableOutputSerializer(serializers.Serializer):
    points_balance = serializers.IntegerField(help_text="Points the shopper can spend now.")
    points_pending = serializers.IntegerField(help_text="Points of purchases not yet cleared; not spendable.")
    tier = serializers.CharField(allow_null=True)
    rewards = RewardOutputSerializer(many=True, help_text="Rewards available now that the balance pays for.")
    credits = CreditOutputSerializer(many=True, help_text="Credits from card-linked offers.")


class RedemptionOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    reward = RewardOutputSerializer()
    points_balance = serializers.IntegerField(source="account.points_balance")

    class Meta:
        model = Redemption
        fields = ["id", "status", "points", "reward", "order_reference", "created_at", "reversed_at", "points_balance"]


class LoyaltySummaryOutputSerializer(serializers.Serializer):
    """A shopper's loyalty in brief: the shopper API object's `loyalty` part (?expand=loyalty)."""

    points_balance = serializers.IntegerField(help_text="Points available to spend.")
    points_pending = serializers.IntegerField(help_text="Points earned on purchases not cleared yet.")
    tier = serializers.CharField(allow_null=True, help_text="The tier's name; null below the first tier.")
    tier_since = serializers.DateTimeField(allow_null=True)
