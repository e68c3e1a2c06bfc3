"""What the home page flags about webhooks to the merchant's systems (see merchants.home): endpoints whose
deliveries fail, or that were paused after a day of failures."""

from django.urls import reverse
from django.utils.translation import gettext as _

from merchants.home import Attention, HomeCard, HomePeriods
from merchants.models import Merchant, StaffMembership
from outbound import selectors


def webhooks_card(*, merchant: Merchant, membership: StaffMembership, periods: HomePeriods) -> HomeCard | None:
    failing = selectors.endpoint_failing_list(merchant=merchant)
    attention = tuple(
        Attention(
            text=(
                _("Webhooks to %(url)s are paused: %(reason)s")
                % {"url": endpoint.url, "reason": endpoint.paused_reason}
                if not endpoint.is_active
                else _("Webhooks to %(url)s have been failing since %(since)s UTC")
                % {"url": endpoint.url, "since": f"{endpoint.failing_since:%Y-%m-%d %H:%M}"}
            ),
            url=reverse("webhooks:detail", args=[endpoint.pk]),
        )
        for endpoint in failing
    )
    if not attention:
        return None
    return HomeCard(key="webhooks", title=_("Webhooks"), template="", attention=attention)
