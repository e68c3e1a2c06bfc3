"""Staff confirming that a card a provider named is a card a shopper linked.

When a payment arrives with a card identity no linked card has (a card linked at checkout before
its Stripe fingerprint was known, a card linked at another provider), its purchase has no shopper.
Staff see the linked cards that could be it (same last four digits, and brand and expiry where the
provider gave them) and confirm one: the identity joins that card, the purchase gains its shopper
(and earns, as a change), and every later payment with that identity lands on the shopper.
"""

from django.db import transaction
from django.db.models import Q

from core.errors import ApplicationError
from merchants.models import User
from merchants.services import audit_event_record
from payments.models import PaymentEvent
from payments.providers.base import CardIdentity
from profiles.models import Card, CardIdentityVia, CardStatus, Purchase
from profiles.services import cards, purchases

MAX_SUGGESTIONS = 10


def event_card(event: PaymentEvent) -> CardIdentity | None:
    """The first card identity the event names (its brand and last digits included), if any."""
    for raw in event.data.get("cards") or []:
        if raw.get("value"):
            return CardIdentity(
                provider=raw["provider"],
                scope=raw.get("scope", ""),
                kind=raw["kind"],
                value=raw["value"],
                brand=raw.get("brand", ""),
                last4=raw.get("last4", ""),
                exp_month=raw.get("exp_month"),
                exp_year=raw.get("exp_year"),
            )
    return None


def card_suggestions(*, event: PaymentEvent) -> list[Card]:
    """Linked cards of the event's merchant that could be the card it names: same last four digits, and the
    same expiry where both are known. Empty when the card is already recognised or names no digits."""
    named = event_card(event)
    if named is None or not named.last4 or len(named.last4) != 4:
        return []
    identity = cards.ProviderCardId(named.provider, named.scope, named.kind, named.value)
    if cards.card_by_identities(merchant=event.merchant, identities=[identity]) is not None:
        return []
    candidates = Card.objects.filter(merchant=event.merchant, status=CardStatus.ACTIVE, last_four=named.last4)
    # A card this provider already names otherwise, in the same account, is another card.
    candidates = candidates.exclude(
        identities__provider=named.provider, identities__scope=named.scope, identities__kind=named.kind
    )
    if named.exp_month and named.exp_year:
        candidates = candidates.filter(
            Q(expiry_month__isnull=True) | Q(expiry_month=named.exp_month, expiry_year=named.exp_year)
        )
    return list(candidates.select_related("shopper").order_by("-linked_at")[:MAX_SUGGESTIONS])


@transaction.atomic
def card_confirm(*, event: PaymentEvent, card: Card, actor: User | None) -> Purchase | None:
    """The event's card is `card`: link its identity there, and give the event's purchase its shopper."""
    named = event_card(event)
    if named is None:
        raise ApplicationError("This event names no card.", code="no_card", field="event")
    if card.merchant_id != event.merchant_id or card.status != CardStatus.ACTIVE:
        raise ApplicationError("No such linked card.", code="not_found", field="card")
    identity = cards.ProviderCardId(named.provider, named.scope, named.kind, named.value)
    cards.identities_attach(card=card, identities=[identity], via=CardIdentityVia.STAFF)
    purchase = None
    if event.purchase_id is not None:
        purchase = (
            Purchase.objects.filter(merchant_id=event.merchant_id, pk=event.purchase_id)
            .select_for_update(of=("self",))
            .select_related("merchant")
            .first()
        )
        if purchase is not None and purchase.card_id is None:
            purchases.purchase_identify(purchase=purchase, card=card)
    # The log says what happened since, so the row no longer reads "no shopper".
    PaymentEvent.objects.filter(merchant_id=event.merchant_id, pk=event.pk).update(
        detail=f"{event.detail.split(';')[0]}; card confirmed by staff as {card.shopper}'s"[:300]
    )
    audit_event_record(
        merchant=event.merchant,
        actor=actor,
        action="card_identity.confirmed",
        subject=str(card.public_id),
        provider=named.provider,
        kind=named.kind,
        event=event.event_id,
    )
    return purchase
