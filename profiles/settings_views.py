"""Settings → Kiosks and Wi-Fi: staff register the devices and portals shoppers sign up at.

Same pattern as API keys (merchants.views): the page URL carries a secret token,
shown once after creation; revoking closes the page at once. Both leave an audit event.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError, form_add_error
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from profiles import selectors
from profiles.forms import SignupPointForm
from profiles.models import SignupPointKind
from profiles.services import signup

NEW_SIGNUP_POINT_SESSION_KEY = "new_signup_point"


def _page_url(request: HttpRequest, kind: str, token: str) -> str:
    name = "shopper_pages:kiosk" if kind == SignupPointKind.KIOSK else "shopper_pages:wifi"
    return request.build_absolute_uri(reverse(name, kwargs={"token": token}))


@merchant_permission_required("stores.manage")
@require_http_methods(["GET", "POST"])
def signup_point_list(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = SignupPointForm(request.POST or None, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        try:
            point, token = signup.signup_point_create(
                merchant=merchant,
                actor=request.user,
                store=form.cleaned_data["store"],
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                has_card_reader=form.cleaned_data["has_card_reader"],
                card_reader_provider=form.cleaned_data["card_reader_provider"],
                card_reader_account=form.cleaned_data["card_reader_account"],
                welcome_message=form.cleaned_data["welcome_message"],
                welcome_messages=form.welcome_messages(),
                redirect_url=form.cleaned_data["redirect_url"],
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            # Shown once, after the redirect (so a reload registers nothing twice), then gone from the session.
            request.session[NEW_SIGNUP_POINT_SESSION_KEY] = {
                "id": point.pk,
                "url": _page_url(request, point.kind, token),
            }
            return redirect("signup_points:list")
    context = {"points": selectors.signup_point_list(merchant=merchant), "form": form, "tab": "signup_points"}
    new = request.session.pop(NEW_SIGNUP_POINT_SESSION_KEY, None) if request.method == "GET" else None
    if new is not None:
        context.update(new_point=selectors.signup_point_get(merchant=merchant, point_id=new["id"]), new_url=new["url"])
    return render(request, "profiles/signup_point_list.html", context, status=400 if form.errors else 200)


@merchant_permission_required("stores.manage")
@require_POST
def signup_point_revoke(request: MerchantRequest, point_id: int) -> HttpResponse:
    point = selectors.signup_point_get(merchant=request.merchant, point_id=point_id)
    signup.signup_point_revoke(point=point, actor=request.user)
    messages.success(request, f"“{point.name}” revoked: its page no longer opens.")
    return redirect("signup_points:list")
