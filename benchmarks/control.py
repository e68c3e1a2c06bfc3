"""The control endpoint of ingest_single: the least a purchase endpoint can do.

It takes the same JSON body as POST /api/v1/purchases, validates it with a plain
serializer and inserts one row through the ORM, with no API key, no idempotency,
no card match, no line items, no rollups and no signal. Everything else (the
middleware, gunicorn, the database) is the same, so the ratio of the two is what
the ingest pipeline costs.
"""

from typing import Any

from django.conf import settings
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from profiles.models import Purchase


class ControlLineItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    name = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    quantity = serializers.IntegerField(min_value=1, required=False, default=1)
    unit_price_minor = serializers.IntegerField(min_value=0)


class ControlPurchaseSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    amount_minor = serializers.IntegerField(min_value=1)
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    occurred_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=["in_store", "online"])
    store = serializers.IntegerField(required=False, allow_null=True, default=None)
    card_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)
    line_items = ControlLineItemSerializer(many=True, required=False, default=list)


class ControlPurchaseApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list[type] = []

    def post(self, request: Request) -> Response:
        serializer = ControlPurchaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        purchase = Purchase.objects.create(
            merchant_id=settings.BENCH_MERCHANT_ID,
            store_id=data["store"],
            channel=data["channel"],
            amount_minor=data["amount_minor"],
            currency=data["currency"],
            occurred_at=data["occurred_at"],
            source="import",
            external_id=data["external_id"],
        )
        return Response({"id": str(purchase.public_id)}, status=status.HTTP_201_CREATED)
