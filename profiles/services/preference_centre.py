"""What shoppers change themselves, from the preference centre or an unsubscribe link.

Every consent change is a new ledger row (source "page" or "unsubscribe_link"),
so staff see it in the profile's consent history. Export and erasure are the
same services staff use (profiles.services.identity), with no staff actor.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from core.errors import ApplicationError, ConflictError, NotFoundError
from profiles import selectors
from profiles.models import Card, CardStatus, ConsentEvent, ConsentSource, Shopper, ShopperPreferences, ShopperStatus
from profiles.services import identity
from profiles.services.shoppers import PREFERENCE_FIELDS, ConsentInput, ConsentOrigin, card_unlink, consent_record

PREFERENCE_CENTRE_REFERENCE = "preference centre"
SELF_ERASURE_REASON = "Deleted by the shopper in the preference centre."


def _check_active(shopper: Shopper) -> None:
    if shopper.status != ShopperStatus.ACTIVE:
        raise ConflictError("This account no longer exists.", code="shopper_inactive")


@transaction.atomic
def consents_change(
    *, shopper: Shopper, choices: Mapping[tuple[str, str], bool], wording_version: str
) -> list[ConsentEvent]:
    """Record the choices that differ from what holds now (an unchanged box adds nothing to the ledger)."""
    _check_active(shopper)
    Shopper.objects.select_for_update().filter(merchant=shopper.merchant_id, pk=shopper.pk).first()
    current = {
        (event.channel, event.purpose): event.is_granted
        for event in selectors.consents_current(merchant=shopper.merchant, shopper=shopper)
    }
    changes = [
        ConsentInput(channel=channel, purpose=purpose, is_granted=is_granted, wording_version=wording_version)
        for (channel, purpose), is_granted in choices.items()
        if current.get((channel, purpose), False) != is_granted
    ]
    if not changes:
        return []
    return consent_record(
        shopper=shopper,
        consents=changes,
        origin=ConsentOrigin(source=ConsentSource.PAGE, reference=PREFERENCE_CENTRE_REFERENCE),
    )


@transaction.atomic
def consent_unsubscribe(*, shopper: Shopper, channel: str, purpose: str) -> ConsentEvent | None:
    """One-click unsubscribe: withdraw one consent. Withdrawing again adds nothing."""
    Shopper.objects.select_for_update().filter(merchant=shopper.merchant_id, pk=shopper.pk).first()
    current = {
        (event.channel, event.purpose): event.is_granted
        for event in selectors.consents_current(merchant=shopper.merchant, shopper=shopper)
    }
    if (channel, purpose) in current and not current[(channel, purpose)]:
        return None
    (event,) = consent_record(
        shopper=shopper,
        consents=[ConsentInput(channel=channel, purpose=purpose, is_granted=False)],
        origin=ConsentOrigin(source=ConsentSource.UNSUBSCRIBE_LINK),
    )
    return event


@transaction.atomic
def preferences_replace(*, shopper: Shopper, preferences: Mapping[str, Sequence[str]]) -> ShopperPreferences:
    """The shopper's own list replaces what we had (they may take things off, unlike an import)."""
    _check_active(shopper)
    unknown = set(preferences) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown preference: {', '.join(sorted(unknown))}.", code="invalid")
    stored, _created = ShopperPreferences.objects.select_for_update().get_or_create(
        shopper=shopper, defaults={"merchant_id": shopper.merchant_id}
    )
    for name, values in preferences.items():
        cleaned: list[str] = []
        for value in values:
            if value.strip() and value.strip() not in cleaned:
                cleaned.append(value.strip())
        setattr(stored, name, cleaned)
    stored.save(update_fields=[*preferences, "updated_at"])
    return stored


def shopper_card_unlink(*, shopper: Shopper, card_public_id: Any) -> Card:
    """Unlink one of the shopper's own cards; another shopper's card is a NotFound."""
    _check_active(shopper)
    card = Card.objects.for_merchant(shopper.merchant).filter(shopper=shopper, public_id=card_public_id).first()
    if card is None or card.status != CardStatus.ACTIVE:
        raise NotFoundError("No such card.")
    return card_unlink(card=card)


def shopper_self_export(*, shopper: Shopper) -> dict[str, Any]:
    _check_active(shopper)
    return identity.shopper_export_record(merchant=shopper.merchant, shopper=shopper, actor=None)


def shopper_self_erase(*, shopper: Shopper) -> Shopper:
    return identity.shopper_erase(merchant=shopper.merchant, shopper=shopper, actor=None, reason=SELF_ERASURE_REASON)
