"""Who a campaign reaches. (Scaffold: the segment rule compiler replaces `_matching`.)"""

from django.db.models import QuerySet

from campaigns.models import Segment, SegmentSnapshot
from merchants.models import Merchant
from profiles.models import Shopper, ShopperStatus


def audience_queryset(
    *, merchant: Merchant, segment: Segment | None = None, snapshot: SegmentSnapshot | None = None
) -> QuerySet[Shopper]:
    """The merchant's active shoppers in the segment (or snapshot); every active shopper when neither is given."""
    shoppers = Shopper.objects.filter(merchant=merchant, status=ShopperStatus.ACTIVE)
    if snapshot is not None:
        return shoppers.filter(pk__in=snapshot.members.values("shopper_id"))
    if segment is not None:
        return _matching(shoppers, segment)
    return shoppers


def shopper_in_audience(
    *, merchant: Merchant, shopper_id: int, segment: Segment | None = None, snapshot: SegmentSnapshot | None = None
) -> bool:
    return audience_queryset(merchant=merchant, segment=segment, snapshot=snapshot).filter(pk=shopper_id).exists()


def _matching(shoppers: QuerySet[Shopper], segment: Segment) -> QuerySet[Shopper]:
    if segment.rules.get("conditions"):
        raise NotImplementedError("segment rules are compiled by the segments work")
    return shoppers
