"""Reads on tenants. Every function takes the merchant; another tenant's object is a 404."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from merchants.models import (
    AuditEvent,
    Merchant,
    MerchantAPIKey,
    StaffInvitation,
    StaffMembership,
    Store,
    User,
)


def memberships_for_user(*, user: User) -> QuerySet[StaffMembership]:
    """A person's memberships in every merchant they work for (the switcher), so across merchants."""
    return (
        StaffMembership.all_merchants.filter(user=user).select_related("merchant", "store").order_by("merchant__name")
    )


def membership_for_user(*, user: User, merchant_id: int | None) -> StaffMembership | None:
    """The membership a staff member works in: the one chosen in the switcher, else their first."""
    memberships = memberships_for_user(user=user)
    if merchant_id is not None:
        chosen = memberships.filter(merchant_id=merchant_id).first()
        if chosen is not None:
            return chosen
    return memberships.first()


def store_list(*, merchant: Merchant, include_inactive: bool = True) -> QuerySet[Store]:
    stores = Store.objects.for_merchant(merchant)
    if not include_inactive:
        stores = stores.filter(is_active=True)
    return stores.order_by("name")


def store_get(*, merchant: Merchant, store_id: int) -> Store:
    return get_object_or_404(Store.objects.for_merchant(merchant), pk=store_id)


def staff_list(*, merchant: Merchant) -> QuerySet[StaffMembership]:
    return StaffMembership.objects.for_merchant(merchant).select_related("user", "store").order_by("user__email")


def membership_get(*, merchant: Merchant, membership_id: int) -> StaffMembership:
    return get_object_or_404(
        StaffMembership.objects.for_merchant(merchant).select_related("user", "store", "merchant"), pk=membership_id
    )


def invitation_list_open(*, merchant: Merchant) -> QuerySet[StaffInvitation]:
    return (
        StaffInvitation.objects.for_merchant(merchant)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("store", "invited_by")
    )


def invitation_get(*, merchant: Merchant, invitation_id: int) -> StaffInvitation:
    return get_object_or_404(
        StaffInvitation.objects.for_merchant(merchant).select_related("merchant"), pk=invitation_id
    )


def api_key_list(*, merchant: Merchant) -> QuerySet[MerchantAPIKey]:
    return MerchantAPIKey.objects.for_merchant(merchant).select_related("created_by").order_by("revoked", "-created")


def api_key_get(*, merchant: Merchant, prefix: str) -> MerchantAPIKey:
    return get_object_or_404(MerchantAPIKey.objects.for_merchant(merchant).select_related("merchant"), prefix=prefix)


def audit_event_list(*, merchant: Merchant, limit: int = 50) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_merchant(merchant).select_related("actor")[:limit]
