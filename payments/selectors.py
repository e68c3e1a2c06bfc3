"""Reads of Settings → Payment sources: the sources with their health, a source's locations, its event log
and its refused deliveries. Every read takes the merchant; another merchant's row is a 404."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Count, ExpressionWrapper, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from merchants.models import Merchant
from payments.models import (
    DeliveryOutcome,
    EventStatus,
    LocationMapping,
    PaymentEvent,
    PaymentSource,
    WebhookDelivery,
)


def _events_of_source(status: str) -> QuerySet[PaymentEvent]:
    """Events of the outer query's source in one status, for a subquery (the outer query names the merchant)."""
    return PaymentEvent.objects.filter(merchant_id=OuterRef("merchant_id"), source=OuterRef("pk"), status=status)


def _count_of(status: str) -> Coalesce:
    counted = _events_of_source(status).order_by().values("source").annotate(total=Count("pk")).values("total")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def source_list(*, merchant: Merchant) -> QuerySet[PaymentSource]:
    """The merchant's sources by name, each with its last event, failed and unmapped counts (one query)."""
    last_event = (
        PaymentEvent.objects.filter(merchant_id=OuterRef("merchant_id"), source=OuterRef("pk"))
        .order_by("-received_at")
        .values("received_at")[:1]
    )
    return (
        PaymentSource.objects.for_merchant(merchant)
        .select_related("default_store")
        .annotate(
            last_event_at=Subquery(last_event),
            failed_count=_count_of(EventStatus.FAILED),
            unmapped_count=_count_of(EventStatus.UNMAPPED),
        )
        .order_by("name", "pk")
    )


def source_get(*, merchant: Merchant, source_id: int) -> PaymentSource:
    """One source of the merchant; 404 for any other (another merchant's included)."""
    source = source_list(merchant=merchant).filter(pk=source_id).first()
    if source is None:
        raise Http404("No such payment source.")
    return source


def secret_retirements(*, source: PaymentSource, now: datetime) -> list[datetime]:
    """When each rotated secret still verifying stops verifying, soonest first. Never the secrets themselves."""
    return list(
        source.secrets.filter(merchant_id=source.merchant_id, retires_at__gt=now)
        .order_by("retires_at")
        .values_list("retires_at", flat=True)
    )


def secret_current_since(*, source: PaymentSource) -> datetime | None:
    return (
        source.secrets.filter(merchant_id=source.merchant_id, retires_at__isnull=True)
        .values_list("created_at", flat=True)
        .first()
    )


@dataclass(frozen=True)
class LocationRow:
    mapping: LocationMapping
    waiting: int  # events held until this location is mapped

    @property
    def is_mapped(self) -> bool:
        return self.mapping.store_id is not None


def location_list(*, source: PaymentSource) -> list[LocationRow]:
    """Every location id the provider has named: unmapped ones first (most events waiting first), then mapped.

    A location named only by events still waiting for it is listed too (as unmapped, not yet saved): the
    mapping row an event creates is undone with the rest of that event's failed attempt."""
    waiting = {
        row["location_id"]: row["total"]
        for row in PaymentEvent.objects.filter(
            merchant_id=source.merchant_id, source=source, status=EventStatus.UNMAPPED
        )
        .exclude(location_id="")
        .values("location_id")
        .annotate(total=Count("pk"))
        .order_by()
    }
    mappings = {
        mapping.location_id: mapping
        for mapping in LocationMapping.objects.filter(merchant_id=source.merchant_id, source=source).select_related(
            "store"
        )
    }
    for location_id in waiting.keys() - mappings.keys():
        mappings[location_id] = LocationMapping(
            merchant_id=source.merchant_id, source=source, location_id=location_id, store=None
        )
    rows = [LocationRow(mapping, waiting.get(location_id, 0)) for location_id, mapping in mappings.items()]
    return sorted(rows, key=lambda row: (row.is_mapped, -row.waiting, row.mapping.location_id))


def location_is_known(*, source: PaymentSource, location_id: str) -> bool:
    """Whether the provider has named this location for the source (a mapping, or an event waiting for it)."""
    return (
        LocationMapping.objects.filter(merchant_id=source.merchant_id, source=source, location_id=location_id).exists()
        or PaymentEvent.objects.filter(
            merchant_id=source.merchant_id, source=source, status=EventStatus.UNMAPPED, location_id=location_id
        ).exists()
    )


def event_list(*, source: PaymentSource, status: str = "") -> QuerySet[PaymentEvent]:
    """The source's event log, newest first, optionally of one status."""
    events = PaymentEvent.objects.filter(merchant_id=source.merchant_id, source=source)
    if status:
        events = events.filter(status=status)
    return events.select_related("purchase", "purchase__shopper").defer("data").order_by("-received_at", "-pk")


def event_status_counts(*, source: PaymentSource) -> dict[str, int]:
    """How many events of the source are in each status (statuses without any are left out)."""
    rows = (
        PaymentEvent.objects.filter(merchant_id=source.merchant_id, source=source)
        .values("status")
        .annotate(total=Count("pk"))
        .order_by()
    )
    return {row["status"]: row["total"] for row in rows}


def event_get(*, source: PaymentSource, event_id: int) -> PaymentEvent:
    event = PaymentEvent.objects.filter(merchant_id=source.merchant_id, source=source, pk=event_id).first()
    if event is None:
        raise Http404("No such event.")
    return event


def refused_delivery_list(*, source: PaymentSource, limit: int = 50) -> list[WebhookDelivery]:
    """The latest refused deliveries (wrong signature, a card number, an unreadable body), with their reason."""
    return list(
        WebhookDelivery.objects.filter(merchant_id=source.merchant_id, source=source, outcome=DeliveryOutcome.REJECTED)
        .defer("body", "headers")
        .annotate(is_kept=ExpressionWrapper(~Q(body=""), output_field=BooleanField()))
        .order_by("-received_at", "-pk")[:limit]
    )


def refused_delivery_get(*, source: PaymentSource, delivery_id: int) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.filter(
            merchant_id=source.merchant_id, source=source, outcome=DeliveryOutcome.REJECTED, pk=delivery_id
        )
        .select_related("source")
        .first()
    )
    if delivery is None:
        raise Http404("No such refused delivery.")
    return delivery
