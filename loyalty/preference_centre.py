"""The preference centre's "Your points" section, which profiles loads through the AppConfig hook
`shopper_preference_sections` (profiles never imports loyalty)."""

from django.template.loader import render_to_string
from django.utils import translation

from loyalty.selectors import points_summary
from profiles.models import Shopper


def preference_centre_points(*, shopper: Shopper, language: str) -> str:
    """HTML of the shopper's points balance, tier and the rewards within reach, or "" without a program or an
    account (a shopper who never earned has nothing to show)."""
    summary = points_summary(merchant=shopper.merchant, shopper=shopper)
    if summary is None:
        return ""
    with translation.override(language):
        return render_to_string("shopper/_loyalty_points.html", {"program": summary["program"], "summary": summary})
