from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config import health
from core.errors import json_not_found
from merchants.admin import require_mfa_for_admin

# The admin signs in through allauth, so superusers pass the same TOTP step as staff.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
require_mfa_for_admin(admin.site)

api_v1 = [
    path("", include("merchants.api_urls")),
    path("", include("profiles.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("loyalty.api_urls")),
    path("", include("campaigns.offers.api_urls")),
    path("", include("campaigns.api_urls")),
    path("", include("exports.api_urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says: the icon, not a 404 in the log.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("favicon.svg")), name="favicon"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api_schema"), name="api_redoc"),
    # Any other API path: the API's JSON 404, in debug mode too.
    re_path(r"^api/", json_not_found),
    path("shoppers/", include("profiles.urls")),
    path("settings/kiosks/", include("profiles.settings_urls")),
    path("settings/payments/", include("payments.urls")),
    path("settings/export/", include("exports.urls")),
    path("settings/webhooks/", include("outbound.urls")),
    path("settings/import/", include("imports.urls")),
    # Shopper-facing pages: kiosk and Wi-Fi signup, email confirmation, preference centre, unsubscribe.
    path("s/", include("profiles.shopper_pages.urls")),
    path("s/c/", include("campaigns.public_urls")),
    path("loyalty/", include("loyalty.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("insights/", include("insights.urls")),
    path("segments/", include("campaigns.segments.urls")),
    path("", include("merchants.urls")),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
