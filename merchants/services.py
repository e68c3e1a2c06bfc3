"""Writes on tenants, stores, staff and API keys. Each is one transaction and leaves an audit event."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError, ConflictError, NotFoundError, validated
from merchants import request_cache
from merchants.models import (
    AuditEvent,
    Merchant,
    MerchantAPIKey,
    StaffInvitation,
    StaffMembership,
    Store,
    User,
)
from merchants.permissions import ALL_API_SCOPES, Role

INVITATION_LIFETIME = timedelta(days=7)


def audit_event_record(
    *, merchant: Merchant, actor: User | None, action: str, subject: str = "", **detail: Any
) -> AuditEvent:
    return AuditEvent.objects.create(merchant=merchant, actor=actor, action=action, subject=subject, detail=detail)


# Merchants


@transaction.atomic
def merchant_create(
    *,
    name: str,
    slug: str,
    owner: User,
    currency: str = "EUR",
    timezone_name: str = "UTC",
    default_language: str = "en",
) -> Merchant:
    if Merchant.objects.filter(slug=slug).exists():
        raise ConflictError("A merchant with this short name already exists.", field="slug")
    merchant = Merchant(
        name=name, slug=slug, currency=currency, timezone=timezone_name, default_language=default_language
    )
    validated(merchant, exclude=["networks"])
    merchant.save()
    StaffMembership.objects.create(merchant=merchant, user=owner, role=Role.OWNER)
    audit_event_record(merchant=merchant, actor=owner, action="merchant.created", subject=name)
    return merchant


@transaction.atomic
def merchant_update_settings(
    *,
    merchant: Merchant,
    actor: User,
    name: str,
    currency: str,
    timezone_name: str,
    default_language: str,
    require_mfa: bool,
) -> Merchant:
    changes = {
        field: value
        for field, value in {
            "name": name,
            "currency": currency,
            "timezone": timezone_name,
            "default_language": default_language,
            "require_mfa": require_mfa,
        }.items()
        if getattr(merchant, field) != value
    }
    if not changes:
        return merchant
    for field, value in changes.items():
        setattr(merchant, field, value)
    validated(merchant, exclude=["networks"])
    merchant.save(update_fields=list(changes))
    request_cache.merchant_forget(merchant=merchant)
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="merchant.settings_changed",
        subject=merchant.name,
        changes={field: str(value) for field, value in changes.items()},
    )
    return merchant


# Stores


def _check_location_ids_free(*, merchant: Merchant, location_ids: Sequence[str], store: Store | None) -> None:
    """A network location id names one store, or card events could not be placed."""
    if not location_ids:
        return
    clashing = Store.objects.for_merchant(merchant).filter(network_location_ids__overlap=list(location_ids))
    if store is not None:
        clashing = clashing.exclude(pk=store.pk)
    other = clashing.first()
    if other is not None:
        taken = sorted(set(location_ids) & set(other.network_location_ids))
        raise ApplicationError(
            f"Location id {', '.join(taken)} already belongs to the store “{other.name}”.",
            code="location_id_taken",
            field="network_location_ids",
        )


def _clean_location_ids(location_ids: Sequence[str]) -> list[str]:
    cleaned: list[str] = []
    for value in location_ids:
        value = value.strip()
        if value and value not in cleaned:
            cleaned.append(value)
    return cleaned


@transaction.atomic
def store_create(
    *,
    merchant: Merchant,
    actor: User | None,
    name: str,
    timezone_name: str,
    address: str = "",
    region: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    geofence_radius_m: int = 100,
    network_location_ids: Sequence[str] = (),
) -> Store:
    location_ids = _clean_location_ids(network_location_ids)
    if Store.objects.for_merchant(merchant).filter(name__iexact=name).exists():
        raise ApplicationError("You already have a store with this name.", code="duplicate_name", field="name")
    _check_location_ids_free(merchant=merchant, location_ids=location_ids, store=None)
    store = Store(
        merchant=merchant,
        name=name,
        timezone=timezone_name,
        address=address,
        region=region,
        latitude=latitude,
        longitude=longitude,
        geofence_radius_m=geofence_radius_m,
        network_location_ids=location_ids,
    )
    validated(store)
    _save_store(store)
    audit_event_record(merchant=merchant, actor=actor, action="store.created", subject=name)
    return store


def _save_store(store: Store, update_fields: list[str] | None = None) -> None:
    """A concurrent request may have taken the name between our check and our write."""
    try:
        with transaction.atomic():
            store.save(update_fields=update_fields)
        request_cache.store_forget(store=store)
    except IntegrityError as error:
        raise ApplicationError(
            "You already have a store with this name.", code="duplicate_name", field="name"
        ) from error


STORE_EDITABLE_FIELDS = (
    "name",
    "timezone",
    "address",
    "region",
    "latitude",
    "longitude",
    "geofence_radius_m",
    "network_location_ids",
    "is_active",
)


@transaction.atomic
def store_update(*, store: Store, actor: User, **fields: Any) -> Store:
    unknown = set(fields) - set(STORE_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "network_location_ids" in fields:
        fields["network_location_ids"] = _clean_location_ids(fields["network_location_ids"])
        _check_location_ids_free(merchant=store.merchant, location_ids=fields["network_location_ids"], store=store)
    if "name" in fields and (
        Store.objects.for_merchant(store.merchant).filter(name__iexact=fields["name"]).exclude(pk=store.pk).exists()
    ):
        raise ApplicationError("You already have a store with this name.", code="duplicate_name", field="name")
    changes = {field: value for field, value in fields.items() if getattr(store, field) != value}
    if not changes:
        return store
    for field, value in changes.items():
        setattr(store, field, value)
    validated(store)
    _save_store(store, update_fields=list(changes))
    audit_event_record(
        merchant=store.merchant,
        actor=actor,
        action="store.changed",
        subject=store.name,
        changes={field: str(value) for field, value in changes.items()},
    )
    return store


# Staff


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_store_for_role(*, merchant: Merchant, role: str, store: Store | None) -> None:
    if store is not None and store.merchant_id != merchant.pk:
        raise NotFoundError("No such store.", field="store")
    if store is not None and role != Role.STORE_STAFF:
        raise ApplicationError(
            "Only store staff can be limited to one store.", code="store_needs_store_staff", field="store"
        )


@transaction.atomic
def staff_invite(
    *, merchant: Merchant, actor: User, email: str, role: str, store: Store | None = None
) -> tuple[StaffInvitation, str]:
    """Create an invitation and mail its link. Returns the invitation and the raw token (for the mail only)."""
    email = get_user_model().objects.normalize_email(email).lower()
    _check_store_for_role(merchant=merchant, role=role, store=store)
    if StaffMembership.objects.for_merchant(merchant).filter(user__email__iexact=email).exists():
        raise ConflictError(f"{email} is already on your team.", code="already_member", field="email")
    # A new invitation replaces any open one for the same address.
    StaffInvitation.objects.for_merchant(merchant).filter(
        email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = StaffInvitation.objects.create(
                merchant=merchant,
                email=email,
                role=role,
                store=store,
                invited_by=actor,
                token_hash=_hash_token(token),
                expires_at=timezone.now() + INVITATION_LIFETIME,
            )
    except IntegrityError as error:  # the same address invited twice at the same moment
        raise ConflictError(f"{email} was just invited; see the open invitations.", code="already_invited") from error
    audit_event_record(merchant=merchant, actor=actor, action="staff.invited", subject=email, role=role)
    accept_url = settings.SITE_URL.rstrip("/") + reverse("invitation_accept", args=[token])
    context = {"merchant": merchant, "invitation": invitation, "accept_url": accept_url, "inviter": actor}
    subject = f"You are invited to {merchant.name} on Storeloop"
    body = render_to_string("merchants/email/invitation.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    return invitation, token


def invitation_get_open(*, token: str) -> StaffInvitation:
    invitation = (  # the token decides the merchant
        StaffInvitation.all_merchants.select_related("merchant", "store")
        .filter(token_hash=_hash_token(token), accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None or invitation.expires_at < timezone.now():
        raise NotFoundError("This invitation is no longer valid. Ask for a new one.", code="invitation_invalid")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> StaffMembership:
    invitation = invitation_get_open(token=token)
    user_email = (getattr(user, "email", "") or "").lower()
    if user_email != invitation.email:
        raise ApplicationError(
            f"This invitation was sent to {invitation.email}. Sign in with that address to accept it.",
            code="invitation_other_email",
        )
    updated = StaffInvitation.objects.filter(
        merchant=invitation.merchant_id, pk=invitation.pk, accepted_at__isnull=True
    ).update(accepted_at=timezone.now())
    if updated != 1:
        raise ConflictError("This invitation was already used.", code="invitation_used")
    membership, created = StaffMembership.objects.get_or_create(
        merchant=invitation.merchant, user=user, defaults={"role": invitation.role, "store": invitation.store}
    )
    if created:
        audit_event_record(
            merchant=invitation.merchant, actor=user, action="staff.joined", subject=user_email, role=invitation.role
        )
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: StaffInvitation, actor: User) -> StaffInvitation:
    updated = StaffInvitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if updated:
        audit_event_record(
            merchant=invitation.merchant, actor=actor, action="staff.invitation_revoked", subject=invitation.email
        )
    invitation.refresh_from_db()
    return invitation


def _lock_owners(merchant: Merchant) -> list[StaffMembership]:
    return list(
        StaffMembership.objects.for_merchant(merchant).filter(role=Role.OWNER).order_by("pk").select_for_update()
    )


@transaction.atomic
def membership_change_role(
    *, membership: StaffMembership, actor: User, role: str, store: Store | None
) -> StaffMembership:
    _check_store_for_role(merchant=membership.merchant, role=role, store=store)
    owners = _lock_owners(membership.merchant)
    if membership.role == Role.OWNER and role != Role.OWNER and len(owners) <= 1:
        raise ApplicationError(
            "A merchant needs at least one owner. Make someone else owner first.", code="last_owner", field="role"
        )
    previous = membership.role
    membership.role = role
    membership.store = store
    membership.save(update_fields=["role", "store"])
    audit_event_record(
        merchant=membership.merchant,
        actor=actor,
        action="staff.role_changed",
        subject=membership.user.get_username(),
        previous=previous,
        role=role,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: StaffMembership, actor: User) -> None:
    owners = _lock_owners(membership.merchant)
    if membership.role == Role.OWNER and len(owners) <= 1:
        raise ApplicationError("A merchant needs at least one owner.", code="last_owner")
    audit_event_record(
        merchant=membership.merchant,
        actor=actor,
        action="staff.removed",
        subject=membership.user.get_username(),
        role=membership.role,
    )
    membership.delete()


# API keys


@transaction.atomic
def api_key_create(
    *, merchant: Merchant, actor: User | None, name: str, scopes: Sequence[str]
) -> tuple[MerchantAPIKey, str]:
    """Returns the key and its secret. The secret is shown once and never stored."""
    unknown = sorted(set(scopes) - set(ALL_API_SCOPES))
    if unknown:
        raise ApplicationError(f"Unknown scope: {', '.join(unknown)}.", code="unknown_scope", field="scopes")
    if not scopes:
        raise ApplicationError("Choose at least one scope.", code="no_scope", field="scopes")
    try:
        api_key, secret = MerchantAPIKey.objects.create_key(
            merchant=merchant, name=name, scopes=list(scopes), created_by=actor
        )
    except IntegrityError as error:  # a prefix collision: 62^8 makes this vanishingly rare
        raise ConflictError("Please try again.", code="key_collision") from error
    audit_event_record(
        merchant=merchant, actor=actor, action="api_key.created", subject=name, prefix=api_key.prefix, scopes=scopes
    )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: MerchantAPIKey, actor: User | None) -> MerchantAPIKey:
    updated = MerchantAPIKey.objects.filter(merchant=api_key.merchant_id, pk=api_key.pk, revoked=False).update(
        revoked=True, revoked_at=timezone.now()
    )
    request_cache.api_key_forget(prefixes=[api_key.prefix])
    if updated:
        audit_event_record(
            merchant=api_key.merchant,
            actor=actor,
            action="api_key.revoked",
            subject=api_key.name,
            prefix=api_key.prefix,
        )
    api_key.refresh_from_db()
    return api_key
