"""Holding what a signup asks of a profile it reached through a contact it has not proven.

A signup page lands on the profile that verified the email or phone typed (identity resolution), and must
not tell that a profile existed. Anyone can type someone else's address, so what the signup asks for waits
in a SignupHold: consent grants, the card read at the kiosk, names, preferences, new contacts and the visit.
It applies, with its original time, source and wording, when this signup's email link is followed or its
phone code entered for a contact the profile had verified; it expires with the link. Withdrawals apply at
once (an opt-out is always safe to honour). A signup that makes a new profile, or that a card it holds
identifies, is not held.
"""

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from merchants.models import Store
from profiles.models import (
    ConsentEvent,
    ContactKind,
    ContactPoint,
    Shopper,
    ShopperStatus,
    SignupHold,
    SignupPoint,
    Visit,
)
from profiles.services.cards import ProviderCardId
from profiles.services.shoppers import (
    CardInput,
    ConsentInput,
    ConsentOrigin,
    ContactInput,
    ShopperInput,
    card_enroll,
    consent_record,
    contact_add,
    preferences_add,
    shopper_blanks_fill,
    shopper_follow_merges,
)

PHONE_HOLD_LIFETIME = timedelta(minutes=10)  # a phone code's (profiles.services.signup.PHONE_CODE_LIFETIME)


def _email_hold_lifetime() -> timedelta:
    return timedelta(days=settings.EMAIL_CONFIRMATION_MAX_AGE_DAYS)


@transaction.atomic
def signup_hold_create(
    *,
    point: SignupPoint,
    shopper: Shopper,
    data: ShopperInput,
    consents: Sequence[ConsentInput],
    origin: ConsentOrigin,
    card: CardInput | None,
    preferences: dict[str, Sequence[str]] | None,
    contacts: Sequence[ContactPoint],
    visit: Visit | None,
) -> SignupHold:
    """Hold the signup's requests for `shopper`; record its withdrawals now.

    `contacts` are the shopper's contact points for what was typed: the verified ones prove the hold.
    """
    withdrawals = [consent for consent in consents if not consent.is_granted]
    if withdrawals:
        consent_record(shopper=shopper, consents=withdrawals, origin=origin)
    now = timezone.now()
    has_email = any(contact.kind == ContactKind.EMAIL for contact in contacts)
    request = {
        "consents": [dataclasses.asdict(consent) for consent in consents if consent.is_granted],
        "names": {
            "first_name": data.first_name,
            "last_name": data.last_name,
            "language": data.language,
            "home_store_id": data.home_store.pk if data.home_store else None,
            "joined_via": data.joined_via,
        },
        "preferences": {name: list(values) for name, values in (preferences or {}).items()},
        "card": dataclasses.asdict(card) if card is not None else None,
        "new_contact_ids": [contact.pk for contact in contacts if not contact.is_verified],
    }
    return SignupHold.objects.create(
        merchant_id=shopper.merchant_id,
        shopper=shopper,
        signup_point=point,
        source=origin.source,
        source_ref=origin.reference[:100],
        request=request,
        proof_contact_ids=[contact.pk for contact in contacts if contact.is_verified],
        visit=visit,
        requested_at=now,
        expires_at=now + (_email_hold_lifetime() if has_email else PHONE_HOLD_LIFETIME),
    )


def signup_hold_extend(*, hold_id: int, merchant_id: int) -> None:
    """A new phone code was sent: the hold lasts as long as the code does."""
    until = timezone.now() + PHONE_HOLD_LIFETIME
    SignupHold.objects.filter(
        merchant=merchant_id, pk=hold_id, applied_at__isnull=True, expires_at__gt=timezone.now(), expires_at__lt=until
    ).update(expires_at=until)


