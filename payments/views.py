"""Settings → Payment sources: connect a provider, rotate its secret, map its locations, pause it, read its
event log and replay what failed. Owners and managers only (`payments.manage`).

Signing secrets are write-only: taken by forms that never render them back, passed to the services, and never
put in a message, the session or a log line (`sensitive_post_parameters` keeps them out of error reports).
"""

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, form_add_error
from core.providers import PaymentProvider
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from merchants.services import audit_event_record
from payments import selectors
from payments.api import webhook_url
from payments.forms import (
    EventFilterForm,
    LocationMapForm,
    SecretRotateForm,
    SourceCreateForm,
    SourceUpdateForm,
)
from payments.guide import GUIDES, guide_for
from payments.models import EventStatus, PaymentSource
from payments.providers import adapter_for
from payments.providers.base import ProviderError
from payments.services import matching, processing, receiving, sources

PERMISSION = "payments.manage"
EVENTS_PER_PAGE = 25
NEW_SOURCE_SESSION_KEY = "new_payment_source"


def _audit(request: MerchantRequest, action: str, source: PaymentSource, **detail: Any) -> None:
    """Every change to a source is in Settings → Audit log (never its secret)."""
    audit_event_record(
        merchant=request.merchant,
        actor=request.user,
        action=f"payment_source.{action}",
        subject=str(source.public_id),
        name=source.name,
        **detail,
    )


