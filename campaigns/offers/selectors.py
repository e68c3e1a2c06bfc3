"""Which offers are live, and which a shopper holds.

`offer_is_live` is the one decision every surface asks — the offer's landing page, the preference
centre, the API's offers-for-shopper list and coupon redemption — so an offer disappears from all of
them the moment its window (or today's daily window) ends or its cap is reached.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from campaigns.models import Assignment, AssignmentGroup, Coupon, Offer, OfferKind
from loyalty.models import OfferAward
from merchants.models import Merchant
from profiles.models import Shopper


def offer_timezone(offer: Offer) -> zoneinfo.ZoneInfo:
    """The daily window is read in the offer's store's timezone, else the merchant's."""
    zone = offer.store.timezone if offer.store_id is not None and offer.store is not None else offer.merchant.timezone
    return zoneinfo.ZoneInfo(zone)


def _in_daily_window(start: time, end: time, moment: time) -> bool:
    if start < end:
        return start <= moment < end
    # A window across midnight, e.g. 22:00-02:00.
    return moment >= start or moment < end


def offer_window_open(offer: Offer, *, at: datetime) -> bool:
    """Within valid_from..valid_until (end excluded) and, if it has one, within today's daily window."""
    if not (offer.valid_from <= at < offer.valid_until):
        return False
    if offer.daily_start is None or offer.daily_end is None:
        return True
    local = at.astimezone(offer_timezone(offer))
    return _in_daily_window(offer.daily_start, offer.daily_end, local.time().replace(tzinfo=None))


def offer_redemption_count(offer: Offer) -> int:
    """Coupons redeemed, or awards of the card-linked offer (those count without a code)."""
    annotated = getattr(offer, "redemption_count", None)
    if annotated is not None:
        return int(annotated)
    if offer.kind == OfferKind.CARD_LINKED:
        if offer.card_linked_offer_id is None:
            return 0
        return OfferAward.objects.filter(merchant_id=offer.merchant_id, offer_id=offer.card_linked_offer_id).count()
    return Coupon.objects.filter(merchant_id=offer.merchant_id, offer=offer, redeemed_at__isnull=False).count()


def offer_cap_reached(offer: Offer) -> bool:
    return offer.max_redemptions is not None and offer_redemption_count(offer) >= offer.max_redemptions


def offer_is_live(offer: Offer, *, at: datetime) -> bool:
    """May a shopper see and use this offer at `at`? The one rule every surface follows."""
    if not offer_window_open(offer, at=at):
        return False
    if offer.kind == OfferKind.CARD_LINKED:
        linked = offer.card_linked_offer
        if linked is None or not linked.is_active or not (linked.starts_at <= at < linked.ends_at):
            return False
    return not offer_cap_reached(offer)


def offer_worth_sending(offer: Offer, *, at: datetime) -> bool:
    """May a message still carry this offer at `at`? It has not ended and can still be used, today's
    daily window aside (a morning message may announce this evening's hours). The sender asks this."""
    if at >= offer.valid_until:
        return False
    if offer.kind == OfferKind.CARD_LINKED:
        linked = offer.card_linked_offer
        if linked is None or not linked.is_active or at >= linked.ends_at:
            return False
    return not offer_cap_reached(offer)


def offer_closes_at(offer: Offer, *, at: datetime) -> datetime:
    """When a live offer next stops being usable: the end of today's daily window or of its validity."""
    if offer.daily_start is None or offer.daily_end is None:
        return offer.valid_until
    zone = offer_timezone(offer)
    local = at.astimezone(zone)
    end = datetime.combine(local.date(), offer.daily_end, tzinfo=zone)
    if end <= local:
        end += timedelta(days=1)
    return min(end, offer.valid_until)


@dataclass(frozen=True)
class ShopperOffer:
    offer: Offer
    code: str | None  # a coupon code; None for a card-linked offer (it applies itself)
    closes_at: datetime


def _candidates(merchant: Merchant, at: datetime) -> QuerySet[Offer]:
    return (
        Offer.objects.for_merchant(merchant)
        .filter(valid_from__lte=at, valid_until__gt=at)
        .select_related("merchant", "store", "card_linked_offer")
    )


def _with_redemption_count(offers: QuerySet[Offer]) -> QuerySet[Offer]:
    """Annotate what `offer_redemption_count` would count, so a list costs no query per offer."""
    coupons = (
        Coupon.objects.filter(offer=OuterRef("pk"), redeemed_at__isnull=False)
        .order_by()
        .values("offer")
        .annotate(count=Count("pk"))
        .values("count")
    )
    awards = (
        OfferAward.objects.filter(offer=OuterRef("card_linked_offer_id"))
        .order_by()
        .values("offer")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return offers.annotate(
        redemption_count=Case(
            When(kind=OfferKind.CARD_LINKED, then=Coalesce(Subquery(awards), 0)),
            default=Coalesce(Subquery(coupons), 0),
        )
    )


def offers_for_shopper(*, merchant: Merchant, shopper: Shopper, at: datetime) -> list[ShopperOffer]:
    """The live offers this shopper was given, in one query: unredeemed coupons, and card-linked offers
    of campaigns that messaged them (held-out shoppers were not given the offer) not yet applied."""
    code = Coupon.objects.filter(offer=OuterRef("pk"), shopper=shopper, redeemed_at__isnull=True).values("code")[:1]
    messaged = Assignment.objects.filter(
        campaign__offer=OuterRef("pk"), shopper=shopper, group=AssignmentGroup.TREATMENT
    )
    applied = OfferAward.objects.filter(shopper=shopper, offer_id=OuterRef("card_linked_offer_id"))
    offers = (
        _with_redemption_count(_candidates(merchant, at))
        .annotate(code=Subquery(code))
        .filter(Q(code__isnull=False) | (Q(kind=OfferKind.CARD_LINKED) & Exists(messaged) & ~Exists(applied)))
        .order_by("valid_until", "pk")
    )
    return [
        ShopperOffer(offer=offer, code=offer.code, closes_at=offer_closes_at(offer, at=at))
        for offer in offers
        if offer_is_live(offer, at=at)
    ]


def offer_get(*, merchant: Merchant, offer_id: int) -> Offer:
    """The merchant's offer; 404 for anyone else's."""
    return get_object_or_404(
        Offer.objects.for_merchant(merchant).select_related("merchant", "store", "card_linked_offer"), pk=offer_id
    )


def offer_list(*, merchant: Merchant) -> QuerySet[Offer]:
    offers = Offer.objects.for_merchant(merchant).select_related("merchant", "store", "card_linked_offer")
    return _with_redemption_count(offers).order_by("-valid_until", "name")