def signup_hold_open(*, hold_id: int | None, merchant_id: int) -> SignupHold | None:
    """The hold, while it waits (not applied, not expired)."""
    if hold_id is None:
        return None
    return SignupHold.objects.filter(
        merchant=merchant_id, pk=hold_id, applied_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


@transaction.atomic
def signup_hold_prove(*, hold_id: int, contact: ContactPoint) -> bool:
    """The person proved `contact` in the signup that made the hold. Returns whether the contact may be
    verified now: a contact the profile had verified applies the hold (and is verified already); a new
    contact of the signup is verified only once the hold applies, so proving one's own number does not
    make it a verified contact of someone else's profile."""
    hold = (
        SignupHold.objects.select_for_update()
        .filter(merchant=contact.merchant_id, pk=hold_id, shopper=contact.shopper_id)
        .first()
    )
    if hold is None:
        return False
    if hold.applied_at is not None:
        return contact.pk in hold.request.get("new_contact_ids", [])
    if hold.expires_at <= timezone.now():
        return False
    if contact.pk in hold.proof_contact_ids:
        signup_hold_apply(hold=hold)
        return True
    if contact.pk not in hold.proven_contact_ids:
        hold.proven_contact_ids = [*hold.proven_contact_ids, contact.pk]
        hold.save(update_fields=["proven_contact_ids"])
    return False


def _card_input(stored: dict[str, Any]) -> CardInput:
    identities = tuple(ProviderCardId(**identity) for identity in stored.get("identities", ()))
    return CardInput(**{**stored, "identities": identities})


def signup_hold_apply(*, hold: SignupHold) -> SignupHold:
    """Apply what was held, as it was asked. Call with the hold locked (select_for_update), once proven."""
    now = timezone.now()
    shopper = shopper_follow_merges(hold.shopper)
    notes = []
    if shopper.status != ShopperStatus.ACTIVE:
        notes.append("The profile is no longer active: nothing was applied.")
    else:
        _apply(hold, shopper, now, notes)
    hold.applied_at = now
    hold.note = " ".join(notes)[:300]
    hold.save(update_fields=["applied_at", "note"])
    return hold


def _apply(hold: SignupHold, shopper: Shopper, now: Any, notes: list[str]) -> None:
    request = hold.request
    origin = ConsentOrigin(source=hold.source, reference=hold.source_ref)
    names = request.get("names", {})
    store = Store.objects.filter(merchant=hold.merchant_id, pk=names.get("home_store_id")).first()
    shopper_blanks_fill(
        shopper=shopper,
        data=ShopperInput(
            first_name=names.get("first_name", ""),
            last_name=names.get("last_name", ""),
            language=names.get("language", ""),
            home_store=store,
        ),
        origin=origin,
    )
    for contact in ContactPoint.objects.filter(merchant=hold.merchant_id, pk__in=hold.proven_contact_ids):
        contact_add(shopper=shopper, contact=ContactInput(kind=contact.kind, value=contact.value, is_verified=True))
    consents = [ConsentInput(**consent) for consent in request.get("consents", [])]
    # A decision the profile made after the signup (an unsubscribe meanwhile) stays the latest: the held
    # grant is not replayed over it.
    later = set(
        ConsentEvent.objects.filter(merchant=hold.merchant_id, shopper=shopper, occurred_at__gt=hold.requested_at)
        .values_list("channel", "purpose")
        .distinct()
    )
    current = [consent for consent in consents if (consent.channel, consent.purpose) not in later]
    if len(current) < len(consents):
        notes.append("Consents decided again after the signup were left as decided.")
    if current:
        consent_record(
            shopper=shopper, consents=current, origin=origin, occurred_at=hold.requested_at, took_effect_at=now
        )
    if request.get("preferences"):
        preferences_add(shopper=shopper, preferences=request["preferences"])
    if request.get("card"):
        try:
            with transaction.atomic():
                card_enroll(
                    merchant=shopper.merchant,
                    shopper=shopper,
                    card=_card_input(request["card"]),
                    linked_via=names.get("joined_via", "kiosk"),
                )
        except ApplicationError:
            notes.append("The card read at the signup was linked to another profile meanwhile: not linked.")
    if hold.visit_id:
        Visit.objects.filter(merchant=hold.merchant_id, pk=hold.visit_id, shopper__isnull=True).update(shopper=shopper)
