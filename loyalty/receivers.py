"""Loyalty's reaction to `profiles.signals.purchase_recorded`: earn, inside the purchase's transaction.

Sent again as a change when the purchase is completed later (`is_change`): earning is idempotent per
purchase and books only what the purchase as it now is earns beyond what it booked before.
"""

from typing import Any

from loyalty.services.earn import purchase_earn
from merchants.models import Merchant
from profiles.models import Purchase


def on_purchase_recorded(sender: Any, *, merchant: Merchant, purchase: Purchase, **kwargs: Any) -> None:
    purchase_earn(merchant=merchant, purchase=purchase)
