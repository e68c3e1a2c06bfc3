"""A purchase that learns its card after it was recorded (a capture without card details that arrived
before the authorisation that names the card): it gains the card and, through it, the card's shopper."""

from profiles.models import Card, Purchase
from profiles.services.purchases import twins
from profiles.services.purchases.recording import effective_shopper


def purchase_identify(*, purchase: Purchase, card: Card) -> Purchase:
    """Give `purchase` (locked, without a card) its card, and the card's shopper if it had none."""
    if purchase.card_id is not None:
        return purchase
    purchase.card_id = card.pk
    shopper = effective_shopper(card.shopper) if purchase.shopper_id is None else None
    twins._save_learning_shopper(purchase, shopper, ["card", "updated_at"])
    if shopper is not None:  # now someone's purchase: loyalty and campaigns see it as it now is
        twins.purchase_change_announce(merchant=purchase.merchant, purchase=purchase)
    return purchase
