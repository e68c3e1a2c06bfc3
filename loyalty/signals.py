"""Domain signals of loyalty, sent inside the transaction that made the change.

Every receiver gets `sender` and `merchant`, plus:

points_changed: `account` (LoyaltyAccount), `delta` (points, signed), `reason` (the ledger entry's
    reason), `balance` (the account's balance after the change).
tier_changed: `account`, `previous` (tier key or None), `current` (tier key or None).
"""

from django.dispatch import Signal

points_changed = Signal()
tier_changed = Signal()
