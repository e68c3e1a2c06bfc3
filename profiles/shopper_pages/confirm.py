"""Double opt-in: the link in the confirmation email opens a page whose button confirms the address.

A button, not the link alone: mail scanners open links, and must not confirm for the shopper.
"""

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_http_methods

from profiles import links, selectors
from profiles.models import ContactPoint
from profiles.rate_limits import RateLimited
from profiles.services import signup
from profiles.shopper_pages.common import (
    check_rate_limits,
    link_error_response,
    rate_limited_response,
    shopper_language,
    shopper_render,
)


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    language = shopper_language(request, None)
    try:
        contact_id, value, hold_id = links.email_confirmation_target(token)
    except links.LinkError as error:
        return link_error_response(request, error, language=language)
    # The signed link decides the merchant.
    contact = (
        ContactPoint.all_merchants.select_related("shopper", "merchant").filter(pk=contact_id, value=value).first()
    )
    if contact is None:
        return link_error_response(request, links.LinkError("", code="link_invalid"), language=language)
    language = shopper_language(request, contact.shopper.language or contact.merchant.default_language)
    context: dict[str, object] = {"merchant": contact.merchant, "contact": contact}
    if request.method == "POST":
        try:
            check_rate_limits(request)
            contact = signup.email_confirm(contact_id=contact_id, value=value, hold_id=hold_id)
        except RateLimited as error:
            return rate_limited_response(request, error, language=language)
        except links.LinkError as error:
            return link_error_response(request, error, language=language)
        context["contact"] = contact
        if contact.is_verified:
            # Not while the address waits on a held signup: the profile it is on may be someone else's.
            context["preference_centre_url"] = links.preference_centre_path(contact.shopper, language=language)
        return shopper_render(request, "shopper/confirm_email_done.html", context, language=language)
    # A signup with this (already confirmed) address waits on this link: say what confirming records.
    hold = selectors.signup_hold_awaiting(contact=contact, hold_id=hold_id)
    if hold is not None:
        with translation.override(language):
            context["held_consents"] = selectors.signup_hold_consent_wordings(
                hold=hold, merchant_name=contact.merchant.name
            )
        context["hold"] = hold
    return shopper_render(request, "shopper/confirm_email.html", context, language=language)
