"""The preference centre (a signed, expiring link; no password) and the one-click unsubscribe.

Each change posts to its own URL, is counted against the client's rate limit, and
comes back to the page (post/redirect/get) with a note of what was saved.
"""

import contextlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError, NotFoundError
from profiles import links, selectors
from profiles.consent_wording import CONSENT_QUESTIONS, wording_version
from profiles.models import Card, CardStatus, ConsentChannel, ConsentPurpose, Shopper, ShopperPreferences, ShopperStatus
from profiles.rate_limits import RateLimited
from profiles.services import preference_centre
from profiles.shopper_pages.common import (
    check_rate_limits,
    link_error_response,
    rate_limited_response,
    shopper_language,
    shopper_render,
)
from profiles.shopper_pages.forms import PREFERENCE_LABELS, ConsentsForm, EraseForm, PreferencesForm

SAVED_NOTES = {"consents", "preferences", "card"}

PageView = Callable[..., HttpResponse]


def _shopper_page(view: PageView) -> PageView:
    """Resolve the link to its shopper and language; answer expired, forged and deleted links; rate-limit posts."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
        language = shopper_language(request, None)
        try:
            shopper = selectors.shopper_for_link(public_id=links.preference_centre_shopper_id(token))
        except links.LinkError as error:
            return link_error_response(request, error, language=language)
        if shopper is None:
            return link_error_response(request, links.LinkError("", code="link_invalid"), language=language)
        language = shopper_language(request, shopper.language or shopper.merchant.default_language)
        if shopper.status != ShopperStatus.ACTIVE:
            return shopper_render(
                request, "shopper/erased.html", {"merchant": shopper.merchant}, language=language, status=410
            )
        if request.method == "POST":
            try:
                check_rate_limits(request)
            except RateLimited as error:
                return rate_limited_response(request, error, language=language)
        with translation.override(language):
            return view(request, token=token, shopper=shopper, language=language, **kwargs)

    return wrapper


def _page_url(token: str, language: str, **extra: str) -> str:
    return f"{reverse('shopper_pages:preferences', kwargs={'token': token})}?{urlencode({'lang': language, **extra})}"


def _extra_sections(*, shopper: Shopper, language: str) -> list[str]:
    """Sections other apps add to the page (campaigns: the shopper's live offers), so profiles imports none.

    An app names them on its AppConfig as `shopper_preference_sections = ("dotted.path.to.function", …)`;
    each function takes `shopper=` and `language=` and returns safe HTML, or "" to add nothing.
    """
    sections = []
    for config in apps.get_app_configs():
        for path in getattr(config, "shopper_preference_sections", ()):
            html = import_string(path)(shopper=shopper, language=language)
            if html:
                sections.append(html)
    return sections


def _render_page(
    request: HttpRequest,
    *,
    token: str,
    shopper: Shopper,
    language: str,
    consents_form: ConsentsForm | None = None,
    preferences_form: PreferencesForm | None = None,
    status: int = 200,
) -> HttpResponse:
    merchant = shopper.merchant
    current = {
        (event.channel, event.purpose): event.is_granted
        for event in selectors.consents_current(merchant=merchant, shopper=shopper)
    }
    if consents_form is None:
        consents_form = ConsentsForm(
            merchant_name=merchant.name,
            initial={q.field_name: current.get((q.channel, q.purpose), False) for q in CONSENT_QUESTIONS},
        )
    if preferences_form is None:
        stored = ShopperPreferences.objects.for_merchant(merchant).filter(shopper=shopper).first()
        preferences_form = PreferencesForm(
            initial={name: ", ".join(getattr(stored, name)) if stored else "" for name in PREFERENCE_LABELS}
        )
    saved = request.GET.get("saved")
    context = {
        "merchant": merchant,
        "shopper": shopper,
        "token": token,
        "contacts": selectors.shopper_contacts(merchant=merchant, shopper=shopper),
        "cards": Card.objects.for_merchant(merchant)
        .filter(shopper=shopper, status=CardStatus.ACTIVE)
        .order_by("-linked_at"),
        "consents_form": consents_form,
        "preferences_form": preferences_form,
        "saved": saved if saved in SAVED_NOTES else None,
        "extra_sections": _extra_sections(shopper=shopper, language=language),
    }
    return shopper_render(request, "shopper/preferences.html", context, language=language, status=status)


@require_http_methods(["GET"])
@_shopper_page
def preferences(request: HttpRequest, *, token: str, shopper: Shopper, language: str) -> HttpResponse:
    return _render_page(request, token=token, shopper=shopper, language=language)


@require_POST
@_shopper_page
def preferences_consents(request: HttpRequest, *, token: str, shopper: Shopper, language: str) -> HttpResponse:
    form = ConsentsForm(request.POST, merchant_name=shopper.merchant.name)
    if not form.is_valid():  # pragma: no cover - checkboxes cannot be invalid
        return _render_page(request, token=token, shopper=shopper, language=language, consents_form=form, status=400)
    preference_centre.consents_change(
        shopper=shopper, choices=form.choices(), wording_version=wording_version(language)
    )
    return HttpResponseRedirect(_page_url(token, language, saved="consents"))


@require_POST
@_shopper_page
def preferences_profile(request: HttpRequest, *, token: str, shopper: Shopper, language: str) -> HttpResponse:
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _render_page(request, token=token, shopper=shopper, language=language, preferences_form=form, status=400)
    preference_centre.preferences_replace(shopper=shopper, preferences=form.preferences())
    return HttpResponseRedirect(_page_url(token, language, saved="preferences"))


@require_POST
@_shopper_page
def preferences_card_unlink(
    request: HttpRequest, *, token: str, shopper: Shopper, language: str, card_id: Any
) -> HttpResponse:
    try:
        preference_centre.shopper_card_unlink(shopper=shopper, card_public_id=card_id)
    except NotFoundError:
        return link_error_response(request, links.LinkError("", code="link_invalid"), language=language)
    return HttpResponseRedirect(_page_url(token, language, saved="card"))


@require_POST
@_shopper_page
def preferences_export(request: HttpRequest, *, token: str, shopper: Shopper, language: str) -> HttpResponse:
    data = preference_centre.shopper_self_export(shopper=shopper)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@_shopper_page
def preferences_erase(request: HttpRequest, *, token: str, shopper: Shopper, language: str) -> HttpResponse:
    form = EraseForm(request.POST or None)
    context = {"merchant": shopper.merchant, "token": token, "form": form, "back_url": _page_url(token, language)}
    if request.method == "POST":
        if form.is_valid():
            # Already erased or merged meanwhile: the page below says it is gone either way.
            with contextlib.suppress(ApplicationError):
                preference_centre.shopper_self_erase(shopper=shopper)
            return shopper_render(request, "shopper/erased.html", {"merchant": shopper.merchant}, language=language)
        return shopper_render(request, "shopper/erase.html", context, language=language, status=400)
    return shopper_render(request, "shopper/erase.html", context, language=language)


# One-click unsubscribe (RFC 8058)


@csrf_exempt  # The mail client POSTs with no cookie and no form: the signed token is the proof.
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    language = shopper_language(request, None)
    try:
        public_id, channel, purpose = links.unsubscribe_target(token)
    except links.LinkError as error:
        return link_error_response(request, error, language=language)
    shopper = selectors.shopper_for_link(public_id=public_id)
    if shopper is None or channel not in ConsentChannel.values or purpose not in ConsentPurpose.values:
        return link_error_response(request, links.LinkError("", code="link_invalid"), language=language)
    language = shopper_language(request, shopper.language or shopper.merchant.default_language)
    with translation.override(language):
        context = {
            "merchant": shopper.merchant,
            "subscription": _subscription_label(channel, purpose),
            "preference_centre_url": links.preference_centre_path(shopper, language=language)
            if shopper.status == ShopperStatus.ACTIVE
            else None,
        }
    if request.method == "GET":
        # Opening the link (a mail scanner may) changes nothing; the button below, or the client's POST, does.
        return shopper_render(request, "shopper/unsubscribe.html", context, language=language)
    try:
        check_rate_limits(request)
    except RateLimited as error:
        return rate_limited_response(request, error, language=language)
    preference_centre.consent_unsubscribe(shopper=shopper, channel=channel, purpose=purpose)
    return shopper_render(request, "shopper/unsubscribe_done.html", context, language=language)


def _subscription_label(channel: str, purpose: str) -> str:
    labels = {
        (ConsentChannel.EMAIL, ConsentPurpose.MARKETING): translation.gettext("offers and news by email"),
        (ConsentChannel.SMS, ConsentPurpose.MARKETING): translation.gettext("offers and news by text message"),
        (ConsentChannel.EMAIL, ConsentPurpose.FEEDBACK): translation.gettext("feedback requests by email"),
        (ConsentChannel.SMS, ConsentPurpose.FEEDBACK): translation.gettext("feedback requests by text message"),
    }
    return labels.get((channel, purpose), translation.gettext("these messages"))
