"""Managing payment sources: adding one, rotating its secret, mapping its locations, pausing it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from merchants import request_cache
from merchants.models import Merchant, Store
from payments.models import EventStatus, LocationMapping, PaymentEvent, PaymentSource, SourceSecret

# How long a rotated secret keeps verifying: the provider may still sign with it while the new one rolls out.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)


@dataclass(frozen=True)
class SourceInput:
    provider: str
    name: str
    secret: str = ""
    account: str = ""
    default_store: Store | None = None
    auth_expiry_days: int = 7


def _clean_secret(secret: str) -> str:
    secret = secret.strip()
    if not secret:
        raise ApplicationError("Paste the signing secret the provider shows for this webhook.", field="secret")
    if len(secret) > 500:
        raise ApplicationError("A signing secret is at most 500 characters.", field="secret")
    return secret


def _check_store(merchant: Merchant, store: Store | None) -> None:
    if store is not None and store.merchant_id != merchant.pk:
        raise ApplicationError("No such store.", code="not_found", field="default_store")


@transaction.atomic
def source_create(*, merchant: Merchant, data: SourceInput) -> PaymentSource:
    _check_store(merchant, data.default_store)
    source = PaymentSource.objects.create(
        merchant=merchant,
        provider=data.provider,
        name=data.name.strip() or data.provider,
        account=data.account.strip(),
        default_store=data.default_store,
        auth_expiry_days=data.auth_expiry_days,
    )
    if data.secret.strip():  # some providers show the secret only once the URL is registered: it may come later
        SourceSecret.objects.create(merchant=merchant, source=source, secret=_clean_secret(data.secret))
    # Checkout baskets wait to be matched with card transactions once a card-present source exists.
    Merchant.objects.filter(pk=merchant.pk).update(has_network_feed=True)
    merchant.has_network_feed = True
    request_cache.merchant_forget(merchant=merchant)
    return source


@transaction.atomic
def source_update(
    *, source: PaymentSource, name: str, account: str, default_store: Store | None, auth_expiry_days: int
) -> PaymentSource:
    _check_store(source.merchant, default_store)
    source.name = name.strip() or source.name
    source.account = account.strip()
    source.default_store = default_store
    source.auth_expiry_days = auth_expiry_days
    source.save(update_fields=["name", "account", "default_store", "auth_expiry_days"])
    return source


@transaction.atomic
def secret_rotate(
    *, source: PaymentSource, secret: str, overlap: timedelta = DEFAULT_OVERLAP, now: datetime | None = None
) -> SourceSecret:
    """Make `secret` the current one; the previous one keeps verifying for `overlap`, then retires.

    Secrets already retiring keep their own end, or end with the overlap if sooner."""
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise ApplicationError("The overlap is between 0 and 7 days.", field="overlap_hours")
    secret = _clean_secret(secret)
    now = now or timezone.now()
    retires_at = now + overlap
    held = list(SourceSecret.objects.filter(merchant_id=source.merchant_id).select_for_update().filter(source=source))
    for old in held:
        if old.retires_at is None or old.retires_at > retires_at:
            old.retires_at = retires_at
            old.save(update_fields=["retires_at"])
    return SourceSecret.objects.create(merchant_id=source.merchant_id, source=source, secret=secret)


def secrets_valid(*, source: PaymentSource, now: datetime | None = None) -> list[str]:
    """The secrets a request may be signed with now: the current one first."""
    now = now or timezone.now()
    rows = SourceSecret.objects.filter(merchant_id=source.merchant_id).filter(source=source).order_by("-created_at")
    return [row.secret for row in rows if row.retires_at is None or row.retires_at > now]


@transaction.atomic
def source_pause(*, source: PaymentSource) -> PaymentSource:
    """Events keep arriving and are kept, marked held; none reaches a purchase until the source resumes."""
    source.is_paused = True
    source.save(update_fields=["is_paused"])
    return source


@transaction.atomic
def source_resume(*, source: PaymentSource) -> int:
    """Process what arrived while paused, in arrival order. Returns how many events were queued."""
    source.is_paused = False
    source.save(update_fields=["is_paused"])
    from payments.services.processing import events_requeue

    return events_requeue(source=source, statuses=[EventStatus.PAUSED])


@transaction.atomic
def location_map(*, source: PaymentSource, location_id: str, store: Store | None) -> int:
    """Say which store a provider location is, then replay the events that waited for it.

    Returns how many events were queued again."""
    _check_store(source.merchant, store)
    mapping, _ = LocationMapping.objects.filter(merchant_id=source.merchant_id).get_or_create(
        merchant_id=source.merchant_id, source=source, location_id=location_id
    )
    mapping.store = store
    mapping.save(update_fields=["store"])
    if store is None:
        return 0
    from payments.services.processing import events_requeue

    return events_requeue(source=source, statuses=[EventStatus.UNMAPPED], location_id=location_id)


def location_seen(*, source: PaymentSource, location_id: str) -> LocationMapping:
    """The mapping of a location, listed (unmapped) the first time the provider names it."""
    mapping, _ = LocationMapping.objects.filter(merchant_id=source.merchant_id).get_or_create(
        merchant_id=source.merchant_id, source=source, location_id=location_id[:100]
    )
    return mapping


def unmapped_count(*, source: PaymentSource) -> int:
    return (
        PaymentEvent.objects.filter(merchant_id=source.merchant_id)
        .filter(source=source, status=EventStatus.UNMAPPED)
        .count()
    )
