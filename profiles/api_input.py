"""What the checkout API accepts: one struct per request body, and the checks after decoding.

The structs (core.api_input.Body) state types, required fields, choices, lengths and
ranges; msgspec enforces them while it reads the body and drf-spectacular shows them in
the OpenAPI document. The `*_from` functions below then check what a struct cannot
(trimmed strings not blank and free of NUL characters, ISO 4217, a time not in the future,
ids that must belong to this merchant) and build the services' own inputs. Every
complaint names its field by path (`line_items.0.name`, `shopper.email`).

The struct names are the OpenAPI component names clients already generate code from.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from django.conf import settings
from msgspec import UNSET, Meta, UnsetType

from core.api_input import Body, FieldErrors, InputError, choice, decode
from core.currencies import ISO_4217
from core.errors import ApplicationError
from core.providers import CardIdentityKind, PaymentProvider
from merchants import request_cache
from merchants.models import Merchant, Store
from profiles.models import (
    CardScheme,
    Channel,
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    JoinedVia,
    PurchaseState,
    Shopper,
    VisitSource,
)
from profiles.services import purchases, shoppers
from profiles.services.batch import MAX_BATCH
from profiles.services.cards import ProviderCardId

# How far ahead of our clock a purchase's time may be: a till's clock runs a little fast.
CLOCK_SKEW = timedelta(minutes=10)
_CLEARED = PurchaseState.CLEARED  # read once: a choices member is a slow attribute, and a batch has 1,000 rows

Minor = Annotated[int, Meta(ge=0, le=10**12, extra_json_schema={"format": "int64"})]
Moment = Annotated[datetime, Meta(tz=True, description="ISO 8601 with its offset, e.g. 2026-11-23T10:15:00Z.")]
StoreId = Annotated[int, Meta(ge=1, le=2**63 - 1, description="A store id of yours.")]  # a bigint key
ShopperId = Annotated[uuid.UUID, Meta(description="A shopper id (`id` of a shopper returned by this API).")]
CardId = Annotated[
    str, Meta(min_length=1, max_length=200, description="The payment provider's card id (token). Never the number.")
]
ChannelName = choice(Channel.choices)
Language = choice(settings.LANGUAGES, blank=True)


def _strings(limit: int) -> Any:
    return Annotated[list[Annotated[str, Meta(min_length=1, max_length=limit)]], Meta(max_length=20)]


class ConsentInput(Body):
    """One consent decision the shopper made."""

    channel: choice(ConsentChannel.choices)  # type: ignore[valid-type]
    purpose: choice(ConsentPurpose.choices)  # type: ignore[valid-type]
    granted: bool
    wording_version: Annotated[str, Meta(max_length=50)] = ""


class CardIdentityInput(Body):
    """A name a payment provider gives this card, so its purchases reported by that provider reach the shopper."""

    provider: choice(PaymentProvider.choices)  # type: ignore[valid-type]
    kind: choice(CardIdentityKind.choices)  # type: ignore[valid-type]
    value: Annotated[str, Meta(min_length=1, max_length=200, description="The fingerprint, alias, PAR or card id.")]
    account: Annotated[
        str,
        Meta(
            max_length=100,
            description="The provider account it is valid in, exactly as the payment source's Account in Settings → "
            "Payment sources (a Stripe account id, a Square merchant id, a Fidel program id, an Adyen merchant "
            "account). Not used for a PAR, which holds across providers.",
        ),
    ] = ""


class CardInput(Body, kw_only=True):
    """A card as the payment provider knows it: its token, brand and outer digits."""

    id: CardId
    scheme: choice(CardScheme.choices) = CardScheme.OTHER.value  # type: ignore[valid-type]
    first_six: Annotated[str, Meta(pattern=r"^(\d{6})?$")] = ""
    last_four: Annotated[str, Meta(min_length=1, pattern=r"^\d{4}$")]
    expiry_month: Annotated[int, Meta(ge=1, le=12)] | None = None
    expiry_year: Annotated[int, Meta(ge=2000, le=2100)] | None = None
    identities: Annotated[list[CardIdentityInput], Meta(max_length=10)] = []


class Preferences(Body):
    """What the shopper told you they like; each list is added to what is known."""

    sizes: _strings(30) | UnsetType = UNSET  # type: ignore[valid-type]
    colours: _strings(30) | UnsetType = UNSET  # type: ignore[valid-type]
    brands: _strings(60) | UnsetType = UNSET  # type: ignore[valid-type]
    styles: _strings(60) | UnsetType = UNSET  # type: ignore[valid-type]
    favourite_categories: _strings(60) | UnsetType = UNSET  # type: ignore[valid-type]


class ShopperInput(Body):
    """A shopper's details; an email or phone that an existing shopper verified identifies that shopper."""

    first_name: Annotated[str, Meta(max_length=100)] = ""
    last_name: Annotated[str, Meta(max_length=100)] = ""
    email: Annotated[str, Meta(max_length=254)] = ""
    email_verified: Annotated[bool, Meta(description="True when your checkout has confirmed the address.")] = False
    phone: Annotated[str, Meta(max_length=40)] = ""
    phone_verified: bool = False
    birthday: date | None = None
    language: Language = ""  # type: ignore[valid-type]
    home_store: StoreId | None = None
    joined_via: choice(JoinedVia.choices) = JoinedVia.CHECKOUT.value  # type: ignore[valid-type]
    consents: list[ConsentInput] = msgspec.field(default_factory=list)
    preferences: Preferences = msgspec.field(default_factory=Preferences)


