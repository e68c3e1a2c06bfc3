"""Shopper pages for staff: parse with a form, call one selector or service, render."""

import json

from django.apps import apps
from django.contrib import messages
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from merchants.permissions import role_has_permission
from profiles import selectors
from profiles.forms import EraseForm, MergeForm, ShopperSearchForm
from profiles.models import Shopper
from profiles.services import identity

PAGE_SIZE = 25


def _can_manage(request: MerchantRequest) -> bool:
    return role_has_permission(request.membership.role, "shoppers.manage")


@merchant_permission_required("shoppers.view")
@require_GET
def shopper_list(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = ShopperSearchForm(request.GET, merchant=merchant)
    query, store = "", None
    if form.is_valid():
        query, store = form.cleaned_data["q"], form.cleaned_data["store"]
    shoppers = selectors.shopper_search(merchant=merchant, query=query, store=store)
    page = Paginator(shoppers, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": query, "search_params": _search_params(request)}
    # The live search asks for the table only; the page includes the same fragment.
    template = "profiles/_shopper_table.html" if request.htmx else "profiles/shopper_list.html"
    return render(request, template, context)


def _search_params(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@merchant_permission_required("shoppers.view")
@require_GET
def shopper_detail(request: MerchantRequest, public_id: str) -> HttpResponse:
    merchant = request.merchant
    shopper = selectors.shopper_get(merchant=merchant, public_id=public_id)
    profile = selectors.shopper_profile(merchant=merchant, shopper=shopper)
    context = {
        "profile": profile,
        "can_manage": _can_manage(request),
        "panels": _profile_panels(request, shopper),
    }
    return render(request, "profiles/shopper_detail.html", context)


def _profile_panels(request: MerchantRequest, shopper: Shopper) -> list[str]:
    """Sections other apps add to the profile page, loaded with htmx so profiles imports none of them.

    An app lists them on its AppConfig as `shopper_profile_panels = ((url name, permission), …)`;
    the url takes the shopper's public id.
    """
    role = request.membership.role
    return [
        reverse(url_name, args=[shopper.public_id])
        for config in apps.get_app_configs()
        for url_name, permission in getattr(config, "shopper_profile_panels", ())
        if role_has_permission(role, permission)
    ]


@merchant_permission_required("shoppers.manage")
@require_POST
def shopper_export(request: MerchantRequest, public_id: str) -> HttpResponse:
    """A download of everything held about the shopper. POST only: every export is logged."""
    merchant = request.merchant
    shopper = selectors.shopper_get(merchant=merchant, public_id=public_id)
    data = identity.shopper_export_record(merchant=merchant, shopper=shopper, actor=request.user)  # type: ignore[arg-type]
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="shopper-{shopper.public_id}.json"'
    response["Cache-Control"] = "no-store"
    return response


@merchant_permission_required("shoppers.manage")
@require_http_methods(["GET", "POST"])
def shopper_erase(request: MerchantRequest, public_id: str) -> HttpResponse:
    merchant = request.merchant
    shopper = selectors.shopper_get(merchant=merchant, public_id=public_id)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            identity.shopper_erase(
                merchant=merchant,
                shopper=shopper,
                actor=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            form.add_error("reason" if "reason" in error.fields else None, error.message)
        else:
            messages.success(request, "The shopper was erased. Their purchases stay in your figures, anonymously.")
            return redirect("profiles:shopper_detail", public_id=shopper.public_id)
    status = 400 if form.errors else 200
    return render(request, "profiles/shopper_erase.html", {"shopper": shopper, "form": form}, status=status)


@merchant_permission_required("shoppers.view")
@require_GET
def duplicate_list(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    context = {
        "pairs": selectors.duplicate_candidates(merchant=merchant),
        "merges": selectors.merge_event_list(merchant=merchant),
        "can_manage": _can_manage(request),
    }
    return render(request, "profiles/duplicate_list.html", context)


@merchant_permission_required("shoppers.manage")
@require_POST
def shopper_merge(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = MergeForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(str(message) for field_messages in form.errors.values() for message in field_messages)
        messages.error(request, f"Nothing was merged: {problems}")
        return redirect("profiles:duplicate_list")
    survivor = selectors.shopper_get(merchant=merchant, public_id=form.cleaned_data["survivor_id"])
    merged = selectors.shopper_get(merchant=merchant, public_id=form.cleaned_data["merged_id"])
    try:
        identity.shopper_merge(
            merchant=merchant,
            survivor=survivor,
            merged=merged,
            actor=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
        )
    except ApplicationError as error:
        messages.error(request, f"Nothing was merged: {error.message}")
        return redirect("profiles:duplicate_list")
    messages.success(request, f"Merged into {survivor.display_name}. The merge can be undone from this page.")
    return redirect("profiles:shopper_detail", public_id=survivor.public_id)


@merchant_permission_required("shoppers.manage")
@require_POST
def merge_undo(request: MerchantRequest, merge_event_id: int) -> HttpResponse:
    merchant = request.merchant
    event = selectors.merge_event_get(merchant=merchant, merge_event_id=merge_event_id)
    try:
        identity.merge_undo(merchant=merchant, merge_event=event, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("profiles:shopper_detail", public_id=event.survivor.public_id)
    messages.success(request, "The merge was undone: both profiles are as they were.")
    return redirect("profiles:shopper_detail", public_id=event.merged.public_id)
