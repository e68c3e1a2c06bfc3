"""The preference centre's "Your offers" section, which profiles loads through the AppConfig hook
`shopper_preference_sections` (profiles never imports campaigns)."""

from django.template.loader import render_to_string
from django.utils import timezone, translation

from campaigns.offers.selectors import offer_timezone, offers_for_shopper
from profiles.models import Shopper


def preference_centre_offers(*, shopper: Shopper, language: str) -> str:
    """HTML of the shopper's live offers, or "" when there are none: expired offers are not shown."""
    offers = offers_for_shopper(merchant=shopper.merchant, shopper=shopper, at=timezone.now())
    if not offers:
        return ""
    items = [
        {"offer": item.offer, "code": item.code, "closes_at": item.closes_at, "zone": offer_timezone(item.offer)}
        for item in offers
    ]
    with translation.override(language):
        return render_to_string("campaigns/shopper/_preference_offers.html", {"offers": items})
