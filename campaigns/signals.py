"""Domain signals of campaigns, sent inside the transaction that made the change.

Every receiver gets `sender` and `merchant`, plus:

message_sent: `message` (the OutboxMessage; id, merchant_id, shopper_id, campaign_id and channel
    loaded), sent once the channel's backend accepted it, as its row is marked sent.
"""

from django.dispatch import Signal

message_sent = Signal()
