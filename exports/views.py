"""Settings → Export: choose what, when and where; small exports download at once, large ones run in the background."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.csv_export import csv_download
from exports import selectors, services
from exports.forms import ExportForm
from exports.models import ExportStatus
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest


@merchant_permission_required("exports.run")
@require_http_methods(["GET", "POST"])
def export_page(request: MerchantRequest) -> HttpResponseBase:
    merchant = request.merchant
    form = ExportForm(request.POST if request.method == "POST" else None, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        started = services.export_start(merchant=merchant, actor=request.user, filters=form.filters())
        if started.job is not None:
            return redirect("exports:job_detail", job_id=started.job.pk)
        rows = selectors.export_rows(merchant=merchant, filters=started.filters)
        return csv_download(started.filters.filename(), rows, spreadsheet_bom=True)
    context = {
        "form": form,
        "jobs": selectors.export_job_list(merchant=merchant),
        "stream_limit": services.STREAM_LIMIT_ROWS,
        "lifetime_days": services.FILE_LIFETIME.days,
        "tab": "export",
    }
    return render(request, "exports/export.html", context)


@merchant_permission_required("exports.run")
@require_GET
def job_detail(request: MerchantRequest, job_id: int) -> HttpResponse:
    job = selectors.export_job_get(merchant=request.merchant, job_id=job_id)
    if request.htmx:
        return render(request, "exports/_job.html", {"job": job})
    return render(request, "exports/job.html", {"job": job, "tab": "export"})


@merchant_permission_required("exports.run")
@require_GET
def job_download(request: MerchantRequest, job_id: int) -> FileResponse:
    job = selectors.export_job_get(merchant=request.merchant, job_id=job_id)
    if job.status != ExportStatus.DONE or not job.file_name:
        raise Http404("This export has no file (not ready yet, or expired).")
    services.export_job_download_record(job=job, actor=request.user)
    response = FileResponse(
        default_storage.open(job.file_name, "rb"),
        as_attachment=True,
        filename=job.file_name.rsplit("/", 1)[-1],
        content_type="text/csv; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    return response
