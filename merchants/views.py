"""Dashboard shell and the Settings pages: parse with a form, call a service or selector, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, form_add_error
from merchants import home, selectors, services
from merchants.decorators import merchant_permission_required
from merchants.forms import (
    APIKeyForm,
    InvitationForm,
    MembershipForm,
    MerchantSettingsForm,
    MerchantSwitchForm,
    StoreForm,
)
from merchants.http import MerchantRequest


@merchant_permission_required("dashboard.view")
@require_GET
def dashboard(request: MerchantRequest) -> HttpResponse:
    """The home page: each app's cards (merchants.home) the role may open, what needs attention, the setup."""
    merchant = request.merchant
    stores = selectors.store_list(merchant=merchant, include_inactive=False)
    if request.membership.store_id:
        stores = stores.filter(pk=request.membership.store_id)
    cards = home.home_cards(merchant=merchant, membership=request.membership)
    context = {
        "cards": [card for card in cards if card.template],
        "attention": [item for card in cards for item in card.attention],
        "stores": stores,
        "staff_count": selectors.staff_list(merchant=merchant).count(),
        "api_keys": selectors.api_key_list(merchant=merchant).filter(revoked=False),
    }
    return render(request, "merchants/dashboard.html", context)


@login_required
@require_POST
def merchant_switch(request: HttpRequest) -> HttpResponse:
    form = MerchantSwitchForm(request.POST)
    if form.is_valid():
        membership = selectors.memberships_for_user(user=request.user).filter(
            merchant_id=form.cleaned_data["merchant_id"]
        )
        if membership.exists():
            request.session[settings.CURRENT_MERCHANT_SESSION_KEY] = form.cleaned_data["merchant_id"]
        else:
            messages.error(request, "You are not on that merchant's team.")
    return redirect("dashboard")


@merchant_permission_required("stores.view")
def settings_home(request: MerchantRequest) -> HttpResponse:
    return redirect("settings_stores")


# Merchant settings


