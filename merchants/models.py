"""Tenants: merchants, their stores and the malls they sit in, staff and API keys."""

import zoneinfo
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from core.currencies import ISO_4217
from merchants.permissions import API_SCOPES, Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone (e.g. Europe/Paris)."), params={"value": value})


def validate_currency(value: str) -> None:
    if value not in ISO_4217:
        raise ValidationError(_("Use a three-letter ISO 4217 currency code, e.g. EUR."))


class UnscopedTenantQuery(Exception):
    """A query reached a tenant model's rows without saying whose."""


def _names_the_tenant(lookup: str, value: object) -> bool:
    """True for `merchant=`, `merchant_id=`, `merchant__in=`, `merchant__networks=`…, or a loaded tenant row."""
    if lookup.split("__")[0] in ("merchant", "merchant_id"):
        return True
    # A row already fetched for one merchant scopes what hangs off it, as its related manager would.
    return isinstance(value, TenantModel | Merchant)


def _condition_names_the_tenant(condition: object) -> bool:
    """True for a Q that pins the merchant: in one of its AND-ed parts, or in each of its OR-ed ones."""
    if not isinstance(condition, models.Q) or condition.negated:
        return False
    parts = (
        _names_the_tenant(*child) if isinstance(child, tuple) else _condition_names_the_tenant(child)
        for child in condition.children
    )
    return any(parts) if condition.connector == models.Q.AND else all(parts)


# Set only around Django machinery that reads through the default manager with no say in it: a row's own unique
# checks (see TenantModel) and the admin's raw-id widget (merchants.admin).
_every_merchant_visible: ContextVar[bool] = ContextVar("every_merchant_visible", default=False)


@contextmanager
def every_merchant_visible() -> Iterator[None]:
    """Only for Django's own machinery above; code of ours names the merchant or uses `all_merchants`."""
    token = _every_merchant_visible.set(True)
    try:
        yield
    finally:
        _every_merchant_visible.reset(token)


class TenantQuerySet(models.QuerySet):
    """The queryset of every tenant model: it refuses to reach rows before it is scoped to a merchant.

    Scoped means: `.for_merchant(m)`, a filter on `merchant` (`merchant_id`, `merchant__in`, `merchant__…`) or on a
    row of a tenant model, or a related manager of a loaded row (`shopper.purchases`). The places that must see every
    merchant (system-wide tasks, a task fetching a row by id, the admin, management commands) say so by using
    the model's `all_merchants` manager. Subqueries are compiled into their outer query and are not checked.
    """

    _is_scoped = False

    def for_merchant(self, merchant: "Merchant") -> Self:
        return self.filter(merchant=merchant)

    def _clone(self) -> Self:
        clone = super()._clone()
        clone._is_scoped = self._is_scoped
        return clone

    def _scoped(self) -> Self:
        self._is_scoped = True
        return self

    def _filter_or_exclude(self, negate: bool, args: Any, kwargs: Any) -> Self:
        clone = super()._filter_or_exclude(negate, args, kwargs)
        if not negate and (
            any(_names_the_tenant(lookup, value) for lookup, value in kwargs.items())
            or any(_condition_names_the_tenant(condition) for condition in args)
        ):
            clone._is_scoped = True
        return clone

    def none(self) -> Self:
        return super().none()._scoped()

    def _check_scoped(self) -> None:
        if self._is_scoped or _every_merchant_visible.get():
            return
        if isinstance(self._hints.get("instance"), TenantModel | Merchant):
            return
        raise UnscopedTenantQuery(
            f"A query on {self.model._meta.label} names no merchant: use .for_merchant(merchant), filter on "
            f"merchant, or {self.model.__name__}.all_merchants where every merchant must be seen."
        )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._check_scoped()
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Any:
        self._check_scoped()
        return super().iterator(chunk_size=chunk_size)

    def count(self) -> int:
        if self._result_cache is None:
            self._check_scoped()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._check_scoped()
        return super().exists()

    def contains(self, obj: models.Model) -> bool:
        self._check_scoped()
        return super().contains(obj)

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._check_scoped()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._check_scoped()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._check_scoped()
        return super().delete()

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        # The rows are the loaded objects given, as with each one's save().
        return super(TenantQuerySet, self._chain()._scoped()).bulk_update(objs, fields, batch_size=batch_size)


