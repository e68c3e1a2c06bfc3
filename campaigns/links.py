"""Signed links that campaign messages carry: the feedback survey and the offer's landing page.

The pages behind them are in `campaigns.public_views` (URL namespace "campaign_pages").
"""

from django.core import signing
from django.urls import reverse

from profiles.links import absolute_url

FEEDBACK_SALT = "campaigns.feedback"
OFFER_SALT = "campaigns.offer"


def feedback_url(*, message_id: int, language: str | None = None) -> str:
    token = signing.dumps({"m": message_id}, salt=FEEDBACK_SALT)
    return absolute_url(reverse("campaign_pages:feedback", kwargs={"token": token}), language)


def offer_url(*, message_id: int, language: str | None = None) -> str:
    token = signing.dumps({"m": message_id}, salt=OFFER_SALT)
    return absolute_url(reverse("campaign_pages:offer", kwargs={"token": token}), language)
