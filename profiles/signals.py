"""The one domain signal: a purchase was recorded, or a recorded purchase was completed.

Sent by `profiles.services` inside the purchase's transaction (never from
post_save). `loyalty` and `campaigns` connect receivers in AppConfig.ready().
Receivers are called with: sender, merchant, purchase, and `is_change`.

`is_change` is False (or absent) when the purchase is first recorded. It is True when a
purchase recorded earlier was completed: matched with its twin (a checkout basket and the
network transaction for the same purchase), so that it gained its shopper, its card or its
line items; or cleared at another amount. The purchase is then sent again as it now is, so a
receiver must act on a purchase's final state once: compute what it owes the purchase as it is,
and do only what it has not done yet. Refunds and a clearing that keeps the amount are not sent
(loyalty settles them against what the purchase earned).
"""

from django.dispatch import Signal

# Sent once per purchase (a thousand times a batch): receivers are looked up once per sender and
# cached (connecting or disconnecting one clears it), not filtered again on every send.
purchase_recorded = Signal(use_caching=True)
