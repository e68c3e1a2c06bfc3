"""Loyalty pages for staff: parse with a form, call one service or selector, render."""

import zoneinfo
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.csv_export import csv_download
from core.errors import ApplicationError, form_add_error
from core.templatetags.money import minor_digits
from loyalty import forms, roi, selectors
from loyalty.models import Program
from loyalty.services import earn, ledger, partners
from loyalty.services import program as program_services
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from merchants.permissions import role_has_permission
from merchants.services import audit_event_record
from profiles import selectors as profile_selectors
from profiles.models import JoinedVia


def _can_manage(request: MerchantRequest) -> bool:
    return role_has_permission(request.membership.role, "loyalty.manage")


def _program_or_404(request: MerchantRequest) -> Program:
    program = selectors.program_get(merchant=request.merchant)
    if program is None:
        raise Http404("No loyalty program yet.")
    program.merchant = request.merchant
    return program


@merchant_permission_required("loyalty.view")
@require_GET
def program_list(request: MerchantRequest) -> HttpResponse:
    """The loyalty home: the program, its rules, tiers, rewards and offers (or how to start one)."""
    merchant = request.merchant
    program = selectors.program_get(merchant=merchant)
    context = {
        "program": program,
        "can_manage": _can_manage(request),
        "rules": selectors.rule_list(merchant=merchant),
        "tiers": selectors.tier_list(merchant=merchant),
        "rewards": selectors.reward_list(merchant=merchant),
        "offers": selectors.offer_list(merchant=merchant),
        "redemptions": selectors.redemption_list(merchant=merchant),
    }
    return render(request, "loyalty/program_detail.html", context)


