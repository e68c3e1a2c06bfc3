"""What the home page flags about payment sources (see merchants.home): events that failed, and purchases
waiting for a location nobody has mapped to a store yet."""

from django.urls import reverse
from django.utils.translation import gettext as _

from merchants.home import Attention, HomeCard, HomePeriods
from merchants.models import Merchant, StaffMembership
from payments import selectors


def payments_card(*, merchant: Merchant, membership: StaffMembership, periods: HomePeriods) -> HomeCard | None:
    attention = []
    for source in selectors.source_list(merchant=merchant):  # one query, with both counts per source
        if source.unmapped_count:
            attention.append(
                Attention(
                    text=_("%(source)s: payments from a location not mapped to a store") % {"source": source.name},
                    url=reverse("payment_sources:location_map", args=[source.pk]),
                    count=source.unmapped_count,
                )
            )
        if source.failed_count:
            attention.append(
                Attention(
                    text=_("%(source)s: payment events that failed") % {"source": source.name},
                    url=reverse("payment_sources:detail", args=[source.pk]) + "?status=failed",
                    count=source.failed_count,
                )
            )
    if not attention:
        return None
    return HomeCard(key="payments", title=_("Payment sources"), template="", attention=tuple(attention))