class ShopperCreate(ShopperInput):
    """A shopper to find or create: at least an email, a phone, a card or a name."""

    card: CardInput | None = None


class CardEnroll(Body):
    """A card to link, to a shopper given by id or by details."""

    card: CardInput
    shopper_id: ShopperId | None = None
    shopper: ShopperInput | None = None


class LineItem(Body, kw_only=True):
    sku: Annotated[str, Meta(max_length=100)] = ""
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    category: Annotated[str, Meta(max_length=100)] = ""
    quantity: Annotated[int, Meta(ge=1, le=100_000)] = 1
    unit_price_minor: Minor


class PurchaseInput(Body):
    """One purchase. Integers are JSON integers: "1500", 1500.0 and true are refused, not converted."""

    external_id: Annotated[
        str, Meta(min_length=1, max_length=100, description="Your order id: a purchase is stored once per id.")
    ]
    amount_minor: Annotated[
        int, Meta(ge=1, le=10**12, description="In minor units (cents).", extra_json_schema={"format": "int64"})
    ]
    currency: Annotated[
        str, Meta(min_length=1, pattern=r"^[A-Z]{3}$", description="ISO 4217, the merchant's currency.")
    ]
    occurred_at: Moment
    channel: ChannelName  # type: ignore[valid-type]
    store: StoreId | None = None
    shopper_id: ShopperId | None = None
    card_id: (
        Annotated[str, Meta(min_length=1, max_length=200, description="The provider's card id (token).")] | None
    ) = None
    line_items: Annotated[list[LineItem], Meta(max_length=500)] = msgspec.field(default_factory=list)


_BATCH_SIZE = Meta(min_length=1, max_length=MAX_BATCH)


class BatchInput(Body):
    """Up to 1,000 purchases, each shaped as for `purchases_create`; each row is validated on its own."""

    purchases: Annotated[list[PurchaseInput], _BATCH_SIZE]


class _BatchRows(Body):
    # BatchInput as it is read: each row stays raw JSON until it is decoded on its own, so a bad row
    # gets its own error instead of failing the batch.
    purchases: Annotated[list[msgspec.Raw], _BATCH_SIZE]


class RefundInput(Body):
    amount_minor: Annotated[int, Meta(ge=1, description="Leave out (or null) to refund what remains.")] | None = None


class VisitInput(Body):
    """A presence event: store Wi-Fi, an app geofence or a kiosk saw the shopper in a store."""

    store: StoreId
    occurred_at: Moment
    source: choice(VisitSource.choices)  # type: ignore[valid-type]
    shopper_id: ShopperId | None = None
    card_id: CardId | None = None


class ConsentChange(Body):
    consents: Annotated[list[ConsentInput], Meta(min_length=1)]


# After decoding


class Lookups:
    """The calling merchant's stores and shoppers, by the ids a request names.

    A batch fetches every store once and every named shopper in one query (`prefetch_shoppers`).
    """

    def __init__(self, merchant: Merchant, *, stores: Mapping[int, Store] | None = None) -> None:
        self.merchant = merchant
        self.stores = stores
        self.shoppers: dict[uuid.UUID, Shopper | None] = {}

    def store(self, store_id: int) -> Store | None:
        if self.stores is not None:
            return self.stores.get(store_id)
        # A single request reads it through the short-lived cache every API request shares.
        return request_cache.store_for_merchant(merchant=self.merchant, store_id=store_id)

    def _shoppers(self) -> Any:
        return Shopper.objects.for_merchant(self.merchant).exclude(status="erased")

    def prefetch_shoppers(self, public_ids: Iterable[uuid.UUID]) -> None:
        wanted = set(public_ids) - self.shoppers.keys()
        if not wanted:
            return
        found = {shopper.public_id: shopper for shopper in self._shoppers().filter(public_id__in=wanted)}
        self.shoppers.update({public_id: found.get(public_id) for public_id in wanted})

    def shopper(self, public_id: uuid.UUID) -> Shopper | None:
        if public_id not in self.shoppers:
            self.shoppers[public_id] = self._shoppers().filter(public_id=public_id).first()
        return self.shoppers[public_id]


