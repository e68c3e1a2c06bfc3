"""The webhook every payment source posts to: one URL per source, signed the provider's way."""

import msgspec
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from core.schema import error_responses
from core.serializers import ErrorSerializer
from payments.models import PaymentSource, Provider
from payments.providers.generic import SIGNATURE_HEADER
from payments.services import receiving


def webhook_url(source: PaymentSource) -> str:
    """The URL to give the provider. Signatures that cover the URL (Square, Fidel) are checked against
    this exact string, so SITE_URL must be the address the provider is told."""
    return settings.SITE_URL.rstrip("/") + reverse("api_payment_webhook", kwargs={"source_id": source.public_id})


class PaymentWebhookApi(APIView):
    """A payment provider's webhook, as the provider sends it (no API key: the signature authenticates)."""

    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        operation_id="payment_webhook_receive",
        tags=["payment sources"],
        request={"application/json": {"type": "object", "description": "The provider's own webhook body."}},
        responses={
            200: OpenApiResponse(
                description='Accepted: the provider\'s expected answer (`{"received": true}`; Adyen: `[accepted]`). '
                "A retry of an event already received is accepted again and not processed twice."
            ),
            **error_responses(400, 404),
            401: OpenApiResponse(ErrorSerializer, description="The signature does not verify, or is stale"),
            403: OpenApiResponse(ErrorSerializer, description="Square only: the signature does not verify"),
            413: OpenApiResponse(ErrorSerializer, description="The body is over the size limit"),
        },
        description=(
            "The URL shown under Settings → Payment sources, one per source. Stripe, Square, Fidel, Adyen and "
            "Shopify post their own webhook bodies here, signed as each documents (Stripe-Signature; "
            "x-square-hmacsha256-signature over URL and body; x-fidel-signature and x-fidel-timestamp; Adyen's "
            "per-item hmacSignature; X-Shopify-Hmac-Sha256). A wrong or stale signature is 401 (Stripe: 400, as "
            "its guide expects; Square: 403); a body holding a card number is refused whole (400) and never "
            "stored. Events are processed by the worker after the answer; the event log in Settings shows "
            "each one's outcome."
        ),
    )
    def post(self, request: Request, source_id: str) -> HttpResponse:
        source = get_object_or_404(PaymentSource.all_merchants.select_related("merchant"), public_id=source_id)
        received = receiving.delivery_receive(
            source=source, headers=request.headers, raw_body=request.body, url=webhook_url(source)
        )
        return HttpResponse(received.body, status=received.status, content_type=received.content_type)


class NetworkWebhookApi(APIView):
    """Our own feed format at the address it has always had; the same pipeline as every payment source."""

    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        operation_id="network_events_receive",
        tags=["payment sources"],
        request={"application/json": {"type": "object", "description": "One event in Storeloop's feed format."}},
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description='`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.raw_body" under the source\'s secret>`',
            )
        ],
        responses={
            200: OpenApiResponse(description='`{"status": "accepted" | "duplicate", "event_id": "…"}`'),
            **error_responses(400, 404),
            401: OpenApiResponse(ErrorSerializer, description="The signature does not verify, or is stale"),
        },
        description=(
            "One transaction event in Storeloop's feed format (`transaction.auth`, `transaction.clearing`, "
            "`transaction.refund`; the README's “Connect your payments” shows the body). Accepted once per event "
            "id, processed after the response. Fields not described are kept as sent, not refused. "
            "`/api/v1/webhooks/{source_id}` takes the same body."
        ),
    )
    def post(self, request: Request, connection_id: str) -> HttpResponse:
        source = get_object_or_404(
            PaymentSource.all_merchants.select_related("merchant").filter(provider=Provider.GENERIC),
            public_id=connection_id,
        )
        received = receiving.delivery_receive(
            source=source, headers=request.headers, raw_body=request.body, url=webhook_url(source)
        )
        if received.status != 200:
            return HttpResponse(received.body, status=received.status, content_type=received.content_type)
        status = "accepted" if received.new_events else "duplicate"
        body = {"status": status, "event_id": received.event_ids[0] if received.event_ids else ""}
        return HttpResponse(msgspec.json.encode(body), content_type="application/json")
