from django.contrib import admin
from django.http import HttpRequest
from rest_framework_api_key.models import APIKey

from merchants.decorators import user_has_totp
from merchants.models import AuditEvent, Merchant, MerchantAPIKey, Network, StaffInvitation, StaffMembership, Store


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


class StoreInline(admin.TabularInline):
    model = Store
    extra = 0
    fields = ["name", "region", "timezone", "is_active"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "timezone", "require_mfa", "created_at"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["networks"]
    inlines = [StoreInline]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "merchant", "region", "timezone", "is_active"]
    list_filter = ["merchant", "is_active"]
    search_fields = ["name", "merchant__name"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role", "store"]
    list_filter = ["role", "merchant"]
    search_fields = ["user__email", "merchant__name"]
    raw_id_fields = ["user"]


@admin.register(StaffInvitation)
class StaffInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "merchant", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]
    readonly_fields = ["accepted_at", "revoked_at"]


@admin.register(MerchantAPIKey)
class MerchantAPIKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "merchant", "prefix", "scopes", "created", "last_used_at", "revoked"]
    list_filter = ["revoked", "merchant"]
    readonly_fields = ["prefix", "created", "last_used_at", "revoked_at"]
    exclude = ["hashed_key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are created in Settings, where the secret is shown once.
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "merchant", "actor", "action", "subject"]
    list_filter = ["action", "merchant"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
