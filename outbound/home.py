"""What the home page flags about webhooks to the merchant's systems (see merchants.home): endpoints whose
deliveries fail, or that were paused after a day of failures."""

from django.urls import reverse

from merchants.home import Attention, HomeCard, HomePeriods
from merchants.models import Merchant, StaffMembership
from outbound import selectors


def webhooks_card(*, merchant: Merchant, membership: StaffMembership, periods: HomePeriods) -> HomeCard | None:
    failing = selectors.endpoint_failing_list(merchant=merchant)
    attention = tuple(
        Attention(
            text=(
                f"Webhooks to {endpoint.url} are paused: {endpoint.paused_reason}"
                if not endpoint.is_active
                else f"Webhooks to {endpoint.url} have been failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
            ),
            url=reverse("webhooks:detail", args=[endpoint.pk]),
        )
        for endpoint in failing
    )
    if not attention:
        return None
    return HomeCard(key="webhooks", title="Webhooks", template="", attention=attention)
