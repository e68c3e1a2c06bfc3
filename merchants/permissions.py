"""Who may do what: the role matrix, in one place.

README.md shows this matrix; a test keeps the two in step.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    ANALYST = "analyst", _("Analyst")
    STORE_STAFF = "store_staff", _("Store staff")


OWNER, MANAGER, ANALYST, STORE_STAFF = Role.OWNER, Role.MANAGER, Role.ANALYST, Role.STORE_STAFF

# permission -> (roles holding it, what it lets them do)
PERMISSIONS: dict[str, tuple[frozenset[str], str]] = {
    "dashboard.view": (frozenset({OWNER, MANAGER, ANALYST, STORE_STAFF}), "Open the dashboard"),
    "insights.view": (frozenset({OWNER, MANAGER, ANALYST}), "See insight dashboards"),
    "insights.manage": (frozenset({OWNER, MANAGER}), "Change lifecycle thresholds and staffing assumptions"),
    "shoppers.view": (frozenset({OWNER, MANAGER, ANALYST, STORE_STAFF}), "Look up shoppers"),
    "shoppers.manage": (frozenset({OWNER, MANAGER}), "Edit, merge, export and erase shoppers"),
    "loyalty.view": (frozenset({OWNER, MANAGER, ANALYST}), "See loyalty programs"),
    "loyalty.manage": (frozenset({OWNER, MANAGER}), "Change loyalty programs and adjust points"),
    "campaigns.view": (frozenset({OWNER, MANAGER, ANALYST}), "See campaigns and their results"),
    "campaigns.manage": (frozenset({OWNER, MANAGER}), "Create and send campaigns"),
    "stores.view": (frozenset({OWNER, MANAGER}), "See store settings"),
    "stores.manage": (frozenset({OWNER, MANAGER}), "Add and edit stores"),
    "staff.manage": (frozenset({OWNER}), "Invite staff, change roles, remove staff"),
    "api_keys.manage": (frozenset({OWNER}), "Create and revoke API keys"),
    "payments.manage": (
        frozenset({OWNER, MANAGER}),
        "Connect payment sources, rotate their secrets, map locations, replay events",
    ),
    "webhooks.manage": (
        frozenset({OWNER, MANAGER}),
        "Add webhook endpoints, rotate their secrets, pause them, replay deliveries",
    ),
    "merchant.manage": (frozenset({OWNER}), "Change merchant settings, require MFA"),
    "exports.run": (
        frozenset({OWNER, MANAGER}),
        "Export purchases, shoppers, consents, points and messages as CSV",
    ),
    "imports.manage": (frozenset({OWNER, MANAGER}), "Import shoppers, consents, cards, points and purchases from CSV"),
}


def role_has_permission(role: str, permission: str) -> bool:
    roles, _description = PERMISSIONS[permission]
    return role in roles


def role_matrix_markdown() -> str:
    """The matrix as a Markdown table, as README.md shows it."""
    columns = list(Role)
    header = "| Permission | " + " | ".join(str(role.label) for role in columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    rows = [
        f"| {description} (`{name}`) | " + " | ".join("✓" if role in roles else "–" for role in columns) + " |"
        for name, (roles, description) in PERMISSIONS.items()
    ]
    return "\n".join([header, rule, *rows])


# Scopes an API key may carry. A key is given the scopes its integration needs.
API_SCOPES = [
    ("shoppers:read", _("Look up shoppers")),
    ("shoppers:write", _("Create shoppers, enroll cards, change consents")),
    ("purchases:write", _("Record and refund purchases, post visits")),
    ("loyalty:read", _("Read balances and offers")),
    ("loyalty:write", _("Redeem points")),
    ("exports:read", _("Download CSV exports of purchases, shoppers, consents, points and messages")),
]
ALL_API_SCOPES = [scope for scope, _label in API_SCOPES]
