from django.contrib import admin
from django.http import HttpRequest

from merchants.admin import AllMerchantsAdmin, AllMerchantsAdminMixin
from profiles.models import (
    Card,
    ConsentEvent,
    ContactPoint,
    MergeEvent,
    Purchase,
    Shopper,
    Visit,
)


class ReadOnlyAdmin(AllMerchantsAdmin):
    """Ledgers and raw events are evidence: readable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ContactInline(AllMerchantsAdminMixin, admin.TabularInline):
    model = ContactPoint
    extra = 0
    fields = ["kind", "value", "is_verified", "verified_at"]
    readonly_fields = ["verified_at"]


@admin.register(Shopper)
class ShopperAdmin(AllMerchantsAdmin):
    list_display = ["public_id", "first_name", "last_name", "merchant", "joined_via", "status", "created_at"]
    list_filter = ["status", "joined_via", "merchant"]
    search_fields = ["first_name", "last_name", "contacts__value", "public_id"]
    readonly_fields = ["public_id", "status", "merged_into", "erased_at"]
    raw_id_fields = ["home_store"]
    inlines = [ContactInline]


@admin.register(Card)
class CardAdmin(AllMerchantsAdmin):
    list_display = ["__str__", "merchant", "shopper", "status", "linked_via", "linked_at"]
    list_filter = ["status", "scheme", "merchant"]
    exclude = ["token", "fingerprint"]
    readonly_fields = ["public_id", "shopper", "first_six", "last_four", "linked_at", "unlinked_at"]


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "shopper", "channel", "purpose", "is_granted", "source", "wording_version"]
    list_filter = ["channel", "purpose", "is_granted", "source"]


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "merchant", "store", "channel", "amount_minor", "currency", "state", "source"]
    list_filter = ["state", "channel", "source", "merchant"]
    search_fields = ["external_id", "network_transaction_id", "public_id"]
    date_hierarchy = "occurred_at"


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "merchant", "store", "source", "shopper"]
    list_filter = ["source", "merchant"]


@admin.register(MergeEvent)
class MergeEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "survivor", "merged", "actor", "undone_at"]
