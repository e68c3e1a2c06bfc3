"""Card identities across payment sources: the names providers give one linked card.

A card is linked once (at checkout, a kiosk, the till); each payment source then names it its
own way: a Stripe or Square fingerprint within one account, an Adyen alias, Fidel's card id
within one program, the card network's payment account reference (PAR). Each such name is kept
as an identity of the card, as a keyed HMAC of (provider, scope, kind, value), so a purchase
reported by any source lands on the card's shopper, and no identity is ever usable outside
Storeloop. Identities are linked only on evidence:

- given at enrolment (a checkout plugin sends the provider's fingerprint with the card),
- read by a kiosk's card reader (the reader's provider and account are the kiosk's settings),
- named together in one payment (an Adyen notification with both an alias and a PAR: a card
  known by one is known by the other),
- or confirmed by staff.

A PAR is the card network's, the same whichever provider reports it: its key leaves the
provider and scope out. Every other kind is only equal within its provider and scope.
"""

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from core.errors import ConflictError
from core.providers import CardIdentityKind
from merchants.models import Merchant
from profiles.models import Card, CardIdentity, CardStatus


@dataclass(frozen=True)
class ProviderCardId:
    """One name a provider gives a card (never its number)."""

    provider: str
    scope: str
    kind: str
    value: str


def card_fingerprint(token: str) -> str:
    """A keyed hash of the token a card was enrolled with: the same card is recognised without keeping a usable
    secret. Our own feed names cards by this token (an identity of kind `token`)."""
    return hmac.new(settings.CARD_FINGERPRINT_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()


def identity_key(identity: ProviderCardId) -> str:
    """The keyed hash identities are stored and looked up by."""
    if identity.kind == CardIdentityKind.PAR:
        message = f"par||{identity.value}"
    else:
        message = f"{identity.provider}|{identity.scope}|{identity.kind}|{identity.value}"
    return hmac.new(settings.CARD_FINGERPRINT_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def card_by_identities(*, merchant: Merchant, identities: Sequence[ProviderCardId]) -> Card | None:
    """The linked card one of `identities` names, if any (the first that does, in the given order).

    A `token` identity is the token the card was enrolled with (`Card.fingerprint` keeps its hash)."""
    named = [identity for identity in identities if identity.value]
    tokens = {card_fingerprint(i.value): i for i in named if i.kind == CardIdentityKind.TOKEN}
    keys = {identity_key(i): i for i in named if i.kind != CardIdentityKind.TOKEN}
    found: dict[ProviderCardId, Card] = {}
    if keys:
        rows = CardIdentity.objects.filter(
            merchant=merchant, key__in=list(keys), card__status=CardStatus.ACTIVE
        ).select_related("card")
        found.update({keys[row.key]: row.card for row in rows})
    if tokens:
        cards = Card.objects.filter(merchant=merchant, fingerprint__in=list(tokens), status=CardStatus.ACTIVE)
        found.update({tokens[card.fingerprint]: card for card in cards})
    return next((found[identity] for identity in named if identity in found), None)


def linked_elsewhere() -> ConflictError:
    return ConflictError(
        "This card is already linked to another shopper. Unlink it there first.",
        code="card_linked_elsewhere",
        field="card",
    )


@transaction.atomic
def identities_attach(*, card: Card, identities: Iterable[ProviderCardId], via: str) -> list[CardIdentity]:
    """Make each identity name `card`. An identity of an unlinked card moves to this one; one naming
    another shopper's linked card is a conflict; one already naming this card's shopper stays."""
    attached = []
    for identity in identities:
        if not identity.value or identity.kind == CardIdentityKind.TOKEN:
            continue  # a token is the card's own, kept on the card
        key = identity_key(identity)
        existing = (
            CardIdentity.objects.filter(merchant_id=card.merchant_id)
            .select_for_update(of=("self",))
            .select_related("card")
            .filter(key=key)
            .first()
        )
        if existing is not None:
            owner = existing.card
            if owner.pk != card.pk and owner.status == CardStatus.ACTIVE:
                if owner.shopper_id != card.shopper_id:
                    raise linked_elsewhere()
                attached.append(existing)
                continue
            if owner.pk != card.pk:
                existing.card = card
                existing.linked_via = via
                existing.save(update_fields=["card", "linked_via"])
            attached.append(existing)
            continue
        row = CardIdentity(
            merchant_id=card.merchant_id,
            card=card,
            provider=identity.provider,
            scope=identity.scope,
            kind=identity.kind,
            key=key,
            linked_via=via,
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            # Attached by a concurrent request: it holds if it names this card's shopper.
            row = CardIdentity.objects.filter(merchant_id=card.merchant_id).select_related("card").get(key=key)
            if row.card.shopper_id != card.shopper_id:
                raise linked_elsewhere() from None
        attached.append(row)
    return attached
