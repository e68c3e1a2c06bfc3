"""The one domain signal: a purchase was recorded.

Sent by `profiles.services` inside the purchase's transaction (never from
post_save). `loyalty` and `campaigns` connect receivers in AppConfig.ready().
Receivers are called with: sender, merchant, purchase.
"""

from django.dispatch import Signal

purchase_recorded = Signal()
