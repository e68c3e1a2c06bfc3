"""Loyalty's reactions to profiles' signals, inside the transaction that sent them.

`purchase_recorded`: earn. Sent again as a change when the purchase is completed later (`is_change`):
earning is idempotent per purchase and books only what the purchase as it now is earns beyond what it
booked before.

`shoppers_merged` / `merge_undone`: the merged profile's points move to the survivor, and back.
"""

from typing import Any

from loyalty.services.earn import purchase_earn
from loyalty.services.merges import account_follow_merge, account_follow_undone_merge
from merchants.models import Merchant
from profiles.models import Purchase, Shopper


def on_purchase_recorded(sender: Any, *, merchant: Merchant, purchase: Purchase, **kwargs: Any) -> None:
    purchase_earn(merchant=merchant, purchase=purchase)


def on_shoppers_merged(sender: Any, *, merchant: Merchant, merged: Shopper, **kwargs: Any) -> None:
    account_follow_merge(merchant=merchant, merged=merged)


def on_merge_undone(sender: Any, *, merchant: Merchant, restored: Shopper, **kwargs: Any) -> None:
    account_follow_undone_merge(merchant=merchant, restored=restored)