class AllMerchantsManager(models.Manager):
    """A tenant model's explicitly unscoped manager, for the places that must see every merchant."""

    def get_queryset(self) -> TenantQuerySet:
        return TenantQuerySet(self.model, using=self._db, hints=self._hints)._scoped()


class TenantModel(models.Model):
    """A row owned by one merchant. Subclasses may redeclare `merchant` (a related name, no index, a one-to-one key)."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")

    # The default manager, used by related managers and model validation too: it refuses unscoped queries.
    objects = TenantQuerySet.as_manager()
    all_merchants = AllMerchantsManager()

    class Meta:
        abstract = True

    # Django asks the default manager whether another row holds a unique value (a public id, a token). The
    # database constraint being mirrored spans every merchant, and only "taken or not" comes back.
    def validate_unique(self, exclude: Collection[str] | None = None) -> None:
        with every_merchant_visible():
            super().validate_unique(exclude=exclude)

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        with every_merchant_visible():
            super().validate_constraints(exclude=exclude)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: object) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: object) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in to the dashboard: merchant staff, mall operators, superusers.

    Shoppers are not users; they live in profiles.Shopper.
    """

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    def __str__(self) -> str:
        return self.email


class Network(models.Model):
    """A mall or a group of malls; merchants belong to networks."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Merchant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    currency = models.CharField(max_length=3, default="EUR", validators=[validate_currency])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    default_language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    networks = models.ManyToManyField(Network, blank=True, related_name="merchants")
    # Set once a card-network feed is connected: only then can a checkout basket have a network twin.
    has_network_feed = models.BooleanField(default=False, editable=False)
    require_mfa = models.BooleanField(
        default=False, help_text=_("Staff must set up an authenticator app before they can open the dashboard.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Store(TenantModel):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="stores")
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    region = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    geofence_radius_m = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(10), MaxValueValidator(5000)]
    )
    # Location ids and merchant ids (MIDs) by which card-network feeds name this store.
    network_location_ids = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("merchant", Lower("name"), name="store_unique_name_per_merchant"),
            # What keys that carry the merchant reference (core.constraints.TenantForeignKey).
            models.UniqueConstraint(fields=["merchant", "id"], name="store_merchant_id_key"),
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True) & models.Q(longitude__isnull=True))
                | (models.Q(latitude__isnull=False) & models.Q(longitude__isnull=False)),
                name="store_coordinates_both_or_neither",
                violation_error_message=_("Give both latitude and longitude, or neither."),
            ),
        ]
        indexes = [GinIndex(fields=["network_location_ids"], name="store_network_location_ids")]

    def __str__(self) -> str:
        return self.name


class StaffMembership(TenantModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    # Store staff may be limited to one store; null means every store.
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="staff")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["merchant__name"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "user"], name="membership_unique_user_per_merchant"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.merchant} ({self.get_role_display()})"


class StaffInvitation(TenantModel):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # SHA-256 of the token mailed to the invitee; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.merchant}"


class MerchantAPIKeyManager(BaseAPIKeyManager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    pass


class AllMerchantsAPIKeyManager(AllMerchantsManager, BaseAPIKeyManager):
    """Keys of every merchant: authentication finds a key by its prefix before it knows the merchant."""


class MerchantAPIKey(TenantModel, AbstractAPIKey):
    """An integrator's key. The secret is shown once; only its hash is stored."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    scopes = ArrayField(models.CharField(max_length=40, choices=API_SCOPES), default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = MerchantAPIKeyManager()
    all_merchants = AllMerchantsAPIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        # What keys that carry the merchant reference (core.constraints.TenantForeignKey).
        constraints = [models.UniqueConstraint(fields=["merchant", "id"], name="api_key_merchant_id_key")]

    def __str__(self) -> str:
        return str(self.name)


class AuditEvent(TenantModel):
    """Who changed what in a merchant's settings, and when: appended, never edited."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=60)
    subject = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["merchant", "-created_at"], name="audit_merchant_recent")]

    def __str__(self) -> str:
        return f"{self.action} {self.subject}"
