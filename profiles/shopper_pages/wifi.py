"""The store Wi-Fi captive portal: a light signup on the shopper's own phone, then on to the merchant's page."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from profiles import selectors
from profiles.consent_wording import wording_version
from profiles.models import SignupPointKind
from profiles.rate_limits import RateLimit, RateLimited
from profiles.services import signup
from profiles.services.shoppers import ConsentInput
from profiles.shopper_pages.common import (
    check_rate_limits,
    closed_response,
    rate_limited_response,
    shopper_language,
    shopper_render,
)
from profiles.shopper_pages.forms import WifiSignupForm


@require_http_methods(["GET", "POST"])
def wifi_signup(request: HttpRequest, token: str) -> HttpResponse:
    point = selectors.signup_point_by_token(token=token, kind=SignupPointKind.WIFI)
    if point is None:
        return closed_response(request)
    language = shopper_language(request, point.merchant.default_language)
    context = {"point": point, "merchant": point.merchant}
    with translation.override(language):
        form = WifiSignupForm(request.POST or None, merchant_name=point.merchant.name)
        if request.method != "POST":
            return shopper_render(request, "shopper/wifi_signup.html", {**context, "form": form}, language=language)
        try:
            check_rate_limits(request, RateLimit(scope="signup_point", ident=str(point.pk)))
        except RateLimited as error:
            return rate_limited_response(request, error, language=language)
        if form.is_bot:
            # Answer as if it worked, so the bot learns nothing; store nothing.
            return HttpResponseRedirect(point.redirect_url)
        if "skip" in request.POST:
            signup.wifi_visit_record(point=point)
            return HttpResponseRedirect(point.redirect_url)
        if form.is_valid():
            data = form.cleaned_data
            try:
                signup.shopper_signup(
                    point=point,
                    data=signup.SignupInput(
                        language=language,
                        first_name=data["first_name"].strip(),
                        email=data["email"],
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
                    ),
                )
            except ApplicationError:
                form.add_error(None, translation.gettext("Something went wrong. Please try again."))
            else:
                return HttpResponseRedirect(point.redirect_url)
        return shopper_render(
            request, "shopper/wifi_signup.html", {**context, "form": form}, language=language, status=400
        )