@sensitive_post_parameters("secret")
@merchant_permission_required(PERMISSION)
@require_http_methods(["GET", "POST"])
def source_list(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = SourceCreateForm(request.POST or None, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source = sources.source_create(
                merchant=merchant,
                data=sources.SourceInput(
                    provider=data["provider"],
                    name=data["name"],
                    secret=data["secret"],
                    account=data["account"],
                    default_store=data["default_store"],
                    auth_expiry_days=data["auth_expiry_days"],
                ),
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            # The source page greets it once with what to tell the provider (a redirect: a reload adds nothing).
            _audit(request, "created", source, provider=source.provider)
            request.session[NEW_SOURCE_SESSION_KEY] = source.pk
            return redirect("payment_sources:detail", source_id=source.pk)
    context = {
        "sources": selectors.source_list(merchant=merchant),
        "form": form,
        "guides": [(label, GUIDES[provider]) for provider, label in PaymentProvider.choices],
        "tab": "payment_sources",
    }
    return render(request, "payments/source_list.html", context, status=400 if form.errors else 200)


def _url_warning(source: PaymentSource) -> str:
    """Square and Fidel sign the URL itself and accept only HTTPS ones: say so when SITE_URL is not."""
    if not adapter_for(source.provider).signs_url or webhook_url(source).startswith("https://"):
        return ""
    return _(
        "%(provider)s accepts only HTTPS webhook URLs and signs the URL itself: set SITE_URL to this server's public "
        "https:// address, then give the provider the URL shown here."
    ) % {"provider": source.get_provider_display()}


def _detail_page(
    request: MerchantRequest,
    source: PaymentSource,
    *,
    update_form: SourceUpdateForm | None = None,
    rotate_form: SecretRotateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    merchant = request.merchant
    now = timezone.now()
    filter_form = EventFilterForm(request.GET or None)
    status_filter = filter_form.cleaned_data["status"] if filter_form.is_valid() else ""
    page = Paginator(selectors.event_list(source=source, status=status_filter), EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    filter_params = request.GET.copy()
    filter_params.pop("page", None)
    locations = selectors.location_list(source=source)
    store_choices = list(LocationMapForm(merchant=merchant).fields["store"].queryset)  # type: ignore[attr-defined]
    is_new = request.method == "GET" and request.session.pop(NEW_SOURCE_SESSION_KEY, None) == source.pk
    context: dict[str, Any] = {
        "source": source,
        "is_new": is_new,
        "webhook_url": webhook_url(source),
        "url_warning": _url_warning(source),
        "guide": guide_for(source.provider),
        "update_form": update_form
        or SourceUpdateForm(
            merchant=merchant,
            initial={
                "name": source.name,
                "account": source.account,
                "default_store": source.default_store_id,
                "auth_expiry_days": source.auth_expiry_days,
            },
        ),
        "rotate_form": rotate_form or SecretRotateForm(),
        "current_secret_since": selectors.secret_current_since(source=source),
        "retirements": selectors.secret_retirements(source=source, now=now),
        "locations": locations,
        "stores": store_choices,
        "filter_form": filter_form,
        "status_filter": status_filter,
        "status_counts": selectors.event_status_counts(source=source),
        "page": page,
        "filter_params": filter_params.urlencode(),
        "refused": selectors.refused_delivery_list(source=source),
        "tab": "payment_sources",
    }
    return render(request, "payments/source_detail.html", context, status=status)


@merchant_permission_required(PERMISSION)
@require_GET
def source_detail(request: MerchantRequest, source_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    return _detail_page(request, source)


@merchant_permission_required(PERMISSION)
@require_POST
def source_edit(request: MerchantRequest, source_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    form = SourceUpdateForm(request.POST, merchant=request.merchant)
    if form.is_valid():
        data = form.cleaned_data
        try:
            sources.source_update(
                source=source,
                name=data["name"],
                account=data["account"],
                default_store=data["default_store"],
                auth_expiry_days=data["auth_expiry_days"],
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            _audit(request, "updated", source, account=source.account)
            messages.success(request, _("“%(name)s” saved.") % {"name": source.name})
            return redirect("payment_sources:detail", source_id=source.pk)
    return _detail_page(request, source, update_form=form, status=400)


@sensitive_post_parameters("secret")
@merchant_permission_required(PERMISSION)
@require_POST
def secret_rotate(request: MerchantRequest, source_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    form = SecretRotateForm(request.POST)
    if form.is_valid():
        had_secret = selectors.secret_current_since(source=source) is not None
        try:
            sources.secret_rotate(
                source=source,
                secret=form.cleaned_data["secret"],
                overlap=timedelta(hours=form.cleaned_data["overlap_hours"]),
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            retirements = selectors.secret_retirements(source=source, now=timezone.now())
            _audit(request, "secret_rotated" if had_secret else "secret_set", source)
            if not had_secret:
                message = _("Signing secret saved: the provider's webhooks are verified with it from now on.")
            elif retirements:
                message = _("New signing secret in use. The previous one keeps verifying until %(when)s (UTC).") % {
                    "when": f"{retirements[-1]:%Y-%m-%d %H:%M}"
                }
            else:
                message = _("New signing secret in use. The previous one no longer verifies.")
            messages.success(request, message)
            return redirect("payment_sources:detail", source_id=source.pk)
    return _detail_page(request, source, rotate_form=form, status=400)


@merchant_permission_required(PERMISSION)
@require_POST
def source_pause(request: MerchantRequest, source_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    sources.source_pause(source=source)
    _audit(request, "paused", source)
    messages.success(
        request, _("“%(name)s” paused: its events are kept and held until you resume it.") % {"name": source.name}
    )
    return redirect("payment_sources:detail", source_id=source.pk)


@merchant_permission_required(PERMISSION)
@require_POST
def source_resume(request: MerchantRequest, source_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    queued = sources.source_resume(source=source)
    _audit(request, "resumed", source, queued=queued)
    messages.success(
        request,
        _("“%(name)s” resumed; %(count)s held event(s) are being processed.") % {"name": source.name, "count": queued},
    )
    return redirect("payment_sources:detail", source_id=source.pk)


@merchant_permission_required(PERMISSION)
@require_POST
def location_map(request: MerchantRequest, source_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    form = LocationMapForm(request.POST, merchant=request.merchant)
    if not form.is_valid():
        messages.error(request, _("Choose one of your stores for the location."))
        return redirect("payment_sources:detail", source_id=source.pk)
    location_id = form.cleaned_data["location_id"]
    if not selectors.location_is_known(source=source, location_id=location_id):
        raise Http404("No such location.")
    store = form.cleaned_data["store"]
    try:
        queued = sources.location_map(source=source, location_id=location_id, store=store)
        _audit(request, "location_mapped", source, location=location_id, store=store.name if store else "")
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("payment_sources:detail", source_id=source.pk)
    if store is None:
        messages.success(request, _("Location %(location)s is no longer mapped.") % {"location": location_id})
    else:
        messages.success(
            request,
            _("Location %(location)s is %(store)s; %(count)s waiting event(s) are being processed.")
            % {"location": location_id, "store": store.name, "count": queued},
        )
    return redirect("payment_sources:detail", source_id=source.pk)


@merchant_permission_required(PERMISSION)
@require_POST
def event_replay(request: MerchantRequest, source_id: int, event_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    event = selectors.event_get(source=source, event_id=event_id)
    if processing.events_replay(source=source, event_ids=[event.pk]):
        messages.success(request, _("Event %(event)s is being processed again.") % {"event": event.event_id})
    else:
        messages.error(
            request,
            _("Event %(event)s is %(status)s: only events not yet processed are replayed.")
            % {"event": event.event_id, "status": event.get_status_display().lower()},
        )
    return redirect("payment_sources:detail", source_id=source.pk)


@merchant_permission_required(PERMISSION)
@require_POST
def events_replay_all(request: MerchantRequest, source_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    stuck = [EventStatus.RECEIVED]  # a received event's task may have been lost: processing twice is harmless
    queued = processing.events_requeue(source=source, statuses=[EventStatus.FAILED, EventStatus.UNMAPPED, *stuck])
    _audit(request, "events_replayed", source, queued=queued)
    messages.success(request, _("%(count)s failed or unmapped event(s) are being processed again.") % {"count": queued})
    return redirect("payment_sources:detail", source_id=source.pk)


@merchant_permission_required(PERMISSION)
@require_POST
def delivery_replay(request: MerchantRequest, source_id: int, delivery_id: int) -> HttpResponse:
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    delivery = selectors.refused_delivery_get(source=source, delivery_id=delivery_id)
    try:
        received = receiving.delivery_replay(delivery=delivery)
    except ProviderError as error:
        messages.error(request, _("The delivery still cannot be read: %(reason)s") % {"reason": error.reason})
    else:
        messages.success(
            request,
            _("The delivery was read again: %(count)s new event(s) are being processed.")
            % {"count": len(received.new_events)},
        )
    return redirect("payment_sources:detail", source_id=source.pk)


@merchant_permission_required(PERMISSION)
@require_http_methods(["GET", "POST"])
def event_card(request: MerchantRequest, source_id: int, event_id: int) -> HttpResponse:
    """Whose card is it? The linked cards an unrecognised card could be; confirming one links it for good."""
    source = selectors.source_get(merchant=request.merchant, source_id=source_id)
    event = selectors.event_get(source=source, event_id=event_id)
    suggestions = matching.card_suggestions(event=event)
    if request.method == "POST":
        chosen = next((card for card in suggestions if str(card.public_id) == request.POST.get("card")), None)
        if chosen is None:
            messages.error(request, _("Choose one of the cards listed."))
        else:
            matching.card_confirm(event=event, card=chosen, actor=request.user)
            messages.success(
                request,
                _("The card is now %(shopper)s's: this payment and its later ones land on their profile.")
                % {"shopper": chosen.shopper},
            )
            return redirect("payment_sources:detail", source_id=source.pk)
    context = {
        "source": source,
        "event": event,
        "named": matching.event_card(event),
        "suggestions": suggestions,
        "tab": "payment_sources",
    }
    return render(request, "payments/event_card.html", context, status=400 if request.method == "POST" else 200)
