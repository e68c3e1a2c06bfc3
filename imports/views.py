"""Settings → Import: upload, map the columns (with a preview), check (the dry run), import with live progress."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.csv_export import csv_download
from core.errors import ApplicationError, form_add_error
from imports import selectors, services, tasks
from imports.forms import MappingForm, UploadForm
from imports.mappings import CUSTOM, TEMPLATES
from imports.models import ImportJob, ImportStatus
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from profiles import selectors as profile_selectors

PERMISSION = "imports.manage"


@merchant_permission_required(PERMISSION)
@require_http_methods(["GET", "POST"])
def import_list(request: MerchantRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.job_create(
                merchant=request.merchant,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                upload=upload.file,
                file_name=upload.name,
                template=form.cleaned_data["template"] or None,
            )
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            return redirect("imports:detail", public_id=job.public_id)
    jobs = selectors.import_job_list(merchant=request.merchant)
    return render(request, "imports/import_list.html", {"form": form, "jobs": jobs, "tab": "imports"})


def _detail_context(job: ImportJob, form: MappingForm) -> dict[str, object]:
    return {
        "job": job,
        "form": form,
        "preview": services.job_preview(job=job),
        "errors": selectors.row_errors_first(job=job),
        "same_file_before": selectors.import_same_file_before(job=job),
        "is_custom": job.template == CUSTOM,
        "template_label": TEMPLATES[job.template].label if job.template in TEMPLATES else "",
        "can_change": job.status in (ImportStatus.UPLOADED, ImportStatus.INVALID, ImportStatus.CHECKED),
        "tab": "imports",
    }


def _mapping_form(job: ImportJob, data: object = None) -> MappingForm:
    initial = {f"map_{name}": header for name, header in job.mapping.items()}
    initial["award_points"] = job.award_points
    initial["phone_region"] = job.phone_region
    return MappingForm(data, kind=job.kind, headers=job.headers, initial=initial)


@merchant_permission_required(PERMISSION)
@require_http_methods(["GET", "POST"])
def import_detail(request: MerchantRequest, public_id: str) -> HttpResponse:
    job = selectors.import_job_get(merchant=request.merchant, public_id=public_id)
    form = _mapping_form(job, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_map(
                job=job,
                actor=request.user,
                mapping=form.mapping(),
                award_points=form.cleaned_data.get("award_points", False),
                phone_region=form.cleaned_data["phone_region"],
            )
            job = services.job_check(job=job)
        except ApplicationError as error:
            form_add_error(form, error)
        else:
            return redirect("imports:detail", public_id=job.public_id)
    return render(request, "imports/import_detail.html", _detail_context(job, form))


@merchant_permission_required(PERMISSION)
@require_POST
def import_check(request: MerchantRequest, public_id: str) -> HttpResponse:
    job = selectors.import_job_get(merchant=request.merchant, public_id=public_id)
    try:
        services.job_check(job=job)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("imports:detail", public_id=job.public_id)


@merchant_permission_required(PERMISSION)
@require_POST
def import_start(request: MerchantRequest, public_id: str) -> HttpResponse:
    job = selectors.import_job_get(merchant=request.merchant, public_id=public_id)
    try:
        with transaction.atomic():
            job = services.job_start(job=job, actor=request.user)  # a loading job may be resumed: loads are safe twice
            transaction.on_commit(lambda: tasks.import_load.delay(job.pk))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The import has started; this page shows its progress."))
    return redirect("imports:detail", public_id=job.public_id)


@merchant_permission_required(PERMISSION)
@require_GET
def import_progress(request: MerchantRequest, public_id: str) -> HttpResponse:
    job = selectors.import_job_get(merchant=request.merchant, public_id=public_id)
    return render(request, "imports/_progress.html", {"job": job})


@merchant_permission_required(PERMISSION)
@require_GET
def import_errors(request: MerchantRequest, public_id: str) -> HttpResponse:
    job = selectors.import_job_get(merchant=request.merchant, public_id=public_id)
    services.audit_event_record(
        merchant=request.merchant, actor=request.user, action="imports.errors_downloaded", subject=str(job.public_id)
    )
    return csv_download(f"import-errors-{str(job.public_id)[:8]}", selectors.row_errors_rows(job=job))


@merchant_permission_required("shoppers.view")
@require_GET
def shopper_panel(request: MerchantRequest, public_id: str) -> HttpResponse:
    """The profile page's fragment: consents an import brought over, with their proof; empty when none."""
    shopper = profile_selectors.shopper_get(merchant=request.merchant, public_id=public_id)
    proofs, keys = selectors.shopper_imported(merchant=request.merchant, shopper=shopper)
    return render(request, "imports/_shopper_panel.html", {"proofs": proofs, "keys": keys})
