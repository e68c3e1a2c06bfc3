"""Shoppers, their contact points, consent and cards: create, match, link."""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError, ConflictError
from merchants.models import Merchant, Store
from profiles import signals
from profiles.identity_keys import contact_match_key
from profiles.models import (
    Card,
    CardIdentityVia,
    CardScheme,
    CardStatus,
    ConsentEvent,
    ConsentSource,
    ContactKind,
    ContactPoint,
    JoinedVia,
    Shopper,
    ShopperPreferences,
    ShopperStatus,
)
from profiles.services import cards
from profiles.services.cards import ProviderCardId, card_fingerprint


def contact_hmac(kind: str, value: str) -> str:
    return hmac.new(settings.CARD_FINGERPRINT_KEY.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalize_email(value: str, *, field_name: str = "email") -> str:
    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ApplicationError("Enter a valid email address.", code="invalid_email", field=field_name) from error
    return email


def normalize_phone(value: str, *, region: str | None = None, field_name: str = "phone") -> str:
    """E.164 (+31612345678). A number without a country code is read in `region`."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        raise ApplicationError(
            "Enter a phone number with its country code, e.g. +31 6 1234 5678.", code="invalid_phone", field=field_name
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ApplicationError("This phone number is not valid.", code="invalid_phone", field=field_name)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class ContactInput:
    kind: str
    value: str
    is_verified: bool = False


@dataclass(frozen=True)
class ConsentInput:
    channel: str
    purpose: str
    is_granted: bool
    wording_version: str = ""


@dataclass(frozen=True)
class ConsentOrigin:
    """Where consent was given: source (kiosk, api_key, staff, page…) and which one."""

    source: str
    reference: str = ""

    @property
    def api_key_prefix(self) -> str | None:
        """Who made the change, as `origin` in profiles.signals: the API key, when it came through the API."""
        return self.reference if self.source == ConsentSource.API_KEY else None


@dataclass(frozen=True)
class CardInput:
    token: str
    last_four: str
    scheme: str = CardScheme.OTHER
    first_six: str = ""
    expiry_month: int | None = None
    expiry_year: int | None = None
    # The names payment providers give this card (a Stripe fingerprint, an Adyen alias…); see services.cards.
    identities: tuple[ProviderCardId, ...] = ()
    identities_via: str = CardIdentityVia.ENROLMENT


@dataclass(frozen=True)
class ShopperInput:
    first_name: str = ""
    last_name: str = ""
    birthday: date | None = None
    language: str = ""
    home_store: Store | None = None
    joined_via: str = JoinedVia.API
    contacts: Sequence[ContactInput] = field(default_factory=tuple)


PREFERENCE_FIELDS = ("sizes", "colours", "brands", "styles", "favourite_categories")


@dataclass(frozen=True)
class MatchResult:
    shopper: Shopper
    created: bool
    matched_by: str | None


def shopper_find(
    *, merchant: Merchant, email: str | None = None, phone: str | None = None, card_token: str | None = None
) -> tuple[Shopper | None, str | None]:
    """The shopper a linked card, a verified email or a verified phone identifies, in that order.

    An email or phone is compared by its match key (profiles.identity_keys): the spellings a provider delivers
    to one mailbox find the profile that verified any of them.
    """
    if card_token:
        card = (
            Card.objects.for_merchant(merchant)
            .filter(fingerprint=card_fingerprint(card_token), status=CardStatus.ACTIVE)
            .select_related("shopper")
            .first()
        )
        if card is not None:
            return shopper_follow_merges(card.shopper), "card"
    for kind, value in ((ContactKind.EMAIL, email), (ContactKind.PHONE, phone)):
        if not value:
            continue
        contacts = (
            ContactPoint.objects.for_merchant(merchant)
            .filter(kind=kind, match_key=contact_match_key(kind, value), is_verified=True)
            .select_related("shopper")
            .order_by("pk")
        )
        for contact in contacts:
            shopper = shopper_follow_merges(contact.shopper)
            if shopper.status == ShopperStatus.ACTIVE:
                return shopper, str(kind)
    return None, None


def shopper_follow_merges(shopper: Shopper) -> Shopper:
    seen = {shopper.pk}
    while shopper.status == ShopperStatus.MERGED and shopper.merged_into_id and shopper.merged_into_id not in seen:
        seen.add(shopper.merged_into_id)
        shopper = Shopper.objects.filter(merchant=shopper.merchant_id).get(pk=shopper.merged_into_id)
    return shopper


def _check_store(merchant: Merchant, store: Store | None) -> None:
    if store is not None and store.merchant_id != merchant.pk:
        raise ApplicationError("No such store.", code="not_found", field="home_store")


def contact_add(*, shopper: Shopper, contact: ContactInput) -> ContactPoint | None:
    """Attach a contact unless the shopper has it (in any spelling of one mailbox or number: its match key);
    a verified one taken by another shopper is left alone."""
    same = ContactPoint.objects.filter(
        shopper=shopper, kind=contact.kind, match_key=contact_match_key(contact.kind, contact.value)
    )
    existing = same.filter(value=contact.value).first() or same.order_by("-is_verified", "pk").first()
    if existing is not None:
        if contact.is_verified and not existing.is_verified:
            try:
                with transaction.atomic():
                    existing.is_verified, existing.verified_at = True, timezone.now()
                    existing.save(update_fields=["is_verified", "verified_at"])
            except IntegrityError:
                existing.refresh_from_db()
        return existing
    try:
        with transaction.atomic():
            return ContactPoint.objects.create(
                merchant_id=shopper.merchant_id,
                shopper=shopper,
                kind=contact.kind,
                value=contact.value,
                is_verified=contact.is_verified,
                verified_at=timezone.now() if contact.is_verified else None,
            )
    except IntegrityError:
        # Verified elsewhere already: that other profile is a probable duplicate, for staff to merge.
        return None


def consent_record(
    *,
    shopper: Shopper,
    consents: Sequence[ConsentInput],
    origin: ConsentOrigin,
    occurred_at: datetime | None = None,
    took_effect_at: datetime | None = None,
) -> list[ConsentEvent]:
    """Append consent decisions to the ledger. `took_effect_at`: for decisions made at `occurred_at` and held
    until now (services.signup_holds)."""
    moment = occurred_at or timezone.now()
    events = ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                merchant_id=shopper.merchant_id,
                shopper=shopper,
                channel=consent.channel,
                purpose=consent.purpose,
                is_granted=consent.is_granted,
                occurred_at=moment,
                source=origin.source,
                source_ref=origin.reference[:100],
                wording_version=consent.wording_version,
                took_effect_at=took_effect_at,
            )
            for consent in consents
        ]
    )
    for e in events:
        signals.consent_changed.send(
            sender=ConsentEvent,
            merchant=shopper.merchant,
            shopper=shopper,
            channel=e.channel,
            granted=e.is_granted,
            purpose=e.purpose,
            origin=origin.api_key_prefix,
        )
    return events


def preferences_add(*, shopper: Shopper, preferences: dict[str, Sequence[str]]) -> ShopperPreferences:
    """Add what the shopper told us to what we knew (a union: nothing they said before is lost)."""
    unknown = set(preferences) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ApplicationError(
            f"Unknown preference: {', '.join(sorted(unknown))}.", code="invalid", field="preferences"
        )
    stored, _ = ShopperPreferences.objects.select_for_update().get_or_create(
        shopper=shopper, defaults={"merchant_id": shopper.merchant_id}
    )
    changed = []
    for name, values in preferences.items():
        current = list(getattr(stored, name))
        additions = [value.strip() for value in values if value.strip() and value.strip() not in current]
        if additions:
            setattr(stored, name, current + additions)
            changed.append(name)
    if changed:
        stored.save(update_fields=[*changed, "updated_at"])
    return stored


def shopper_blanks_fill(*, shopper: Shopper, data: ShopperInput, origin: ConsentOrigin) -> list[str]:
    """A known profile keeps what it has and takes what was blank (names, birthday, language, home store)."""
    blanks = {
        name: value
        for name, value in (
            ("first_name", data.first_name),
            ("last_name", data.last_name),
            ("birthday", data.birthday),
            ("language", data.language),
            ("home_store", data.home_store),
        )
        if value and not getattr(shopper, name)
    }
    if blanks:
        for name, value in blanks.items():
            setattr(shopper, name, value)
        shopper.save(update_fields=[*blanks, "updated_at"])
        signals.shopper_changed.send(
            sender=Shopper,
            merchant=shopper.merchant,
            shopper=shopper,
            created=False,
            fields=list(blanks),
            origin=origin.api_key_prefix,
        )
    return list(blanks)


@transaction.atomic
def shopper_create_or_match(
    *,
    merchant: Merchant,
    data: ShopperInput,
    consents: Sequence[ConsentInput] = (),
    origin: ConsentOrigin,
    card: CardInput | None = None,
    preferences: dict[str, Sequence[str]] | None = None,
) -> MatchResult:
    """Find the shopper this card or contact already identifies, or create one.

    A contact identifies the active profile that verified it, whether or not it arrives verified: a
    signup page or an import with an address someone confirmed before lands on that profile instead of
    making a second one. A match keeps what is known and fills in what was blank; new contacts and
    consent decisions are added either way.
    """
    _check_store(merchant, data.home_store)
    emails = [c.value for c in data.contacts if c.kind == ContactKind.EMAIL]
    phones = [c.value for c in data.contacts if c.kind == ContactKind.PHONE]
    shopper, matched_by = shopper_find(
        merchant=merchant,
        email=emails[0] if emails else None,
        phone=phones[0] if phones else None,
        card_token=card.token if card else None,
    )
    created = shopper is None
    if shopper is None:
        shopper = Shopper.objects.create(
            merchant=merchant,
            first_name=data.first_name,
            last_name=data.last_name,
            birthday=data.birthday,
            language=data.language,
            home_store=data.home_store,
            joined_via=data.joined_via,
        )
    else:
        shopper_blanks_fill(shopper=shopper, data=data, origin=origin)
    for contact in data.contacts:
        contact_add(shopper=shopper, contact=contact)
    if created:  # announced with its contacts, before its consents
        signals.shopper_changed.send(
            sender=Shopper, merchant=merchant, shopper=shopper, created=True, fields=[], origin=origin.api_key_prefix
        )
    if consents:
        consent_record(shopper=shopper, consents=consents, origin=origin)
    if preferences:
        preferences_add(shopper=shopper, preferences=preferences)
    if card is not None:
        card_enroll(merchant=merchant, shopper=shopper, card=card, linked_via=data.joined_via)
    return MatchResult(shopper=shopper, created=created, matched_by=matched_by)


@transaction.atomic
def card_enroll(*, merchant: Merchant, shopper: Shopper, card: CardInput, linked_via: str) -> Card:
    """Link a card. Linking the same card to the same shopper again changes nothing."""
    if shopper.merchant_id != merchant.pk:
        raise ApplicationError("No such shopper.", code="not_found", field="shopper")
    if shopper.status != ShopperStatus.ACTIVE:
        raise ConflictError("This shopper profile is no longer active.", code="shopper_inactive", field="shopper")
    fingerprint = card_fingerprint(card.token)
    existing = (
        Card.objects.for_merchant(merchant)
        .select_for_update()
        .filter(fingerprint=fingerprint, status=CardStatus.ACTIVE)
        .first()
    ) or cards.card_by_identities(merchant=merchant, identities=card.identities)
    if existing is not None:
        if existing.shopper_id != shopper.pk:
            raise cards.linked_elsewhere()
        cards.identities_attach(card=existing, identities=card.identities, via=card.identities_via)
        return existing
    linked = Card(
        merchant=merchant,
        shopper=shopper,
        token=card.token,
        fingerprint=fingerprint,
        scheme=card.scheme,
        first_six=card.first_six,
        last_four=card.last_four,
        expiry_month=card.expiry_month,
        expiry_year=card.expiry_year,
        linked_via=linked_via,
    )
    try:
        with transaction.atomic():
            linked.save()
    except IntegrityError:
        # The same card was linked by a concurrent request: answer as if we had seen it first.
        existing = Card.objects.for_merchant(merchant).get(fingerprint=fingerprint, status=CardStatus.ACTIVE)
        if existing.shopper_id != shopper.pk:
            raise cards.linked_elsewhere() from None
        linked = existing
    cards.identities_attach(card=linked, identities=card.identities, via=card.identities_via)
    return linked


@transaction.atomic
def card_unlink(*, card: Card) -> Card:
    """Purchases on the card stop reaching the shopper; history stays."""
    Card.objects.filter(merchant=card.merchant_id, pk=card.pk, status=CardStatus.ACTIVE).update(
        status=CardStatus.UNLINKED, unlinked_at=timezone.now()
    )
    card.refresh_from_db()
    return card