def _store(errors: FieldErrors, path: str, store_id: int | None, lookups: Lookups) -> Store | None:
    if store_id is None:
        return None
    store = lookups.store(store_id)
    if store is None:
        errors.add(path, f"No store with id {store_id}.", code="not_found")
    return store


def _shopper(errors: FieldErrors, path: str, public_id: uuid.UUID | None, lookups: Lookups) -> Shopper | None:
    if public_id is None:
        return None
    shopper = lookups.shopper(public_id)
    if shopper is None:
        errors.add(path, f"No shopper with id {public_id}.", code="not_found")
    return shopper


def _moment(errors: FieldErrors, path: str, value: datetime) -> datetime:
    """The moment in UTC, the zone every request runs in (settings.TIME_ZONE)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        errors.add(path, "This date and time is out of range.")
        return value


def _optional_text(errors: FieldErrors, path: str, value: str | None) -> str | None:
    return None if value is None else errors.text(path, value)


def consent_from(errors: FieldErrors, path: str, body: ConsentInput) -> shoppers.ConsentInput:
    return shoppers.ConsentInput(
        channel=body.channel,
        purpose=body.purpose,
        is_granted=body.granted,
        wording_version=errors.text(f"{path}wording_version", body.wording_version, required=False),
    )


def card_from(errors: FieldErrors, path: str, body: CardInput) -> shoppers.CardInput:
    return shoppers.CardInput(
        token=errors.text(f"{path}id", body.id),
        scheme=body.scheme,
        first_six=body.first_six,
        last_four=body.last_four,
        expiry_month=body.expiry_month,
        expiry_year=body.expiry_year,
        identities=tuple(
            ProviderCardId(
                provider=identity.provider,
                scope=errors.text(f"{path}identities.{index}.account", identity.account, required=False),
                kind=identity.kind,
                value=errors.text(f"{path}identities.{index}.value", identity.value),
            )
            for index, identity in enumerate(body.identities)
        ),
    )


def preferences_from(errors: FieldErrors, path: str, body: Preferences) -> dict[str, list[str]]:
    """Only the lists the client sent: a list left out leaves what is known alone."""
    chosen = {}
    for name in body.__struct_fields__:
        values = getattr(body, name)
        if values is not UNSET:
            chosen[name] = [errors.text(f"{path}{name}.{index}", value) for index, value in enumerate(values)]
    return chosen


def shopper_from(errors: FieldErrors, path: str, body: ShopperInput, lookups: Lookups) -> shoppers.ShopperInput:
    contacts = []
    email = errors.text(f"{path}email", body.email, required=False)
    if email:
        try:
            contacts.append(
                shoppers.ContactInput(ContactKind.EMAIL, shoppers.normalize_email(email), body.email_verified)
            )
        except ApplicationError as error:
            errors.add(f"{path}email", error.message)
    phone = errors.text(f"{path}phone", body.phone, required=False)
    if phone:
        try:
            contacts.append(
                shoppers.ContactInput(ContactKind.PHONE, shoppers.normalize_phone(phone), body.phone_verified)
            )
        except ApplicationError as error:
            errors.add(f"{path}phone", error.message)
    return shoppers.ShopperInput(
        first_name=errors.text(f"{path}first_name", body.first_name, required=False),
        last_name=errors.text(f"{path}last_name", body.last_name, required=False),
        birthday=body.birthday,
        language=body.language,
        home_store=_store(errors, f"{path}home_store", body.home_store, lookups),
        joined_via=body.joined_via,
        contacts=tuple(contacts),
    )


@dataclass(frozen=True)
class ShopperDetails:
    """A shopper's details as the shopper services take them."""

    shopper: shoppers.ShopperInput
    consents: list[shoppers.ConsentInput]
    preferences: dict[str, list[str]]


def shopper_details_from(errors: FieldErrors, path: str, body: ShopperInput, lookups: Lookups) -> ShopperDetails:
    return ShopperDetails(
        shopper=shopper_from(errors, path, body, lookups),
        consents=[consent_from(errors, f"{path}consents.{i}.", item) for i, item in enumerate(body.consents)],
        preferences=preferences_from(errors, f"{path}preferences.", body.preferences),
    )


