"""Domain signals of campaigns, sent inside the transaction that made the change.

Every receiver gets `sender` and `merchant`, plus:

message_sent: `message` (the message row, with its shopper, channel and campaign), sent once the
    channel's backend accepted it.
"""

from django.dispatch import Signal

message_sent = Signal()