@merchant_permission_required("loyalty.manage")
@require_http_methods(["GET", "POST"])
def program_settings(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    program = selectors.program_get(merchant=merchant)
    form = forms.ProgramForm(request.POST or None, instance=program, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        fields = form.cleaned_data
        try:
            if program is None:
                program_services.program_create(merchant=merchant, actor=request.user, **fields)  # type: ignore[arg-type]
            else:
                program_services.program_update(program=program, actor=request.user, **fields)  # type: ignore[arg-type]
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "The program settings are saved.")
            return redirect("loyalty:program_list")
    status = 400 if form.errors else 200
    return render(request, "loyalty/program_form.html", {"form": form, "program": program}, status=status)


@merchant_permission_required("loyalty.manage")
@require_http_methods(["GET", "POST"])
def rule_edit(request: MerchantRequest, rule_id: int | None = None) -> HttpResponse:
    """Create or change an earn rule, with a live preview of what a purchase would earn."""
    merchant = request.merchant
    program = _program_or_404(request)
    rule = selectors.rule_get(merchant=merchant, rule_id=rule_id) if rule_id is not None else None
    form = forms.RuleForm(request.POST or None, instance=rule, merchant=merchant)
    preview_form = forms.PreviewForm(
        request.POST or None,
        merchant=merchant,
        initial={"preview_amount": "52000" if merchant.currency == "KRW" else "50"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            program_services.rule_save(program=program, actor=request.user, rule=rule, **form.cleaned_data)  # type: ignore[arg-type]
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "The rule is saved; it applies from the next purchase.")
            return redirect("loyalty:program_list")
    status = 400 if form.errors else 200
    context = {"form": form, "preview_form": preview_form, "rule": rule, "program": program}
    return render(request, "loyalty/rule_form.html", context, status=status)


@merchant_permission_required("loyalty.manage")
@require_POST
def rule_preview(request: MerchantRequest) -> HttpResponse:
    """htmx: what the made-up purchase earns under the program's rules with the rule as typed so far."""
    merchant = request.merchant
    program = _program_or_404(request)
    rule_id = request.POST.get("rule_id") or None
    editing = selectors.rule_get(merchant=merchant, rule_id=int(rule_id)) if rule_id and rule_id.isdigit() else None
    rule_form = forms.RuleForm(request.POST, instance=editing, merchant=merchant)
    preview_form = forms.PreviewForm(request.POST, merchant=merchant)
    context: dict[str, Any] = {"program": program, "preview_form": preview_form}
    if preview_form.is_valid():
        others = [rule for rule in selectors.rule_list(merchant=merchant).filter(is_active=True) if rule != editing]
        draft = rule_form.instance if rule_form.is_valid() and rule_form.instance.is_active else None
        facts = _preview_facts(merchant, preview_form.cleaned_data)
        lines = earn.earn_evaluate(program=program, rules=[*others, *([draft] if draft else [])], facts=facts)
        context.update(
            lines=lines,
            total=sum(line.points for line in lines),
            draft=draft,
            draft_problems=rule_form.errors if not rule_form.is_valid() else None,
            purchase=preview_form.cleaned_data,
        )
    return render(request, "loyalty/_rule_preview.html", context)


def _preview_facts(merchant: Any, data: dict[str, Any]) -> earn.PurchaseFacts:
    store = data["preview_store"]
    zone = store.timezone if store else merchant.timezone
    when = data["preview_when"] or timezone.now()
    if timezone.is_naive(when):
        when = when.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    amount = data["preview_amount"]
    return earn.PurchaseFacts(
        amount_minor=amount,
        channel=data["preview_channel"],
        occurred_at=when,
        store_id=store.pk if store else None,
        timezone=zone,
        lines=(
            earn.Line(sku=data["preview_sku"], category=data["preview_category"], quantity=1, unit_price_minor=amount),
        ),
    )


def _simple_create(request: MerchantRequest, form_class: Any, service: Any, title: str, success: str) -> HttpResponse:
    merchant = request.merchant
    program = _program_or_404(request)
    form = form_class(request.POST or None, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        try:
            service(program=program, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, success)
            return redirect("loyalty:program_list")
    status = 400 if form.errors else 200
    return render(request, "loyalty/simple_form.html", {"form": form, "title": title}, status=status)


@merchant_permission_required("loyalty.manage")
@require_http_methods(["GET", "POST"])
def tier_create(request: MerchantRequest) -> HttpResponse:
    return _simple_create(request, forms.TierForm, program_services.tier_create, "New tier", "The tier is added.")


@merchant_permission_required("loyalty.manage")
@require_http_methods(["GET", "POST"])
def reward_create(request: MerchantRequest) -> HttpResponse:
    return _simple_create(
        request, forms.RewardForm, program_services.reward_create, "New reward", "The reward is in the catalogue."
    )


@merchant_permission_required("loyalty.manage")
@require_http_methods(["GET", "POST"])
def offer_create(request: MerchantRequest) -> HttpResponse:
    return _simple_create(
        request,
        forms.OfferForm,
        program_services.offer_create,
        "New card-linked offer",
        "The offer is live: qualifying linked-card purchases get it automatically.",
    )


# The shopper profile's loyalty section (loaded by the profile page with htmx)


def _panel(request: MerchantRequest, shopper: Any, adjust_form: Any = None, status: int = 200) -> HttpResponse:
    merchant = request.merchant
    context = {
        "loyalty": selectors.shopper_loyalty(merchant=merchant, shopper=shopper),
        "can_manage": _can_manage(request),
        "adjust_form": adjust_form or forms.AdjustForm(),
        "currency": merchant.currency,
    }
    return render(request, "loyalty/_shopper_panel.html", context, status=status)


@merchant_permission_required("loyalty.view")
@require_GET
def shopper_panel(request: MerchantRequest, public_id: str) -> HttpResponse:
    shopper = profile_selectors.shopper_get(merchant=request.merchant, public_id=public_id)
    return _panel(request, shopper)


@merchant_permission_required("loyalty.manage")
@require_POST
def points_adjust(request: MerchantRequest, public_id: str) -> HttpResponse:
    merchant = request.merchant
    shopper = profile_selectors.shopper_get(merchant=merchant, public_id=public_id)
    form = forms.AdjustForm(request.POST)
    loyalty = selectors.shopper_loyalty(merchant=merchant, shopper=shopper)
    if loyalty.account is None:
        form.add_error(None, "This shopper has no loyalty account yet: it opens with their first purchase.")
    elif form.is_valid():
        try:
            ledger.points_adjust(
                merchant=merchant,
                account=loyalty.account,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            if not request.htmx:
                messages.success(request, "The points are adjusted.")
                return redirect(reverse("profiles:shopper_detail", args=[shopper.public_id]) + "#loyalty")
            return _panel(request, shopper)
    # htmx swaps only 2xx answers: the fragment with its errors comes back as 200 to htmx, 400 otherwise.
    return _panel(request, shopper, adjust_form=form, status=200 if request.htmx else 400)


# Partners


@merchant_permission_required("loyalty.view")
@require_http_methods(["GET", "POST"])
def partner_list(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    form = forms.PartnerProposeForm(
        request.POST or None, candidates=selectors.partner_candidates(merchant=merchant), currency=merchant.currency
    )
    if request.method == "POST":
        if not _can_manage(request):
            return render(request, "merchants/forbidden.html", {"permission": "loyalty.manage"}, status=403)
        if form.is_valid():
            try:
                partners.partner_agreement_propose(merchant=merchant, actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            except ApplicationError as error:
                form_add_error(form, error)
            else:
                messages.success(request, "Proposed. The partner sees it on their Partners page and can accept.")
                return redirect("loyalty:partner_list")
    context = {"rows": selectors.partner_summary(merchant=merchant), "form": form, "can_manage": _can_manage(request)}
    return render(request, "loyalty/partner_list.html", context, status=400 if form.errors else 200)


@merchant_permission_required("loyalty.manage")
@require_POST
def partner_accept(request: MerchantRequest, agreement_id: int) -> HttpResponse:
    merchant = request.merchant
    agreement = selectors.partner_agreement_get(merchant=merchant, agreement_id=agreement_id)
    try:
        partners.partner_agreement_accept(partner=merchant, agreement_id=agreement.pk, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Accepted: their shoppers' purchases now earn bonus points here.")
    return redirect("loyalty:partner_list")


# Insights


def _channel_label(channel: str) -> str:
    return str(dict(JoinedVia.choices).get(channel, channel.replace("_", " ").capitalize()))


@merchant_permission_required("loyalty.view")
@require_GET
def insights(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    data = selectors.loyalty_insights(merchant=merchant)
    if data is None:
        raise Http404("No loyalty program yet.")
    chart = {
        "months": [month.strftime("%b %Y") for month, _points, _money in data.liability_trend],
        "liability": [
            float(Decimal(money).scaleb(-minor_digits(merchant.currency)))
            for _month, _points, money in data.liability_trend
        ],
        "enrolment_months": [month.strftime("%b %Y") for month, _counts in data.enrolments],
        # Legends read the channel's label ("Store till"), not its code ("till").
        "enrolments": {
            str(_channel_label(channel)): [counts.get(channel, 0) for _month, counts in data.enrolments]
            for channel in data.enrolment_channels
        },
        "currency": merchant.currency,
        "digits": minor_digits(merchant.currency),
    }
    return render(request, "loyalty/insights.html", {"data": data, "chart": chart})


# ROI


def _roi(request: MerchantRequest) -> roi.LoyaltyRoi:
    return roi.loyalty_roi(merchant=request.merchant, program=_program_or_404(request))


@merchant_permission_required("loyalty.view")
@require_GET
def roi_page(request: MerchantRequest) -> HttpResponse:
    return render(request, "loyalty/roi.html", {"data": _roi(request), "tab": "roi"})


@merchant_permission_required("loyalty.view")
@require_GET
def roi_csv(request: MerchantRequest) -> StreamingHttpResponse:
    data = _roi(request)
    audit_event_record(merchant=request.merchant, actor=request.user, action="loyalty_roi.exported", subject="ROI")
    digits = minor_digits(request.merchant.currency)

    def major(minor: int | None) -> Decimal | None:
        return Decimal(minor).scaleb(-digits) if minor is not None else None

    def row(kind: str, figures: roi.RoiFigures) -> list[object]:
        per_member = figures.per_member_minor or (None, None, None)
        net = figures.net_minor or (None, None, None)
        roi_percent = figures.roi_percent or (None, None, None)
        return [
            kind,
            figures.label,
            figures.members,
            figures.matched,
            figures.comparison,
            major(figures.spend_per_member_minor),
            major(figures.spend_per_comparable_minor),
            *(major(value) for value in per_member),
            major(figures.cost_minor),
            *(major(value) for value in net),
            *roi_percent,
        ]

    rows: list[list[object]] = [
        [
            "kind",
            "month_or_store",
            "members",
            "members_compared",
            "later_joiners_compared",
            "spend_per_member",
            "spend_per_comparable_shopper",
            "added_per_member",
            "added_per_member_low",
            "added_per_member_high",
            "cost",
            "net_gain",
            "net_gain_low",
            "net_gain_high",
            "roi_percent",
            "roi_percent_low",
            "roi_percent_high",
        ]
    ]
    rows += [row("enrolment month", figures) for _month, figures in data.months]
    rows += [row("store", figures) for figures in data.stores]
    rows.append(row("total", data.total))
    return csv_download(f"loyalty-roi-{request.merchant.slug}", rows)