def shopper_create_from(body: ShopperCreate, lookups: Lookups) -> tuple[ShopperDetails, shoppers.CardInput | None]:
    errors = FieldErrors()
    details = shopper_details_from(errors, "", body, lookups)
    card = None if body.card is None else card_from(errors, "card.", body.card)
    errors.raise_if_any()
    shopper = details.shopper
    if not (shopper.contacts or card or shopper.first_name or shopper.last_name):
        raise InputError("Send at least an email, a phone, a card or a name.")
    return details, card


def card_enroll_from(
    body: CardEnroll, lookups: Lookups
) -> tuple[shoppers.CardInput, Shopper | None, ShopperDetails | None]:
    """(the card, the shopper named by id, or else the shopper's details)."""
    errors = FieldErrors()
    card = card_from(errors, "card.", body.card)
    shopper = _shopper(errors, "shopper_id", body.shopper_id, lookups)
    details = None if body.shopper is None else shopper_details_from(errors, "shopper.", body.shopper, lookups)
    if body.shopper_id is None and body.shopper is None:
        errors.add("shopper", "Send `shopper_id` or the shopper's details.")
    errors.raise_if_any()
    return card, shopper, details


def purchase_from(body: PurchaseInput, lookups: Lookups, *, now: datetime | None = None) -> purchases.PurchaseInput:
    errors = FieldErrors()
    currency = body.currency
    if currency not in ISO_4217:
        errors.add("currency", f"{currency} is not an ISO 4217 currency code.")
    occurred_at = _moment(errors, "occurred_at", body.occurred_at)
    if occurred_at > (now or datetime.now(UTC)) + CLOCK_SKEW:
        errors.add("occurred_at", "A purchase cannot be in the future.")
    line_items = []
    for index, item in enumerate(body.line_items):
        name, sku, category = item.name.strip(), item.sku.strip(), item.category.strip()
        if not name or "\x00" in name or "\x00" in sku or "\x00" in category:
            # Rare: only now spell the paths out (a batch has thousands of items, nearly all fine).
            name = errors.text(f"line_items.{index}.name", name)
            sku = errors.text(f"line_items.{index}.sku", sku, required=False)
            category = errors.text(f"line_items.{index}.category", category, required=False)
        line_items.append(
            purchases.LineItemInput(
                name=name, unit_price_minor=item.unit_price_minor, quantity=item.quantity, sku=sku, category=category
            )
        )
    data = purchases.PurchaseInput(
        external_id=errors.text("external_id", body.external_id),
        amount_minor=body.amount_minor,
        currency=currency,
        occurred_at=occurred_at,
        channel=body.channel,
        store=_store(errors, "store", body.store, lookups),
        shopper=_shopper(errors, "shopper_id", body.shopper_id, lookups),
        card_token=_optional_text(errors, "card_id", body.card_id),
        state=_CLEARED,
        line_items=tuple(line_items),
    )
    errors.raise_if_any()
    return data


def batch_from(body: bytes, lookups: Lookups) -> list[purchases.PurchaseInput | ApplicationError]:
    """Each row as a purchase, or as the error that describes it; the batch itself must be well-formed."""
    decoded: list[PurchaseInput | ApplicationError]
    try:
        decoded = list(decode(body, BatchInput).purchases)  # every row well-formed: one pass
    except ApplicationError:
        decoded = []
        for raw in decode(body, _BatchRows).purchases:  # some row is not: each on its own, to say which
            try:
                decoded.append(decode(raw, PurchaseInput))
            except ApplicationError as error:
                decoded.append(error)
    lookups.prefetch_shoppers(row.shopper_id for row in decoded if isinstance(row, PurchaseInput) and row.shopper_id)
    now = datetime.now(UTC)
    results: list[purchases.PurchaseInput | ApplicationError] = []
    for row in decoded:
        if isinstance(row, PurchaseInput):
            try:
                results.append(purchase_from(row, lookups, now=now))
            except ApplicationError as error:
                results.append(error)
        else:
            results.append(row)
    return results


@dataclass(frozen=True)
class VisitData:
    store: Store
    occurred_at: datetime
    source: str
    shopper: Shopper | None
    card_token: str | None


def visit_from(body: VisitInput, lookups: Lookups) -> VisitData:
    errors = FieldErrors()
    data = VisitData(
        store=_store(errors, "store", body.store, lookups),  # type: ignore[arg-type]
        occurred_at=_moment(errors, "occurred_at", body.occurred_at),
        source=body.source,
        shopper=_shopper(errors, "shopper_id", body.shopper_id, lookups),
        card_token=_optional_text(errors, "card_id", body.card_id),
    )
    errors.raise_if_any()
    return data


def consents_from(body: ConsentChange) -> list[shoppers.ConsentInput]:
    errors = FieldErrors()
    consents = [consent_from(errors, f"consents.{index}.", item) for index, item in enumerate(body.consents)]
    errors.raise_if_any()
    return consents
