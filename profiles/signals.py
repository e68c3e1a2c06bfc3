"""Domain signals of profiles. `purchase_recorded`: a purchase was recorded, or a recorded purchase was completed.

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


# The signals below tell apps above profiles (loyalty, campaigns, outbound webhooks) what changed.
# Each is sent by `profiles.services` inside the transaction that made the change; a receiver that
# reaches outside the database (a queue, another system) defers its work with
# transaction.on_commit. Every receiver gets `sender` and `merchant`, plus:
#
# shopper_changed: `shopper`, `created` (bool), `fields` (names of the fields that changed;
#     empty when created), `origin` (an API key's or system's label, or None: who made the change,
#     so a change that came back from a system is not echoed to it).
shopper_changed = Signal()
# shoppers_merged: `survivor`, `merged` (Shopper), `merge_event` (MergeEvent). Sent after the rows
#     of the merged profile have moved; receivers move what they own (accounts, messages,
#     subscriptions) the same way.
shoppers_merged = Signal()
# merge_undone: `survivor`, `restored` (Shopper), `merge_event`.
merge_undone = Signal()
# shopper_erased: `shopper_public_id` (str) and `shopper_id` (int); no personal data is passed.
shopper_erased = Signal()
# consent_changed: `shopper`, `channel`, `granted` (bool), `origin` (as for shopper_changed).
consent_changed = Signal()
# purchase_refunded: `purchase`, `refunded_minor` (this refund's amount).
purchase_refunded = Signal()
