"""The one domain signal: a purchase was recorded.

Sent by `profiles.services` inside the purchase's transaction (never from
post_save). `loyalty` and `campaigns` connect receivers in AppConfig.ready().
Receivers are called with: sender, merchant, purchase.
"""

from django.dispatch import Signal

# Sent once per purchase (a thousand times a batch): receivers are looked up once per sender and
# cached (connecting or disconnecting one clears it), not filtered again on every send.
purchase_recorded = Signal(use_caching=True)
