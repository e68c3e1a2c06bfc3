"""Offers and coupons. (Scaffold: issuing a coupon; the offers work extends this module.)"""

import secrets
from datetime import datetime

from django.db import IntegrityError, transaction

from campaigns.models import Coupon, Offer
from profiles.models import Shopper

# No 0/O, 1/I/L: codes are read aloud at tills.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def coupon_issue(*, offer: Offer, shopper: Shopper, at: datetime) -> Coupon:
    """The shopper's code for this offer: the same one each time (one coupon per shopper and offer)."""
    existing = Coupon.objects.filter(offer=offer, shopper=shopper).first()
    if existing is not None:
        return existing
    for _attempt in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    merchant_id=offer.merchant_id, offer=offer, shopper=shopper, code=code, issued_at=at
                )
        except IntegrityError:
            existing = Coupon.objects.filter(offer=offer, shopper=shopper).first()
            if existing is not None:
                return existing
    raise RuntimeError("Could not draw a unique coupon code.")
