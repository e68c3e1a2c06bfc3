"""Domain signals of loyalty, sent inside the transaction that made the change.

Every receiver gets `sender` and `merchant` (the Merchant, or its id where changes are posted in bulk:
ledger entries and the scheduled tier review), plus:

points_changed: `account` (Account; id, merchant_id, shopper_id and points_balance loaded), `delta`
    (points, signed: available and pending together), `reason` (the ledger entries' reason), `balance`
    (the available balance after the change). Sent once per account and reason of every ledger post:
    earning, settlement, redemption, expiry, offers, partners, merges, staff adjustments.
tier_changed: `account`, `previous` (the tier's name, or None), `current` (the tier's name, or None).
"""

from django.dispatch import Signal

points_changed = Signal()
tier_changed = Signal()
