"""The mall kiosk: sign up on a shared touch screen, then confirm the phone with a texted code.

Every page clears itself for the next shopper (static/shopper/kiosk.js): after
KIOSK_IDLE_SECONDS without a touch, and shortly after a finished signup.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from profiles import selectors
from profiles.consent_wording import wording_version
from profiles.models import ContactPoint, SignupPoint, SignupPointKind
from profiles.rate_limits import RateLimit, RateLimited
from profiles.services import signup
from profiles.services.shoppers import CardInput, ConsentInput
from profiles.shopper_pages.common import (
    check_rate_limits,
    closed_response,
    rate_limited_response,
    shopper_language,
    shopper_render,
)
from profiles.shopper_pages.forms import KioskSignupForm, PhoneCodeForm

FAMILY_NAME_FIRST = ("ko", "zh", "ja")
SERVICE_ERRORS = {
    "card_linked_elsewhere": ("link_card", _("This card is already linked to another account. Please ask in store.")),
    "shopper_inactive": ("link_card", _("This card is already linked to another account. Please ask in store.")),
    "contact_required": ("email", _("Give an email address or a mobile number, so we can reach you.")),
}


def _kiosk_context(point: SignupPoint, token: str) -> dict[str, object]:
    return {
        "point": point,
        "merchant": point.merchant,
        "token": token,
        # The kiosk's first page, in the store's language: where every reset goes.
        "home_url": reverse("shopper_pages:kiosk", kwargs={"token": token}),
        "idle_seconds": settings.KIOSK_IDLE_SECONDS,
    }


def _sms_limits(point: SignupPoint, phone: str) -> list[RateLimit]:
    return [
        RateLimit(scope="sms_phone", ident=phone),
        RateLimit(scope="sms_signup_point", ident=str(point.pk)),
    ]


@require_http_methods(["GET", "POST"])
def kiosk_signup(request: HttpRequest, token: str) -> HttpResponse:
    point = selectors.signup_point_by_token(token=token, kind=SignupPointKind.KIOSK)
    if point is None:
        return closed_response(request)
    language = shopper_language(request, point.merchant.default_language)
    context = _kiosk_context(point, token)
    # Korean and Chinese names are written family name first; the form asks in that order.
    context["family_name_first"] = language.split("-")[0] in FAMILY_NAME_FIRST
    with translation.override(language):
        form = KioskSignupForm(
            request.POST or None, merchant_name=point.merchant.name, has_card_reader=point.has_card_reader
        )
        if request.method != "POST":
            return shopper_render(request, "shopper/kiosk_signup.html", {**context, "form": form}, language=language)
        try:
            check_rate_limits(request, RateLimit(scope="signup_point", ident=str(point.pk)))
        except RateLimited as error:
            return rate_limited_response(request, error, language=language)
        if not form.is_valid():
            return shopper_render(
                request, "shopper/kiosk_signup.html", {**context, "form": form}, language=language, status=400
            )
        data = _signup_input(form, language)
        try:
            if data.phone:
                for limit in _sms_limits(point, data.phone):
                    limit.peek()
            result = signup.shopper_signup(point=point, data=data)
        except RateLimited as error:
            return rate_limited_response(request, error, language=language)
        except ApplicationError as error:
            field, message = SERVICE_ERRORS.get(error.code, (None, _("Something went wrong. Please try again.")))
            form.add_error(field if field in form.fields else None, message)
            return shopper_render(
                request, "shopper/kiosk_signup.html", {**context, "form": form}, language=language, status=400
            )
        # As for a new profile, whether or not the number or address was confirmed before (the page must not
        # tell that a profile existed): a code to confirm the number, a link to confirm the address.
        ticket = None
        if result.phone_contact is not None:
            ticket = _send_code(point, result.phone_contact, language, hold_id=result.hold.pk if result.hold else None)
        return _welcome(
            request,
            point,
            token,
            result.phone_contact,
            ticket,
            language=language,
            first_name=data.first_name,
            email_pending=result.email_contact is not None,
        )


def _signup_input(form: KioskSignupForm, language: str) -> signup.SignupInput:
    data = form.cleaned_data
    card = None
    if data.get("link_card"):
        card = CardInput(
            token=data["card_token"], last_four=data["card_last_four"], scheme=data.get("card_scheme") or "other"
        )
    return signup.SignupInput(
        language=language,
        first_name=data["first_name"].strip(),
        last_name=data["last_name"].strip(),
        email=data["email"],
        phone=data["phone"],
        # Only ticked boxes are recorded: an unticked box is no decision, not a refusal.
        consents=[
            ConsentInput(
                channel=question.channel,
                purpose=question.purpose,
                is_granted=True,
                wording_version=wording_version(language),
            )
            for question in form.questions
            if data.get(question.field_name)
        ],
        preferences=form.preferences(),
        card=card,
    )


def _send_code(point: SignupPoint, contact: ContactPoint, language: str, *, hold_id: int | None) -> str | None:
    """Text a code if neither the number nor the kiosk has had too many; None (no code offered) otherwise."""
    try:
        for limit in _sms_limits(point, contact.value):
            limit.hit()
    except RateLimited:
        return None
    return signup.phone_code_send(
        contact=contact, merchant_name=point.merchant.name, language=language, hold_id=hold_id
    )


def _welcome(
    request: HttpRequest,
    point: SignupPoint,
    token: str,
    phone_contact: ContactPoint | None,
    ticket: str | None,
    *,
    language: str,
    first_name: str,
    code_form: PhoneCodeForm | None = None,
    email_pending: bool = False,
    status: int = 200,
) -> HttpResponse:
    if ticket and code_form is None:
        code_form = PhoneCodeForm(initial={"ticket": ticket})
    context = {
        **_kiosk_context(point, token),
        "first_name": first_name,
        "welcome_reward": point.welcome_for(language),
        "email_pending": email_pending,
        "code_form": code_form if ticket else None,
        "phone": phone_contact.value if phone_contact is not None else "",
        "ticket": ticket,
        "reset_seconds": None if ticket else settings.KIOSK_DONE_SECONDS,
    }
    return shopper_render(request, "shopper/kiosk_welcome.html", context, language=language, status=status)


def _ticket_contact(point: SignupPoint, ticket: str) -> ContactPoint | None:
    try:
        contact = signup.phone_code_contact(ticket=ticket)
    except ApplicationError:
        return None
    return contact if contact.merchant_id == point.merchant_id else None


@require_POST
def kiosk_code(request: HttpRequest, token: str) -> HttpResponse:
    point = selectors.signup_point_by_token(token=token, kind=SignupPointKind.KIOSK)
    if point is None:
        return closed_response(request)
    language = shopper_language(request, point.merchant.default_language)
    with translation.override(language):
        form = PhoneCodeForm(request.POST)
        ticket = request.POST.get("ticket", "")
        contact = _ticket_contact(point, ticket)
        if contact is None:
            return _code_expired(request, point, token, language)
        try:
            check_rate_limits(
                request,
                RateLimit(scope="signup_point", ident=str(point.pk)),
                RateLimit(scope="sms_attempts", ident=str(contact.pk)),
            )
        except RateLimited as error:
            return rate_limited_response(request, error, language=language)
        if form.is_valid():
            try:
                signup.phone_confirm(ticket=ticket, code=form.cleaned_data["code"])
            except ApplicationError as error:
                if error.code == "code_expired":
                    return _code_expired(request, point, token, language)
                form.add_error("code", _("That code is not right. Check the text message and try again."))
            else:
                context = {
                    **_kiosk_context(point, token),
                    "reset_seconds": settings.KIOSK_DONE_SECONDS,
                }
                return shopper_render(request, "shopper/kiosk_confirmed.html", context, language=language)
        return _welcome(
            request,
            point,
            token,
            contact,
            ticket,
            language=language,
            first_name=signup.phone_code_greeting_name(ticket=ticket, contact=contact),
            code_form=form,
            status=400,
        )


@require_POST
def kiosk_code_resend(request: HttpRequest, token: str) -> HttpResponse:
    point = selectors.signup_point_by_token(token=token, kind=SignupPointKind.KIOSK)
    if point is None:
        return closed_response(request)
    language = shopper_language(request, point.merchant.default_language)
    old_ticket = request.POST.get("ticket", "")
    contact = _ticket_contact(point, old_ticket)
    if contact is None:
        return _code_expired(request, point, token, language)
    try:
        check_rate_limits(request, RateLimit(scope="signup_point", ident=str(point.pk)))
        for limit in _sms_limits(point, contact.value):
            limit.hit()
    except RateLimited as error:
        return rate_limited_response(request, error, language=language)
    ticket = signup.phone_code_send(
        contact=contact,
        merchant_name=point.merchant.name,
        language=language,
        hold_id=signup.phone_code_hold_id(ticket=old_ticket),
    )
    first_name = signup.phone_code_greeting_name(ticket=ticket, contact=contact)
    return _welcome(request, point, token, contact, ticket, language=language, first_name=first_name)


def _code_expired(request: HttpRequest, point: SignupPoint, token: str, language: str) -> HttpResponse:
    context = {**_kiosk_context(point, token), "reset_seconds": settings.KIOSK_DONE_SECONDS}
    return shopper_render(request, "shopper/kiosk_code_expired.html", context, language=language, status=400)
