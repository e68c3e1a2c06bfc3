"""Segment pages for staff: the list, the builder with its live count, snapshots and CSV exports.

Seeing segments and trying rules needs `campaigns.view`; saving, freezing and exporting shoppers'
contact details need `campaigns.manage`. Another merchant's segment or snapshot is a 404.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns.models import Segment, SegmentSnapshot
from campaigns.segments import compiler, forms, selectors, services
from core.csv_export import csv_download
from core.errors import ApplicationError, form_add_error
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from merchants.permissions import role_has_permission


def _can_manage(request: MerchantRequest) -> bool:
    return role_has_permission(request.membership.role, "campaigns.manage")


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "merchants/forbidden.html", {"permission": "campaigns.manage"}, status=403)


@merchant_permission_required("campaigns.view")
@require_GET
def segment_list(request: MerchantRequest) -> HttpResponse:
    merchant = request.merchant
    context = {
        "segments": selectors.segment_list(merchant=merchant),
        "can_manage": _can_manage(request),
        "scores_refreshed_at": selectors.scores_as_of(merchant=merchant),
        "scores_sweep_progress": selectors.scores_sweep_progress(merchant=merchant),
    }
    return render(request, "campaigns/segments/segment_list.html", context)


def _count_context(request: MerchantRequest, rules: dict[str, Any]) -> dict[str, Any]:
    """The live count of rules as typed, or what stops them from being counted."""
    merchant = request.merchant
    try:
        checked = compiler.rules_check(merchant=merchant, rules=rules)
    except ApplicationError as error:
        problems = [
            (_problem_label(key), message) for key, field_messages in error.fields.items() for message in field_messages
        ]
        return {"audience": None, "problems": problems, "rule_errors": error.fields}
    return {
        "audience": selectors.audience_count(merchant=merchant, rules=checked),
        "everyone": selectors.active_shoppers(merchant=merchant).count() if checked["conditions"] else None,
        "problems": [],
        "rule_errors": {},
    }


def _problem_label(key: str) -> str:
    if key.startswith("conditions."):
        return f"Condition {int(key.split('.', 1)[1]) + 1}"
    return {"match": "Match", "conditions": "Conditions"}.get(key, key)


def _builder(
    request: MerchantRequest,
    *,
    segment: Segment | None,
    form: forms.SegmentForm,
    rules: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    merchant = request.merchant
    count = _count_context(request, rules)
    context = {
        "segment": segment,
        "form": form,
        "rows": forms.condition_rows(merchant=merchant, rules=rules, errors=count["rule_errors"]),
        "field_groups": forms.field_groups(),
        "can_manage": _can_manage(request),
        "snapshots": selectors.snapshot_list(merchant=merchant, segment=segment) if segment else [],
        "scores_refreshed_at": selectors.scores_as_of(merchant=merchant),
        "scores_sweep_progress": selectors.scores_sweep_progress(merchant=merchant),
        **count,
    }
    return render(request, "campaigns/segments/segment_form.html", context, status=status)


def _save(request: MerchantRequest, segment: Segment | None) -> HttpResponse:
    merchant = request.merchant
    form = forms.SegmentForm(request.POST)
    rules = forms.rules_from_data(request.POST, currency=merchant.currency)
    if form.is_valid():
        fields = {
            "name": form.cleaned_data["name"],
            "description": form.cleaned_data["description"],
            "rules": rules,
        }
        try:
            if segment is None:
                segment = services.segment_create(merchant=merchant, actor=request.user, **fields)  # type: ignore[arg-type]
            else:
                services.segment_update(segment=segment, actor=request.user, **fields)  # type: ignore[arg-type]
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"The segment “{segment.name}” is saved.")
            return redirect("segments:segment_detail", segment_id=segment.pk)
    return _builder(request, segment=segment, form=form, rules=rules, status=400)


@merchant_permission_required("campaigns.manage")
@require_http_methods(["GET", "POST"])
def segment_create(request: MerchantRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, None)
    return _builder(
        request,
        segment=None,
        form=forms.SegmentForm(initial={"match": "all"}),
        rules={"match": "all", "conditions": []},
    )


@merchant_permission_required("campaigns.view")
@require_http_methods(["GET", "POST"])
def segment_detail(request: MerchantRequest, segment_id: int) -> HttpResponse:
    """The builder of a saved segment (read-only for those who may not change it), with its snapshots."""
    segment = selectors.segment_get(merchant=request.merchant, segment_id=segment_id)
    if request.method == "POST":
        if not _can_manage(request):
            return _forbidden(request)
        return _save(request, segment)
    form = forms.SegmentForm(
        initial={"name": segment.name, "description": segment.description, "match": segment.rules.get("match", "all")}
    )
    return _builder(request, segment=segment, form=form, rules=segment.rules)


@merchant_permission_required("campaigns.view")
@require_POST
def audience_count(request: MerchantRequest) -> HttpResponse:
    """htmx: the live count of the rules as typed so far; nothing is saved."""
    merchant = request.merchant
    rules = forms.rules_from_data(request.POST, currency=merchant.currency)
    count = _count_context(request, rules)
    # Each row's messages follow the rules as they are now (the rows themselves are not re-rendered).
    count["row_errors_out_of_band"] = [
        (index, count["rule_errors"].get(f"conditions.{position}", []))
        for position, index in enumerate(forms.row_indices(request.POST))
    ]
    return render(request, "campaigns/segments/_count.html", count)


@merchant_permission_required("campaigns.view")
@require_POST
def builder_rows(request: MerchantRequest) -> HttpResponse:
    """htmx: the condition rows after adding, removing or re-fielding one, and (out of band) the new count."""
    merchant = request.merchant
    rules = forms.rules_from_data(request.POST, currency=merchant.currency)
    conditions = rules["conditions"]
    indices = forms.row_indices(request.POST)
    action = request.POST.get("action", "")
    target = request.POST.get("target_row", "")
    position = indices.index(int(target)) if target.isdigit() and int(target) in indices else None
    if action == "add" and len(conditions) < compiler.MAX_CONDITIONS:
        conditions.append({"field": forms.DEFAULT_FIELD, "op": "in", "value": []})
    elif action == "remove" and position is not None:
        del conditions[position]
    elif action == "field" and position is not None:
        # Another field: its own operators and an empty value.
        spec = compiler.FIELDS.get(conditions[position]["field"]) or compiler.FIELDS[forms.DEFAULT_FIELD]
        conditions[position] = {"field": spec.key, "op": spec.ops[0][0], "value": None}
    count = _count_context(request, rules)
    errors = dict(count["rule_errors"])
    if action == "add":
        errors.pop(f"conditions.{len(conditions) - 1}", None)
    elif action == "field" and position is not None:
        # A row just given another field is not wrong yet: it is being filled in.
        errors.pop(f"conditions.{position}", None)
    context = {
        "rows": forms.condition_rows(merchant=merchant, rules=rules, errors=errors),
        "field_groups": forms.field_groups(),
        "count_out_of_band": True,
        **count,
    }
    return render(request, "campaigns/segments/_conditions.html", context)


@merchant_permission_required("campaigns.manage")
@require_POST
def snapshot_create(request: MerchantRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(merchant=request.merchant, segment_id=segment_id)
    snapshot = services.snapshot_create(segment=segment, actor=request.user, name=request.POST.get("name", ""))  # type: ignore[arg-type]
    messages.success(request, f"Snapshot “{snapshot.name}” frozen with {snapshot.shopper_count:,} shopper(s).")
    return redirect("segments:segment_detail", segment_id=segment.pk)


# CSV


def _csv_rows(rows: Iterable[tuple[Any, ...]], currency: str) -> Iterator[list[Any]]:
    yield list(selectors.EXPORT_HEADER)
    for public_id, first, last, email, phone, language, stage, last_purchase, total in rows:
        yield [
            str(public_id),
            f"{first} {last}".strip(),
            email or "",
            phone or "",
            language,
            stage or "",
            last_purchase.isoformat() if last_purchase else "",
            total or 0,
            currency,
        ]


def _csv_response(request: MerchantRequest, filename: str, audience: Any) -> StreamingHttpResponse:
    merchant = request.merchant
    rows = selectors.export_rows(merchant=merchant, audience=audience).iterator(chunk_size=2000)
    return csv_download(f"{filename}-{timezone.now():%Y%m%d-%H%M}", _csv_rows(rows, merchant.currency))


@merchant_permission_required("campaigns.manage")
@require_GET
def segment_export(request: MerchantRequest, segment_id: int) -> StreamingHttpResponse:
    merchant = request.merchant
    segment = selectors.segment_get(merchant=merchant, segment_id=segment_id)
    services.audience_export_record(merchant=merchant, actor=request.user, segment=segment)  # type: ignore[arg-type]
    audience = selectors.audience_queryset(merchant=merchant, segment=segment)
    return _csv_response(request, f"segment-{segment.pk}", audience)


@merchant_permission_required("campaigns.manage")
@require_GET
def snapshot_export(request: MerchantRequest, snapshot_id: int) -> StreamingHttpResponse:
    merchant = request.merchant
    snapshot: SegmentSnapshot = selectors.snapshot_get(merchant=merchant, snapshot_id=snapshot_id)
    services.audience_export_record(
        merchant=merchant,
        actor=request.user,  # type: ignore[arg-type]
        segment=snapshot.segment,
        snapshot=snapshot,
    )
    audience = selectors.audience_queryset(merchant=merchant, snapshot=snapshot)
    return _csv_response(request, f"snapshot-{snapshot.pk}", audience)
