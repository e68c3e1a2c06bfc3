"""The windows in which the merchant's card-linked loyalty offers run, for insights' demand forecast
(registered with `core.promotions` in LoyaltyConfig.ready)."""

from collections.abc import Iterable
from datetime import datetime

from core.promotions import Window as PromotionWindow
from loyalty.models import Offer
from merchants.models import Merchant


def promotion_windows(merchant: Merchant, since: datetime, until: datetime) -> Iterable[PromotionWindow]:
    return (
        Offer.objects.for_merchant(merchant)
        .filter(is_active=True, starts_at__lte=until, ends_at__gte=since)
        .values_list("store_id", "starts_at", "ends_at")
    )
