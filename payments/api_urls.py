from django.urls import path

from payments import api

urlpatterns = [
    path("webhooks/<uuid:source_id>", api.PaymentWebhookApi.as_view(), name="api_payment_webhook"),
    path("network/<uuid:connection_id>/events", api.NetworkWebhookApi.as_view(), name="api_network_events"),
]
