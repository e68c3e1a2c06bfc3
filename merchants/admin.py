from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from rest_framework_api_key.models import APIKey

from merchants import request_cache
from merchants.decorators import user_has_totp
from merchants.models import (
    AuditEvent,
    Merchant,
    MerchantAPIKey,
    Network,
    StaffInvitation,
    StaffMembership,
    Store,
    TenantModel,
    every_merchant_visible,
)


class _AllMerchantsRawIdWidget(ForeignKeyRawIdWidget):
    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        with every_merchant_visible():  # Django reads the row through the default manager
            return super().label_and_url_for_value(value)


class AllMerchantsAdminMixin(admin.options.BaseModelAdmin):
    """The admin is for superusers and sees every merchant's rows: lists and choices come from `all_merchants`."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = self.model.all_merchants.get_queryset()
        ordering = self.get_ordering(request)
        return rows.order_by(*ordering) if ordering else rows

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        related = db_field.remote_field.model
        if issubclass(related, TenantModel):
            kwargs.setdefault("queryset", related.all_merchants.all())
            if db_field.name in self.raw_id_fields:
                kwargs.setdefault("widget", _AllMerchantsRawIdWidget(db_field.remote_field, self.admin_site))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AllMerchantsAdmin(AllMerchantsAdminMixin, admin.ModelAdmin):
    pass


def require_mfa_for_admin(site: admin.AdminSite) -> None:
    """Superusers reach the admin only once they have an authenticator app."""
    has_permission = site.has_permission

    def has_permission_with_mfa(request: HttpRequest) -> bool:
        return has_permission(request) and user_has_totp(request.user)

    site.has_permission = has_permission_with_mfa  # type: ignore[method-assign]


# The library's own key model is unused: Storeloop's keys belong to a merchant.
admin.site.unregister(APIKey)


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


class StoreInline(AllMerchantsAdminMixin, admin.TabularInline):
    model = Store
    extra = 0
    fields = ["name", "region", "timezone", "is_active"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "timezone", "require_mfa", "created_at"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["networks"]
    inlines = [StoreInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Edits here bypass the services; drop what the API caches of this merchant and its stores.
        request_cache.merchant_forget(merchant=form.instance)
        for store in form.instance.stores.all():
            request_cache.store_forget(store=store)


@admin.register(Store)
class StoreAdmin(AllMerchantsAdmin):
    list_display = ["name", "merchant", "region", "timezone", "is_active"]
    list_filter = ["merchant", "is_active"]
    search_fields = ["name", "merchant__name"]

    def save_model(self, request: HttpRequest, obj: Store, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        request_cache.store_forget(store=obj)

    def delete_model(self, request: HttpRequest, obj: Store) -> None:
        request_cache.store_forget(store=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for store in queryset:
            request_cache.store_forget(store=store)
        super().delete_queryset(request, queryset)


@admin.register(StaffMembership)
class StaffMembershipAdmin(AllMerchantsAdmin):
    list_display = ["user", "merchant", "role", "store"]
    list_filter = ["role", "merchant"]
    search_fields = ["user__email", "merchant__name"]
    raw_id_fields = ["user"]


@admin.register(StaffInvitation)
class StaffInvitationAdmin(AllMerchantsAdmin):
    list_display = ["email", "merchant", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]
    readonly_fields = ["accepted_at", "revoked_at"]


@admin.register(MerchantAPIKey)
class MerchantAPIKeyAdmin(AllMerchantsAdmin):
    list_display = ["name", "merchant", "prefix", "scopes", "created", "last_used_at", "revoked"]
    list_filter = ["revoked", "merchant"]
    readonly_fields = ["prefix", "created", "last_used_at", "revoked_at"]
    exclude = ["hashed_key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are created in Settings, where the secret is shown once.
        return False

    def save_model(self, request: HttpRequest, obj: MerchantAPIKey, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        request_cache.api_key_forget(prefixes=[obj.prefix])

    def delete_model(self, request: HttpRequest, obj: MerchantAPIKey) -> None:
        request_cache.api_key_forget(prefixes=[obj.prefix])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        request_cache.api_key_forget(prefixes=list(queryset.values_list("prefix", flat=True)))
        super().delete_queryset(request, queryset)


@admin.register(AuditEvent)
class AuditEventAdmin(AllMerchantsAdmin):
    list_display = ["created_at", "merchant", "actor", "action", "subject"]
    list_filter = ["action", "merchant"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
