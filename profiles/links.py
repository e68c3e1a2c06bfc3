"""Signed links to shopper pages: preference centre, email confirmation, one-click unsubscribe.

Nothing is stored for a link: each carries what it is about, signed with
SECRET_KEY under its own salt (a link of one kind never opens a page of another).
The preference centre and confirmation links expire; an unsubscribe link works
for as long as the message it came in may be read.

Campaigns put `list_unsubscribe_headers()` on every message (RFC 8058) and
`preference_centre_url()` in its footer.
"""

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse

from core.errors import ApplicationError
from profiles.models import ContactPoint, Shopper

PREFERENCE_CENTRE_SALT = "storeloop.profiles.preference-centre"
EMAIL_CONFIRMATION_SALT = "storeloop.profiles.email-confirmation"
UNSUBSCRIBE_SALT = "storeloop.profiles.unsubscribe"


class LinkError(ApplicationError):
    """A link that is expired (code `link_expired`) or was never ours (code `link_invalid`)."""

    status_code = 404


def absolute_url(path: str, language: str | None = None) -> str:
    query = f"?{urlencode({'lang': language})}" if language else ""
    return f"{settings.SITE_URL.rstrip('/')}{path}{query}"


def _load(token: str, *, salt: str, max_age: timedelta | None) -> dict[str, Any]:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise LinkError("This link has expired.", code="link_expired") from error
    except signing.BadSignature as error:
        raise LinkError("This link is not valid.", code="link_invalid") from error
    if not isinstance(payload, dict):
        raise LinkError("This link is not valid.", code="link_invalid")
    return payload


# Preference centre


def preference_centre_token(shopper: Shopper) -> str:
    return signing.dumps({"s": str(shopper.public_id)}, salt=PREFERENCE_CENTRE_SALT)


def preference_centre_path(shopper: Shopper, *, language: str | None = None) -> str:
    path = reverse("shopper_pages:preferences", kwargs={"token": preference_centre_token(shopper)})
    return f"{path}?{urlencode({'lang': language})}" if language else path


def preference_centre_url(shopper: Shopper, *, language: str | None = None) -> str:
    """The absolute link messages carry (on SITE_URL)."""
    return f"{settings.SITE_URL.rstrip('/')}{preference_centre_path(shopper, language=language)}"


def preference_centre_shopper_id(token: str) -> str:
    """The public id of the shopper the link was made for; LinkError if expired or forged."""
    payload = _load(token, salt=PREFERENCE_CENTRE_SALT, max_age=timedelta(days=settings.SHOPPER_LINK_MAX_AGE_DAYS))
    return str(payload.get("s", ""))


# Email confirmation (double opt-in)


def email_confirmation_token(contact: ContactPoint, *, hold_id: int | None = None) -> str:
    # The address is signed too: a link confirms the address it was sent to, nothing else. A signup's held
    # requests (profiles.services.signup_holds) are named too: this link proves that signup, no other.
    payload: dict[str, Any] = {"c": contact.pk, "v": contact.value}
    if hold_id is not None:
        payload["s"] = hold_id
    return signing.dumps(payload, salt=EMAIL_CONFIRMATION_SALT)


def email_confirmation_url(contact: ContactPoint, *, language: str | None = None, hold_id: int | None = None) -> str:
    path = reverse("shopper_pages:confirm_email", kwargs={"token": email_confirmation_token(contact, hold_id=hold_id)})
    return absolute_url(path, language)


def email_confirmation_contact(token: str) -> tuple[int, str]:
    contact_id, value, _hold_id = email_confirmation_target(token)
    return contact_id, value


def email_confirmation_target(token: str) -> tuple[int, str, int | None]:
    """(contact id, address, the id of the signup hold the link proves or None)."""
    payload = _load(
        token, salt=EMAIL_CONFIRMATION_SALT, max_age=timedelta(days=settings.EMAIL_CONFIRMATION_MAX_AGE_DAYS)
    )
    try:
        hold_id = int(payload["s"]) if "s" in payload else None
        return int(payload["c"]), str(payload["v"]), hold_id
    except (KeyError, TypeError, ValueError) as error:
        raise LinkError("This link is not valid.", code="link_invalid") from error


# Unsubscribe (RFC 8058 one-click)


def unsubscribe_token(shopper: Shopper, *, channel: str, purpose: str) -> str:
    return signing.dumps({"s": str(shopper.public_id), "c": channel, "p": purpose}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(shopper: Shopper, *, channel: str = "email", purpose: str = "marketing") -> str:
    token = unsubscribe_token(shopper, channel=channel, purpose=purpose)
    return absolute_url(reverse("shopper_pages:unsubscribe", kwargs={"token": token}))


def unsubscribe_target(token: str) -> tuple[str, str, str]:
    """(shopper public id, channel, purpose). Unsubscribe links do not expire."""
    payload = _load(token, salt=UNSUBSCRIBE_SALT, max_age=None)
    try:
        return str(payload["s"]), str(payload["c"]), str(payload["p"])
    except KeyError as error:
        raise LinkError("This link is not valid.", code="link_invalid") from error


def list_unsubscribe_headers(shopper: Shopper, *, channel: str = "email", purpose: str = "marketing") -> dict[str, str]:
    """The two headers RFC 8058 asks of a message: mail clients then offer a one-click unsubscribe.

    The URL must be HTTPS in production (SITE_URL); the client POSTs
    `List-Unsubscribe=One-Click` to it, without cookies, so the view takes no CSRF token.
    """
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(shopper, channel=channel, purpose=purpose)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
