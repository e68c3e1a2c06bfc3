"""The windows in which the merchant's campaigns and campaign offers promote, for insights' demand forecast
(registered with `core.promotions` in CampaignsConfig.ready)."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Q

from campaigns.models import Campaign, Offer
from core.promotions import Window as PromotionWindow
from merchants.models import Merchant

PROMOTION_CAMPAIGN_KINDS = ("broadcast", "recurring")
PROMOTION_CAMPAIGN_STATUSES = ("scheduled", "active", "completed")


def promotion_windows(merchant: Merchant, since: datetime, until: datetime) -> Iterator[PromotionWindow]:
    for store_id, launched, scheduled, ends, completed, attribution_days in (
        Campaign.objects.for_merchant(merchant)
        .filter(kind__in=PROMOTION_CAMPAIGN_KINDS, status__in=PROMOTION_CAMPAIGN_STATUSES)
        .filter(Q(launched_at__lte=until) | Q(launched_at=None, scheduled_at__lte=until))
        .values_list("store_id", "launched_at", "scheduled_at", "ends_at", "completed_at", "attribution_days")
    ):
        begins = launched or scheduled
        if begins is None:
            continue
        # A broadcast works for its attribution window, unless it was given an end.
        finish = ends or completed or begins + timedelta(days=attribution_days)
        yield store_id, begins, max(finish, begins)
    yield from (
        Offer.objects.for_merchant(merchant)
        .filter(valid_from__lte=until, valid_until__gte=since)
        .values_list("store_id", "valid_from", "valid_until")
    )
