"""Shopper-facing campaign pages, reached by the signed links messages carry (campaigns.links):
the one-question feedback survey and an offer's landing page.

Both speak the shopper's language (?lang=, else the shopper's, else the merchant's); a forged link
is a 404 and an expired one a 410; posts count against the client's rate limit like every shopper
page. The offer page shows the offer only while `offer_is_live` says so.
"""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from campaigns.feedback import services as feedback_services
from campaigns.forms import FeedbackSurveyForm
from campaigns.models import Coupon, FeedbackResponse, OfferKind, OutboxMessage
from campaigns.offers.selectors import offer_closes_at, offer_is_live, offer_timezone
from core.errors import ApplicationError, ConflictError
from profiles.links import LinkError
from profiles.models import ShopperStatus
from profiles.rate_limits import RateLimited
from profiles.shopper_pages.common import (
    check_rate_limits,
    link_error_response,
    rate_limited_response,
    shopper_language,
    shopper_render,
)


def _language(request: HttpRequest, message: OutboxMessage | None) -> str:
    if message is None:
        return shopper_language(request, None)
    return shopper_language(request, message.shopper.language or message.merchant.default_language)


def _invalid(request: HttpRequest, language: str) -> HttpResponse:
    return link_error_response(request, LinkError("", code="link_invalid"), language=language)


@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    try:
        message = feedback_services.feedback_link_message(token)
    except LinkError as error:
        return link_error_response(request, error, language=_language(request, None))
    language = _language(request, message)
    if message.shopper.status != ShopperStatus.ACTIVE:
        return _invalid(request, language)
    context = {"merchant": message.merchant, "token": token}
    answered = FeedbackResponse.objects.filter(message=message).first()
    if answered is not None:
        context["response"] = answered
        return shopper_render(
            request,
            "campaigns/shopper/feedback_done.html",
            context,
            language=language,
            status=409 if request.method == "POST" else 200,
        )
    form = FeedbackSurveyForm(request.POST or None)
    if request.method == "POST":
        try:
            check_rate_limits(request)
        except RateLimited as error:
            return rate_limited_response(request, error, language=language)
        if form.is_valid():
            try:
                response = feedback_services.feedback_record(
                    message=message,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    language=language,
                )
            except ConflictError:
                context["response"] = FeedbackResponse.objects.filter(message=message).first()
                return shopper_render(
                    request, "campaigns/shopper/feedback_done.html", context, language=language, status=409
                )
            except ApplicationError as error:
                form.add_error("score", error.message)
            else:
                context.update(response=response, just_answered=True)
                return shopper_render(request, "campaigns/shopper/feedback_done.html", context, language=language)
    context.update(form=form, scores=range(11), chosen=str(form["score"].value() or ""))
    status = 400 if form.errors else 200
    return shopper_render(request, "campaigns/shopper/feedback.html", context, language=language, status=status)


@require_GET
def offer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        message = feedback_services.offer_link_message(token)
    except LinkError as error:
        return link_error_response(request, error, language=_language(request, None))
    language = _language(request, message)
    offer = message.campaign.offer
    if offer is None or message.shopper.status != ShopperStatus.ACTIVE:
        return _invalid(request, language)
    now = timezone.now()
    context = {"merchant": message.merchant, "offer": offer}
    if not offer_is_live(offer, at=now):
        within_dates = offer.valid_from <= now < offer.valid_until
        context["outside_hours"] = within_dates and offer.daily_start is not None
        return shopper_render(
            request,
            "campaigns/shopper/offer_unavailable.html",
            context,
            language=language,
            status=200 if context["outside_hours"] else 410,
        )
    code = None
    if offer.kind == OfferKind.COUPON:
        coupon = message.coupon or Coupon.objects.filter(offer=offer, shopper=message.shopper).first()
        if coupon is not None and coupon.redeemed_at is not None:
            context["redeemed"] = True
        code = coupon.code if coupon is not None else None
    zone = offer_timezone(offer)
    context.update(
        code=code,
        is_card_linked=offer.kind == OfferKind.CARD_LINKED,
        closes_at=offer_closes_at(offer, at=now).astimezone(zone),
        zone=str(zone),
    )
    return shopper_render(request, "campaigns/shopper/offer.html", context, language=language)
