from django.urls import include, path

from campaigns import api

urlpatterns = [
    path("campaigns/webhooks/twilio/inbound", api.twilio_inbound, name="api_twilio_inbound"),
    # django-anymail's tracking webhooks, e.g. campaigns/webhooks/esp/postmark/tracking/
    path("campaigns/webhooks/esp/", include("anymail.urls")),
]