@merchant_permission_required("merchant.manage")
@require_http_methods(["GET", "POST"])
def settings_general(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = MerchantSettingsForm(request.POST or None, instance=merchant)
    if request.method == "POST" and form.is_valid():
        try:
            services.merchant_update_settings(
                merchant=merchant,
                actor=request.user,
                name=form.cleaned_data["name"],
                currency=form.cleaned_data["currency"],
                timezone_name=form.cleaned_data["timezone"],
                default_language=form.cleaned_data["default_language"],
                require_mfa=form.cleaned_data["require_mfa"],
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "Settings saved.")
            return redirect("settings_general")
    return render(request, "merchants/settings_general.html", {"form": form, "tab": "general"})


# Stores


@merchant_permission_required("stores.view")
@require_GET
def store_list(request: MerchantRequest) -> HttpResponse:
    stores = selectors.store_list(merchant=request.merchant)
    return render(request, "merchants/store_list.html", {"stores": stores, "tab": "stores"})


@merchant_permission_required("stores.manage")
@require_http_methods(["GET", "POST"])
def store_create(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = StoreForm(request.POST or None, initial={"timezone": merchant.timezone})
    if request.method == "POST" and form.is_valid():
        try:
            store = services.store_create(
                merchant=merchant,
                actor=request.user,
                name=form.cleaned_data["name"],
                timezone_name=form.cleaned_data["timezone"],
                address=form.cleaned_data["address"],
                region=form.cleaned_data["region"],
                latitude=form.cleaned_data["latitude"],
                longitude=form.cleaned_data["longitude"],
                geofence_radius_m=form.cleaned_data["geofence_radius_m"],
                network_location_ids=form.cleaned_data["network_location_ids"],
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"Store “{store.name}” added.")
            return redirect("settings_stores")
    return render(request, "merchants/store_form.html", {"form": form, "tab": "stores"})


@merchant_permission_required("stores.manage")
@require_http_methods(["GET", "POST"])
def store_edit(request: MerchantRequest, store_id: int) -> HttpResponse:
    store = selectors.store_get(merchant=request.merchant, store_id=store_id)
    form = StoreForm(request.POST or None, instance=store)
    if request.method == "POST" and form.is_valid():
        try:
            services.store_update(
                store=store,
                actor=request.user,
                **{field: form.cleaned_data[field] for field in services.STORE_EDITABLE_FIELDS},
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "Store saved.")
            return redirect("settings_stores")
    return render(request, "merchants/store_form.html", {"form": form, "store": store, "tab": "stores"})


# Staff


def _staff_page(request: MerchantRequest, invitation_form: InvitationForm, status: int = 200) -> HttpResponse:
    merchant = request.merchant
    context = {
        "memberships": selectors.staff_list(merchant=merchant),
        "invitations": selectors.invitation_list_open(merchant=merchant),
        "invitation_form": invitation_form,
        "tab": "staff",
    }
    return render(request, "merchants/staff_list.html", context, status=status)


@merchant_permission_required("staff.manage")
@require_GET
def staff_list(request: MerchantRequest) -> HttpResponse:
    return _staff_page(request, InvitationForm(merchant=request.merchant))


@merchant_permission_required("staff.manage")
@require_POST
def staff_invite(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = InvitationForm(request.POST, merchant=merchant)
    if form.is_valid():
        try:
            invitation, _token = services.staff_invite(
                merchant=merchant,
                actor=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                store=form.cleaned_data["store"],
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("settings_staff")
    return _staff_page(request, form, status=400)


@merchant_permission_required("staff.manage")
@require_POST
def invitation_revoke(request: MerchantRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.invitation_get(merchant=request.merchant, invitation_id=invitation_id)
    services.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("settings_staff")


@merchant_permission_required("staff.manage")
@require_http_methods(["GET", "POST"])
def membership_edit(request: MerchantRequest, membership_id: int) -> HttpResponse:
    merchant = request.merchant
    membership = selectors.membership_get(merchant=merchant, membership_id=membership_id)
    form = MembershipForm(
        request.POST or None, merchant=merchant, initial={"role": membership.role, "store": membership.store}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_change_role(
                membership=membership,
                actor=request.user,
                role=form.cleaned_data["role"],
                store=form.cleaned_data["store"],
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
            return redirect("settings_staff")
    return render(request, "merchants/membership_form.html", {"form": form, "membership": membership, "tab": "staff"})


@merchant_permission_required("staff.manage")
@require_POST
def membership_remove(request: MerchantRequest, membership_id: int) -> HttpResponse:
    membership = selectors.membership_get(merchant=request.merchant, membership_id=membership_id)
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{membership.user.email} no longer has access.")
    return redirect("settings_staff")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_get_open(token=token)
    except ApplicationError as error:
        return render(request, "merchants/invitation_invalid.html", {"message": error.message}, status=404)
    if not request.user.is_authenticated:
        request.session["pending_invitation_token"] = token
        return render(request, "merchants/invitation_welcome.html", {"invitation": invitation})
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
            return render(request, "merchants/invitation_welcome.html", {"invitation": invitation}, status=400)
        request.session.pop("pending_invitation_token", None)
        request.session[settings.CURRENT_MERCHANT_SESSION_KEY] = membership.merchant_id
        messages.success(request, f"Welcome to {membership.merchant.name}.")
        return redirect("dashboard")
    return render(request, "merchants/invitation_welcome.html", {"invitation": invitation})


# API keys

NEW_API_KEY_SESSION_KEY = "new_api_key"


def _api_keys_page(request: MerchantRequest, form: APIKeyForm, **extra: object) -> HttpResponse:
    context = {
        "api_keys": selectors.api_key_list(merchant=request.merchant),
        "form": form,
        "tab": "api_keys",
        "api_docs_url": reverse("api_docs"),
        **extra,
    }
    return render(request, "merchants/api_key_list.html", context, status=400 if form.errors else 200)


@merchant_permission_required("api_keys.manage")
@require_http_methods(["GET", "POST"])
def api_key_list(request: MerchantRequest) -> HttpResponse:
    form = APIKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, secret = services.api_key_create(
                merchant=request.merchant,
                actor=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            # Shown once, on the page the redirect leads to, then gone from the session too.
            # The redirect keeps a reload from creating a second key.
            request.session[NEW_API_KEY_SESSION_KEY] = {"prefix": api_key.prefix, "secret": secret}
            return redirect("settings_api_keys")
    new = request.session.pop(NEW_API_KEY_SESSION_KEY, None) if request.method == "GET" else None
    if new is not None:
        new_key = selectors.api_key_get(merchant=request.merchant, prefix=new["prefix"])
        return _api_keys_page(request, form, new_key=new_key, new_secret=new["secret"])
    return _api_keys_page(request, form)


@merchant_permission_required("api_keys.manage")
@require_POST
def api_key_revoke(request: MerchantRequest, prefix: str) -> HttpResponse:
    api_key = selectors.api_key_get(merchant=request.merchant, prefix=prefix)
    services.api_key_revoke(api_key=api_key, actor=request.user)
    if request.htmx:
        return render(request, "merchants/_api_key_row.html", {"api_key": api_key})
    messages.success(request, f"Key “{api_key.name}” revoked. Requests using it are now refused.")
    return redirect("settings_api_keys")


@merchant_permission_required("merchant.manage")
@require_GET
def audit_log(request: MerchantRequest) -> HttpResponse:
    events = selectors.audit_event_list(merchant=request.merchant, limit=200)
    return render(request, "merchants/audit_log.html", {"events": events, "tab": "audit"})
