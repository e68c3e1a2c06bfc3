"""Offers and coupons: issuing a shopper's code, and redeeming it at a till or checkout."""

import secrets
from datetime import datetime

from django.db import IntegrityError, transaction
from rest_framework import status

from campaigns.models import Coupon, Offer
from campaigns.offers.selectors import offer_cap_reached, offer_is_live, offer_window_open
from core.errors import ApplicationError, ConflictError, NotFoundError
from merchants.models import Merchant
from profiles.models import Purchase, Shopper

# No 0/O, 1/I/L: codes are read aloud at tills.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class OfferUnavailable(ApplicationError):
    """The offer exists but cannot be used now: outside its window, or its cap is reached."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "offer_unavailable"


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


def normalize_code(code: str) -> str:
    return "".join(code.split()).upper().replace("-", "")


def _unavailable_reason(offer: Offer, at: datetime) -> OfferUnavailable | None:
    if at < offer.valid_from:
        return OfferUnavailable("This offer has not started yet.", code="offer_not_started")
    if at >= offer.valid_until:
        return OfferUnavailable("This offer has expired.", code="offer_expired")
    if not offer_window_open(offer, at=at):
        return OfferUnavailable(
            f"This offer holds only between {offer.daily_start:%H:%M} and {offer.daily_end:%H:%M}.",
            code="offer_outside_daily_window",
        )
    return None


@transaction.atomic
def coupon_redeem(*, merchant: Merchant, code: str, at: datetime, purchase: Purchase | None = None) -> Coupon:
    """Mark the coupon used (on `purchase`, if given). Refused, with nothing changed, when the code is
    another merchant's or unknown (NotFoundError), already used or the offer's cap is reached
    (ConflictError), or the offer is outside its window (OfferUnavailable).

    The offer row is locked while counting, so two redemptions at once never pass its cap.
    """
    coupon = (
        Coupon.objects.for_merchant(merchant)
        .select_for_update(of=("self",))
        .select_related("offer")
        .filter(code=normalize_code(code))
        .first()
    )
    if coupon is None:
        raise NotFoundError("No coupon has this code.", code="coupon_not_found")
    if coupon.redeemed_at is not None:
        raise ConflictError("This coupon was already used.", code="coupon_already_redeemed")
    offer = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("merchant", "store")
        .get(merchant=merchant, pk=coupon.offer_id)
    )
    refusal = _unavailable_reason(offer, at)
    if refusal is not None:
        raise refusal
    if offer_cap_reached(offer):
        raise ConflictError("This offer has been used as many times as it may be.", code="offer_cap_reached")
    if not offer_is_live(offer, at=at):  # pragma: no cover - the reasons above cover every case
        raise OfferUnavailable("This offer cannot be used now.")
    if purchase is not None and purchase.shopper_id not in (None, coupon.shopper_id):
        raise ApplicationError(
            "The purchase belongs to another shopper than the coupon.", code="purchase_mismatch", field="purchase_id"
        )
    coupon.redeemed_at = at
    coupon.purchase = purchase
    coupon.save(update_fields=["redeemed_at", "purchase"])
    return coupon
