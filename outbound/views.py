"""Settings → Webhooks: parse with a form, call one service or selector, render."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError, form_add_error
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from outbound import selectors
from outbound.forms import EndpointForm
from outbound.models import DeliveryStatus
from outbound.services import endpoints

NEW_SECRET_SESSION_KEY = "new_webhook_secret"  # noqa: S105 - a session key name
PERMISSION = "webhooks.manage"


def _show_secret_once(request: MerchantRequest, endpoint_id: int, secret: str) -> None:
    # Shown on the page the redirect leads to, then gone from the session too (as API keys).
    request.session[NEW_SECRET_SESSION_KEY] = {"endpoint": endpoint_id, "secret": secret}


@merchant_permission_required(PERMISSION)
@require_http_methods(["GET", "POST"])
def endpoint_list(request: MerchantRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            made = endpoints.endpoint_create(
                merchant=request.merchant,
                actor=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                api_key=form.cleaned_data["api_key"],
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            _show_secret_once(request, made.endpoint.pk, made.secret)
            return redirect("webhooks:detail", made.endpoint.pk)
    context = {"endpoints": selectors.endpoint_list(merchant=request.merchant), "form": form, "tab": "webhooks"}
    return render(request, "outbound/endpoint_list.html", context, status=400 if form.errors else 200)


@merchant_permission_required(PERMISSION)
@require_http_methods(["GET"])
def endpoint_detail(request: MerchantRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(merchant=request.merchant, endpoint_id=endpoint_id)
    status = request.GET.get("status", "")
    status = status if status in DeliveryStatus.values else ""
    new = request.session.pop(NEW_SECRET_SESSION_KEY, None)
    context = {
        "endpoint": endpoint,
        "deliveries": selectors.delivery_list(merchant=request.merchant, endpoint=endpoint, status=status),
        "status": status,
        "statuses": DeliveryStatus.choices,
        "new_secret": new["secret"] if new and new["endpoint"] == endpoint.pk else None,
        "tab": "webhooks",
    }
    return render(request, "outbound/endpoint_detail.html", context)


@merchant_permission_required(PERMISSION)
@require_POST
def secret_rotate(request: MerchantRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(merchant=request.merchant, endpoint_id=endpoint_id)
    rotated = endpoints.secret_rotate(endpoint=endpoint, actor=request.user)
    _show_secret_once(request, endpoint.pk, rotated.secret)
    messages.success(request, _("New secret made. The old one also signs for 24 hours, so switch within a day."))
    return redirect("webhooks:detail", endpoint.pk)


@merchant_permission_required(PERMISSION)
@require_POST
def endpoint_pause(request: MerchantRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(merchant=request.merchant, endpoint_id=endpoint_id)
    endpoints.endpoint_pause(endpoint=endpoint, actor=request.user)
    messages.success(request, _("Paused. Changes wait for this endpoint and go out in order when you resume it."))
    return redirect("webhooks:detail", endpoint.pk)


@merchant_permission_required(PERMISSION)
@require_POST
def endpoint_resume(request: MerchantRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(merchant=request.merchant, endpoint_id=endpoint_id)
    endpoints.endpoint_resume(endpoint=endpoint, actor=request.user)
    messages.success(request, _("Resumed. What waited is being sent now."))
    return redirect("webhooks:detail", endpoint.pk)


@merchant_permission_required(PERMISSION)
@require_POST
def delivery_replay(request: MerchantRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(merchant=request.merchant, endpoint_id=endpoint_id)
    delivery = selectors.delivery_get(merchant=request.merchant, endpoint=endpoint, delivery_id=delivery_id)
    try:
        endpoints.delivery_replay(delivery=delivery, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The event is queued again for this endpoint."))
    return redirect("webhooks:detail", endpoint.pk)
