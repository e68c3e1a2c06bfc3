"""The payment providers Storeloop takes events from, and the kinds of card identity they give.

Named here, below every app, because profiles keeps the identities of cards (one per provider
account) while payments holds the adapters and connections.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentProvider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    SQUARE = "square", "Square"
    FIDEL = "fidel", "Fidel API"
    ADYEN = "adyen", "Adyen"
    SHOPIFY = "shopify", "Shopify"
    GENERIC = "generic", _("Storeloop feed format")


class CardIdentityKind(models.TextChoices):
    FINGERPRINT = "fingerprint", _("Card fingerprint")  # Stripe, Square: per provider account
    ALIAS = "alias", _("Card alias")  # Adyen: per company account
    PAR = "par", _("Payment account reference")  # the card network's: holds across providers
    CARD_ID = "card_id", _("Card-linking card id")  # Fidel: across one program
    TOKEN = "token", _("Processor token")  # our own feed's card id
