"""Reads for the Webhooks pages, always for one merchant."""

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from merchants.models import Merchant
from outbound.models import PAUSED_BY_STAFF, Delivery, DeliveryStatus, Endpoint


def endpoint_list(*, merchant: Merchant) -> QuerySet[Endpoint]:
    return (
        Endpoint.objects.for_merchant(merchant)
        .select_related("api_key")
        .annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        )
        .order_by("created_at")
    )


def endpoint_get(*, merchant: Merchant, endpoint_id: int) -> Endpoint:
    """The merchant's endpoint, or a 404 (another merchant's too)."""
    return get_object_or_404(Endpoint.objects.for_merchant(merchant).select_related("api_key"), pk=endpoint_id)


def delivery_list(*, merchant: Merchant, endpoint: Endpoint, status: str = "", limit: int = 100) -> list[Delivery]:
    deliveries = Delivery.objects.filter(merchant=merchant, endpoint=endpoint).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    return list(deliveries.order_by("-id")[:limit])


def delivery_get(*, merchant: Merchant, endpoint: Endpoint, delivery_id: int) -> Delivery:
    return get_object_or_404(
        Delivery.objects.filter(merchant=merchant, endpoint=endpoint).select_related("event", "endpoint__merchant"),
        pk=delivery_id,
    )


def endpoint_failing_list(*, merchant: Merchant) -> QuerySet[Endpoint]:
    """Endpoints whose deliveries are failing now, and those paused for failing (not those staff paused)."""
    paused_by_staff = Q(is_active=False, paused_reason=PAUSED_BY_STAFF)
    return (
        Endpoint.objects.for_merchant(merchant)
        .filter(Q(failing_since__isnull=False) | Q(is_active=False))
        .exclude(paused_by_staff)
        .order_by("created_at")
    )
