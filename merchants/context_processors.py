from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from merchants.permissions import role_has_permission
from merchants.selectors import memberships_for_user

# Sections of the dashboard: (label, url name, permission). A section whose
# pages are not installed yet has no url and stays out of the navigation.
NAVIGATION = [
    ("Overview", "dashboard", "dashboard.view"),
    ("Insights", "insights:overview", "insights.view"),
    ("Shoppers", "profiles:shopper_list", "shoppers.view"),
    ("Loyalty", "loyalty:program_list", "loyalty.view"),
    ("Campaigns", "campaigns:campaign_list", "campaigns.view"),
    ("Segments", "segments:segment_list", "campaigns.view"),
    ("Settings", "settings_home", "stores.view"),
]


def _navigation(request: HttpRequest, role: str) -> list[dict[str, Any]]:
    items = []
    for label, url_name, permission in NAVIGATION:
        if not role_has_permission(role, permission):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        is_current = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"label": label, "url": url, "is_current": is_current})
    return items


def dashboard(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "current_merchant": membership.merchant,
        "current_membership": membership,
        "navigation": _navigation(request, membership.role),
        "switchable_memberships": memberships_for_user(user=request.user),
        # {"stores_manage": True, ...}: dots become underscores for template lookups.
        "can": {
            permission.replace(".", "_"): role_has_permission(membership.role, permission)
            for permission in (
                "stores.view",
                "stores.manage",
                "staff.manage",
                "api_keys.manage",
                "payments.manage",
                "webhooks.manage",
                "merchant.manage",
                "exports.run",
                "imports.manage",
            )
        },
    }
