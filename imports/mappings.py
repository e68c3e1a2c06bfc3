"""What each kind of import takes (its fields, in the order their cells are staged) and the export
formats of the systems merchants leave, mapped so that such a file needs no manual column work.

Column names of the Square and Shopify exports follow those systems' help pages (Square: Customer
Directory export; Shopify: customers and orders CSV). Shopify's orders export has one row per line
item and fills the order's own columns (total, dates, currency) on the order's first row only.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from imports.models import ImportKind


@dataclass(frozen=True)
class Field:
    name: str
    label: str | Promise
    required: bool = False


PURCHASE_FIELDS: tuple[Field, ...] = (
    Field("order_id", _("Order id"), required=True),
    Field("occurred_at", _("Date and time"), required=True),
    Field("total", _("Order total")),
    Field("currency", _("Currency")),
    Field("store", _("Store")),
    Field("channel", _("Channel (in_store or online)")),
    Field("customer_id", _("Customer id")),
    Field("email", _("Email")),
    Field("phone", _("Phone")),
    Field("item_name", _("Item name")),
    Field("item_sku", _("Item SKU")),
    Field("item_category", _("Item category")),
    Field("item_quantity", _("Item quantity")),
    Field("item_price", _("Item unit price")),
    Field("status", _("Payment status")),
)

SHOPPER_FIELDS: tuple[Field, ...] = (
    Field("customer_id", _("Customer id")),
    Field("first_name", _("First name")),
    Field("last_name", _("Last name")),
    Field("email", _("Email")),
    Field("phone", _("Phone")),
    Field("birthday", _("Birthday")),
    Field("language", _("Language")),
    Field("email_marketing", _("Email marketing consent")),
    Field("sms_marketing", _("SMS marketing consent")),
    Field("consent_date", _("Consent date")),
    Field("consent_source", _("Consent source")),
    Field("consent_wording", _("Consent wording")),
    Field("card_token", _("Card token (never a card number)")),
    Field("card_last_four", _("Card last four digits")),
    Field("card_scheme", _("Card scheme")),
    Field("sizes", _("Sizes")),
    Field("brands", _("Brands")),
    Field("favourite_categories", _("Favourite categories")),
)

LOYALTY_FIELDS: tuple[Field, ...] = (
    Field("customer_id", _("Customer id")),
    Field("email", _("Email")),
    Field("phone", _("Phone")),
    Field("points_balance", _("Points balance"), required=True),
    Field("tier", _("Tier")),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    ImportKind.PURCHASES: PURCHASE_FIELDS,
    ImportKind.SHOPPERS: SHOPPER_FIELDS,
    ImportKind.LOYALTY: LOYALTY_FIELDS,
}


def cell(kind: str, name: str) -> str:
    """The staged row's column holding a field's cell (c1 for the kind's first field)."""
    return next(f"c{index}" for index, field in enumerate(FIELDS[kind], start=1) if field.name == name)


@dataclass(frozen=True)
class Template:
    key: str
    label: str
    kind: str
    # Whose ids the file carries: a shopper id of one system never matches another system's.
    system: str
    columns: dict[str, str]
    # Headers that, all present, say a file is this system's export.
    signature: tuple[str, ...]
    # Columns the system fills with its own long numeric ids (Shopify's 13-digit order and customer ids): the
    # card-number scan skips them, as a payment provider's webhook skips its long references.
    system_id_columns: tuple[str, ...] = ()


TEMPLATES: dict[str, Template] = {
    template.key: template
    for template in (
        Template(
            key="square_customers",
            label="Square Customer Directory",
            kind=ImportKind.SHOPPERS,
            system="square",
            columns={
                "customer_id": "Square Customer ID",
                "first_name": "First Name",
                "last_name": "Last Name",
                "email": "Email Address",
                "phone": "Phone Number",
                "birthday": "Birthday",
                "email_marketing": "Email Subscription Status",
                "consent_source": "Creation Source",
            },
            signature=("Square Customer ID", "Email Address", "Email Subscription Status"),
        ),
        Template(
            key="square_loyalty",
            label="Square Loyalty",
            kind=ImportKind.LOYALTY,
            system="square",
            columns={
                "customer_id": "Square Customer ID",
                "email": "Email Address",
                "phone": "Phone Number",
                "points_balance": "Points Balance",
            },
            signature=("Phone Number", "Points Balance"),
        ),
        Template(
            key="shopify_customers",
            label="Shopify customers",
            kind=ImportKind.SHOPPERS,
            system="shopify",
            columns={
                "customer_id": "Customer ID",
                "first_name": "First Name",
                "last_name": "Last Name",
                "email": "Email",
                "phone": "Phone",
                "email_marketing": "Accepts Email Marketing",
                "sms_marketing": "Accepts SMS Marketing",
            },
            signature=("Customer ID", "Accepts Email Marketing"),
            system_id_columns=("Customer ID",),
        ),
        Template(
            key="shopify_orders",
            label="Shopify orders",
            kind=ImportKind.PURCHASES,
            system="shopify",
            columns={
                "order_id": "Name",
                "occurred_at": "Created at",
                "total": "Total",
                "currency": "Currency",
                "store": "Location",
                "email": "Email",
                "phone": "Phone",
                "item_name": "Lineitem name",
                "item_sku": "Lineitem sku",
                "item_quantity": "Lineitem quantity",
                "item_price": "Lineitem price",
                "status": "Financial Status",
            },
            signature=("Name", "Lineitem name", "Financial Status"),
            system_id_columns=("Id",),
        ),
    )
}
CUSTOM = "custom"


def _folded(header: str) -> str:
    return "".join(char for char in header.casefold() if char.isalnum())


def template_detect(headers: Sequence[str]) -> Template | None:
    """The export format whose telltale columns the file has, if any."""
    present = {_folded(header) for header in headers}
    for template in TEMPLATES.values():
        if all(_folded(column) in present for column in template.signature):
            return template
    return None


def mapping_guess(kind: str, headers: Sequence[str], template: Template | None = None) -> dict[str, str]:
    """Storeloop field -> header: the template's columns, else headers named like the field ("Order id", "order_id")."""
    by_folded = {_folded(header): header for header in headers}
    if template is not None and template.kind == kind:
        return {
            name: by_folded[_folded(column)]
            for name, column in template.columns.items()
            if _folded(column) in by_folded
        }
    guessed = {}
    for field in FIELDS[kind]:
        for candidate in (field.name, str(field.label)):
            if _folded(candidate) in by_folded:
                guessed[field.name] = by_folded[_folded(candidate)]
                break
    return guessed


def missing_required(kind: str, mapping: dict[str, str]) -> list[Field]:
    return [field for field in FIELDS[kind] if field.required and not mapping.get(field.name)]


def system_of(template_key: str) -> str:
    """Whose ids a file carries (a Square customer id never names a Shopify customer)."""
    template = TEMPLATES.get(template_key)
    return template.system if template is not None else "file"
