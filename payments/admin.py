"""Payment sources in the admin: readable, never edited by hand (merchants manage theirs in Settings), and
never showing a secret or a body."""

from django.contrib import admin

from payments.models import LocationMapping, PaymentEvent, PaymentSource, WebhookDelivery
from profiles.admin import ReadOnlyAdmin


@admin.register(PaymentSource)
class PaymentSourceAdmin(ReadOnlyAdmin):
    list_display = ["name", "provider", "merchant", "account", "is_paused", "created_at"]
    list_filter = ["provider", "is_paused"]
    fields = ["merchant", "provider", "name", "public_id", "account", "default_store", "is_paused", "auth_expiry_days"]


@admin.register(LocationMapping)
class LocationMappingAdmin(ReadOnlyAdmin):
    list_display = ["location_id", "source", "store", "first_seen_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "outcome", "reason", "event_count"]
    list_filter = ["outcome"]
    fields = ["source", "outcome", "reason", "event_count", "received_at"]  # never the body


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "event_type", "event_id", "transaction_id", "status", "detail"]
    list_filter = ["status", "kind"]
    search_fields = ["event_id", "transaction_id"]
    fields = ["source", "event_id", "event_type", "kind", "transaction_id", "status", "detail", "received_at"]
