"""Campaign pages for staff: list, builder, report, offers, settings, feedback, the shopper panel.

Parse with a form, call one service or selector, render. Launch, pause, resume, cancel, preview and
test-send are the engine's services (campaigns.services.launch, rendering, sending); drafts are
campaigns.services.drafts.
Dates typed on these pages are read in the merchant's timezone.
"""

import zoneinfo
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import forms
from campaigns.feedback import selectors as feedback_selectors
from campaigns.measurement import program, selectors
from campaigns.models import Campaign, CampaignKind, CampaignStatus, OfferKind, Trigger, Variant
from campaigns.offers import selectors as offer_selectors
from campaigns.segments.selectors import audience_queryset
from campaigns.services import drafts, guards, holdout, launch
from campaigns.services.rendering import message_preview
from campaigns.services.sending import message_test_send
from core.errors import ApplicationError, form_add_error
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from merchants.models import Merchant
from merchants.permissions import role_has_permission
from profiles import selectors as profile_selectors
from profiles.models import ConsentChannel, ConsentPurpose

CAMPAIGNS_PER_PAGE = 25


def _can_manage(request: MerchantRequest) -> bool:
    return role_has_permission(request.membership.role, "campaigns.manage")


def _in_merchant_time(view: Any) -> Any:
    """Forms read and show datetimes in the merchant's timezone."""

    @wraps(view)
    def wrapper(request: MerchantRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(request.merchant.timezone):
            return view(request, *args, **kwargs)

    return wrapper


# The list


@merchant_permission_required("campaigns.view")
@require_GET
def campaign_list(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    status = request.GET.get("status") or None
    if status not in CampaignStatus.values:
        status = None
    page = Paginator(selectors.campaign_list(merchant=merchant, status=status), CAMPAIGNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    campaigns = list(page.object_list)
    headlines = selectors.campaign_headlines(merchant=merchant, campaigns=campaigns)
    rows = [(campaign, headlines[campaign.pk]) for campaign in campaigns]
    context = {
        "rows": rows,
        "page": page,
        "status": status,
        "statuses": CampaignStatus.choices,
        "can_manage": _can_manage(request),
        "tab": "campaigns",
    }
    return render(request, "campaigns/campaign_list.html", context)


# The builder


def _builder_context(request: HttpRequest, form: forms.CampaignForm, campaign: Campaign | None) -> dict[str, Any]:
    return {
        "form": form,
        "campaign": campaign,
        "variant_sections": form.variant_sections(),
        "trigger_settings": form.trigger_settings,
        "preview_form": forms.PreviewForm(),
        "test_send_form": forms.TestSendForm(),
        "tab": "campaigns",
    }


@merchant_permission_required("campaigns.manage")
@require_http_methods(["GET", "POST"])
@_in_merchant_time
def campaign_edit(request: MerchantRequest, campaign_id: int | None = None) -> HttpResponse:
    """Create a draft, or change one. Launched campaigns are not edited: they go to their report."""
    merchant = request.merchant
    campaign = selectors.campaign_get(merchant=merchant, campaign_id=campaign_id) if campaign_id else None
    if campaign is not None and campaign.status != CampaignStatus.DRAFT:
        messages.info(request, "This campaign has been launched; only drafts can be edited.")
        return redirect("campaigns:campaign_report", campaign_id=campaign.pk)
    if request.method == "POST":
        form = forms.CampaignForm(request.POST, merchant=merchant)
    else:
        initial = forms.CampaignForm.initial_for(campaign) if campaign else {}
        if campaign is None:
            holdout = drafts.campaign_settings_get(merchant=merchant).default_holdout_percent
            initial["holdout_percent"] = holdout
            initial["weight_A"] = initial["weight_B"] = forms.default_share(holdout)
        form = forms.CampaignForm(initial=initial, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        try:
            saved = drafts.campaign_draft_save(
                merchant=merchant, actor=request.user, campaign=campaign, **form.service_arguments()
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "The draft is saved.")
            if "save_and_report" in request.POST:
                return redirect("campaigns:campaign_report", campaign_id=saved.pk)
            return redirect("campaigns:campaign_edit", campaign_id=saved.pk)
    status = 400 if form.errors else 200
    return render(request, "campaigns/campaign_form.html", _builder_context(request, form, campaign), status=status)


@merchant_permission_required("campaigns.manage")
@require_POST
def campaign_delete(request: MerchantRequest, campaign_id: int) -> HttpResponse:
    merchant = request.merchant
    campaign = selectors.campaign_get(merchant=merchant, campaign_id=campaign_id)
    try:
        drafts.campaign_draft_delete(merchant=merchant, campaign=campaign)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("campaigns:campaign_report", campaign_id=campaign.pk)
    messages.success(request, f"The draft “{campaign.name}” is deleted.")
    return redirect("campaigns:campaign_list")


def _reachable_count(merchant: Merchant, *, segment: Any, snapshot: Any, channel: str, trigger: str) -> int:
    """Who the campaign could message now: the audience with consent for its channel and purpose and a
    confirmed contact, as the engine lets them in (the holdout is drawn from these too)."""
    purpose = ConsentPurpose.FEEDBACK if trigger == Trigger.FEEDBACK_REQUEST else ConsentPurpose.MARKETING
    audience = audience_queryset(merchant=merchant, segment=segment, snapshot=snapshot)
    return guards.reachable(audience, channel=channel, purpose=purpose).count()


@merchant_permission_required("campaigns.view")
@require_GET
def audience_hint(request: MerchantRequest) -> HttpResponse:
    """htmx: the audience's size and what lift it can show, as the builder's fields change."""
    merchant = request.merchant
    form = forms.AudienceHintForm(request.GET, merchant=merchant)
    context: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        if data.get("segment") is not None and data.get("snapshot") is not None:
            context["problem"] = "Choose a segment or a snapshot, not both."
        else:
            try:
                audience = _reachable_count(
                    merchant,
                    segment=data.get("segment"),
                    snapshot=data.get("snapshot"),
                    channel=data.get("channel") or ConsentChannel.EMAIL,
                    trigger=data.get("trigger") or "",
                )
            except (ApplicationError, NotImplementedError, ValueError) as error:
                context["problem"] = f"The segment's rules cannot be counted: {error}"
            else:
                holdout = data.get("holdout_percent")
                context["hint"] = selectors.sample_hint(
                    merchant=merchant,
                    audience=audience,
                    holdout_percent=holdout if holdout is not None else 10,
                    attribution_days=data.get("attribution_days") or 7,
                )
    else:
        context["problem"] = "Choose an audience of this merchant."
    return render(request, "campaigns/_audience_hint.html", context)


def _message_panel(
    request: MerchantRequest,
    campaign_id: int,
    form: forms.PreviewForm,
    invalid: str,
    act: Callable[[Campaign, Variant, dict[str, Any]], dict[str, Any]],
) -> HttpResponse:
    """The preview panel after `act` on one saved variant of the campaign: its result, or why not."""
    merchant = request.merchant
    campaign = selectors.campaign_get(merchant=merchant, campaign_id=campaign_id)
    context: dict[str, Any] = {"campaign": campaign}
    if not form.is_valid():
        context["problem"] = invalid or " ".join(str(message) for errors in form.errors.values() for message in errors)
    elif (variant := campaign.variants.filter(key=form.cleaned_data["variant"]).first()) is None:
        context["problem"] = "Save the draft with this variant first."
    else:
        try:
            context.update(act(campaign, variant, form.cleaned_data))
        except ApplicationError as error:
            context["problem"] = error.message
    return render(request, "campaigns/_preview.html", context)


@merchant_permission_required("campaigns.manage")
@require_POST
def campaign_preview(request: MerchantRequest, campaign_id: int) -> HttpResponse:
    """htmx: the message as a shopper would get it (the engine renders it)."""

    def preview(campaign: Campaign, variant: Variant, data: dict[str, Any]) -> dict[str, Any]:
        return {"preview": message_preview(campaign=campaign, variant=variant, language=data["language"])}

    form = forms.PreviewForm(request.POST)
    return _message_panel(request, campaign_id, form, "Choose a variant and a language.", preview)


@merchant_permission_required("campaigns.manage")
@require_POST
def campaign_test_send(request: MerchantRequest, campaign_id: int) -> HttpResponse:
    def test_send(campaign: Campaign, variant: Variant, data: dict[str, Any]) -> dict[str, Any]:
        message_test_send(
            campaign=campaign, variant=variant, language=data["language"], to=data["to"], actor=request.user
        )
        return {"sent_to": data["to"]}

    return _message_panel(request, campaign_id, forms.TestSendForm(request.POST), "", test_send)


# Launch and after

_ACTIONS = {
    "launch": (launch.campaign_launch, "The campaign is launched."),
    "pause": (launch.campaign_pause, "The campaign is paused: nothing more is sent until it is resumed."),
    "resume": (launch.campaign_resume, "The campaign is running again."),
    "cancel": (launch.campaign_cancel, "The campaign is cancelled: nothing more is sent."),
}


@merchant_permission_required("campaigns.manage")
@require_POST
def campaign_action(request: MerchantRequest, campaign_id: int, action: str) -> HttpResponse:
    merchant = request.merchant
    campaign = selectors.campaign_get(merchant=merchant, campaign_id=campaign_id)
    if action not in _ACTIONS:
        raise Http404
    service, success = _ACTIONS[action]
    try:
        service(campaign=campaign, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("campaigns:campaign_report", campaign_id=campaign.pk)


@merchant_permission_required("campaigns.view")
@require_GET
def campaign_report(request: MerchantRequest, campaign_id: int) -> HttpResponse:
    merchant = request.merchant
    campaign = selectors.campaign_get(merchant=merchant, campaign_id=campaign_id)
    report = selectors.campaign_report(merchant=merchant, campaign=campaign)
    hint = None
    if campaign.status == CampaignStatus.DRAFT:
        try:
            audience = _reachable_count(
                merchant,
                segment=campaign.segment,
                snapshot=campaign.snapshot,
                channel=campaign.channel,
                trigger=campaign.trigger,
            )
        except (ApplicationError, NotImplementedError, ValueError):
            audience = None
        if audience is not None:
            hint = selectors.sample_hint(
                merchant=merchant,
                audience=audience,
                holdout_percent=campaign.holdout_percent,
                attribution_days=campaign.attribution_days,
            )
    context = {
        "campaign": campaign,
        "report": report,
        "progress": _progress(merchant, campaign),
        "hint": hint,
        "variants": campaign.variants.prefetch_related("templates").order_by("key"),
        "can_manage": _can_manage(request),
        "tab": "campaigns",
    }
    return render(request, "campaigns/campaign_report.html", context)


def _progress(merchant: Merchant, campaign: Campaign) -> selectors.BroadcastProgress | None:
    if campaign.kind not in (CampaignKind.BROADCAST, CampaignKind.RECURRING):
        return None
    return selectors.broadcast_progress(merchant=merchant, campaign=campaign)


@merchant_permission_required("campaigns.view")
@require_GET
def campaign_progress(request: MerchantRequest, campaign_id: int) -> HttpResponse:
    """htmx: the report's progress fragment, polled by itself until the run is complete."""
    merchant = request.merchant
    campaign = selectors.campaign_get(merchant=merchant, campaign_id=campaign_id)
    progress = _progress(merchant, campaign)
    response = render(request, "campaigns/_broadcast_progress.html", {"campaign": campaign, "progress": progress})
    if request.htmx and (progress is None or progress.is_complete):
        # The polling page was showing a run under way: reload it once, so the results below match.
        response["HX-Refresh"] = "true"
    return response


# Offers


@merchant_permission_required("campaigns.view")
@require_GET
def offer_list(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    now = timezone.now()
    offers = [
        (offer, offer_selectors.offer_is_live(offer, at=now)) for offer in offer_selectors.offer_list(merchant=merchant)
    ]
    context = {"offers": offers, "can_manage": _can_manage(request), "tab": "offers", "OfferKind": OfferKind}
    return render(request, "campaigns/offer_list.html", context)


@merchant_permission_required("campaigns.manage")
@require_http_methods(["GET", "POST"])
@_in_merchant_time
def offer_edit(request: MerchantRequest, offer_id: int | None = None) -> HttpResponse:
    merchant = request.merchant
    offer = offer_selectors.offer_get(merchant=merchant, offer_id=offer_id) if offer_id else None
    if request.method == "POST":
        form = forms.OfferForm(request.POST, merchant=merchant)
    else:
        form = forms.OfferForm(initial=forms.OfferForm.initial_for(offer) if offer else {}, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        try:
            drafts.offer_save(merchant=merchant, offer=offer, **form.service_arguments())
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "The offer is saved.")
            return redirect("campaigns:offer_list")
    status = 400 if form.errors else 200
    context = {"form": form, "offer": offer, "tab": "offers"}
    return render(request, "campaigns/offer_form.html", context, status=status)


# Settings


@merchant_permission_required("campaigns.manage")
@require_http_methods(["GET", "POST"])
def campaign_settings(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    current = drafts.campaign_settings_get(merchant=merchant)
    form = forms.CampaignSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            drafts.campaign_settings_save(merchant=merchant, **form.cleaned_data)
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "The campaign settings are saved; they hold from the next message.")
            return redirect("campaigns:settings")
    status = 400 if form.errors else 200
    return render(request, "campaigns/settings.html", {"form": form, "tab": "settings"}, status=status)


# Program lift (the program holdout)


@merchant_permission_required("campaigns.view")
@require_GET
def program_lift(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    draws = list(program.program_holdout_draws(merchant=merchant))
    chosen = request.GET.get("draw")
    draw = None
    if chosen:
        if not chosen.isdigit():
            raise Http404
        draw = program.program_holdout_draw_get(merchant=merchant, draw_id=int(chosen))
    elif draws:
        draw = draws[0]
    current = holdout.program_holdout_settings_get(merchant=merchant)
    context = {
        "draws": draws,
        "draw": draw,
        "lift": program.program_lift(merchant=merchant, draw=draw) if draw is not None else None,
        "holdout_settings": current,
        "form": forms.ProgramHoldoutForm(initial={"is_enabled": current.is_enabled, "percent": current.percent}),
        "can_manage": _can_manage(request),
        "tab": "program",
    }
    return render(request, "campaigns/program_lift.html", context)


@merchant_permission_required("campaigns.manage")
@require_POST
def program_holdout_settings(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = forms.ProgramHoldoutForm(request.POST)
    if form.is_valid():
        try:
            holdout.program_holdout_settings_save(merchant=merchant, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(
                request,
                _("The program holdout is on: held-out shoppers get no marketing message this quarter.")
                if form.cleaned_data["is_enabled"]
                else _("The program holdout is off: every shopper can get marketing messages again."),
            )
            return redirect("campaigns:program_lift")
    current = holdout.program_holdout_settings_get(merchant=merchant)
    draws = list(program.program_holdout_draws(merchant=merchant))
    context = {
        "draws": draws,
        "draw": draws[0] if draws else None,
        "lift": program.program_lift(merchant=merchant, draw=draws[0]) if draws else None,
        "holdout_settings": current,
        "form": form,
        "can_manage": True,
        "tab": "program",
    }
    return render(request, "campaigns/program_lift.html", context, status=400)


# Feedback


@merchant_permission_required("campaigns.view")
@require_GET
def feedback_dashboard(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(merchant.timezone)).date()
    start, end, store = today - timedelta(days=29), today, None
    form = forms.FeedbackFilterForm(request.GET or None, initial={"start": start, "end": end}, merchant=merchant)
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        store = form.cleaned_data.get("store")
    if end < start:
        form.add_error("end", "The period must end on or after its start.")
        start, end = end, start
    data = feedback_selectors.feedback_dashboard(merchant=merchant, start=start, end=end, store=store)
    context = {"form": form, "data": data, "tab": "feedback", "can_manage": _can_manage(request)}
    return render(request, "campaigns/feedback.html", context)


# The shopper profile's campaigns panel (profiles loads it with htmx; see CampaignsConfig)


@merchant_permission_required("campaigns.view")
@require_GET
def shopper_panel(request: MerchantRequest, public_id: str) -> HttpResponse:
    merchant = request.merchant
    shopper = profile_selectors.shopper_get(merchant=merchant, public_id=public_id)
    context = {
        "shopper": shopper,
        "messages_received": selectors.shopper_messages(merchant=merchant, shopper=shopper),
        "assignments": selectors.shopper_assignments(merchant=merchant, shopper=shopper),
        "responses": feedback_selectors.shopper_feedback(merchant=merchant, shopper=shopper)[:20],
        "offers": offer_selectors.offers_for_shopper(merchant=merchant, shopper=shopper, at=timezone.now()),
    }
    return render(request, "campaigns/_shopper_panel.html", context)
