"""Settings → Export: who may export, the download, the background job to its file, and its expiry."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from exports import services
from exports.models import ExportJob, ExportStatus
from merchants.models import AuditEvent
from merchants.permissions import Role
from tests.exports.conftest import read_csv

URL = reverse("exports:export")
MARCH = {"kind": "purchases", "date_from": "2026-03-01", "date_to": "2026-03-31"}


def _audit(merchant, action):
    return list(AuditEvent.objects.for_merchant(merchant).filter(action=action).order_by("pk"))


def test_an_owner_downloads_a_small_export_at_once_and_it_is_logged(owner_client, merchant, owner, history):
    response = owner_client.post(URL, {**MARCH, "store": history.store.pk})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="purchases-20260301-20260331-store{history.store.pk}.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")  # a spreadsheet reads the Hangul as UTF-8
    assert [row["external_id"] for row in read_csv(body)] == ["basket-1", "basket-1", "order-2"]
    (event,) = _audit(merchant, "data.exported")
    assert event.actor == owner
    assert event.subject == "purchases"
    assert event.detail["rows"] == 3
    assert (event.detail["from"], event.detail["to"], event.detail["store"]) == (
        "2026-03-01",
        "2026-03-31",
        "Main Street",
    )


def test_the_page_shows_the_form_at_first(owner_client):
    response = owner_client.get(URL)

    assert response.status_code == 200
    assert b"Export your data" in response.content
    assert b"Purchases with line items" in response.content


@pytest.mark.parametrize("role", [Role.STORE_STAFF, Role.ANALYST])
def test_roles_without_the_permission_get_403_and_nothing_is_exported(
    client_for, user_for_role, merchant, history, role
):
    client = client_for(user_for_role(role))

    assert client.get(URL).status_code == 403
    assert client.post(URL, MARCH).status_code == 403
    assert _audit(merchant, "data.exported") == []


def test_another_merchants_store_is_a_form_error_and_nothing_is_exported(owner_client, merchant, other_store, history):
    response = owner_client.post(URL, {**MARCH, "store": other_store.pk})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"Select a valid choice" in response.content
    assert _audit(merchant, "data.exported") == []


def test_a_period_ending_before_it_starts_is_refused_on_the_form(owner_client, merchant):
    response = owner_client.post(URL, {**MARCH, "date_from": "2026-04-01"})

    assert b"The end of the period comes before its start." in response.content
    assert _audit(merchant, "data.exported") == []


@pytest.fixture
def small_stream_limit(monkeypatch):
    """Two rows stream; more go to the background (the real limit is tens of thousands)."""
    monkeypatch.setattr(services, "STREAM_LIMIT_ROWS", 2)


def test_a_large_export_runs_in_the_background_to_a_file_only_its_merchant_downloads(
    owner_client, outsider_client, client_for, user_for_role, merchant, owner, history, small_stream_limit,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    # when the owner asks for more rows than stream at once (the Celery task runs eagerly after the commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(URL, MARCH)

    # then they land on the job's page, and the job has written its file
    job = ExportJob.objects.for_merchant(merchant).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:job_detail", args=[job.pk])
    assert (job.status, job.row_count, job.rows_written) == (ExportStatus.DONE, 4, 4)
    assert job.expires_at - job.finished_at == timedelta(days=7)
    poll = owner_client.get(response["Location"], headers={"HX-Request": "true"})
    assert b"Download (4 rows)" in poll.content
    assert b"hx-trigger" not in poll.content  # done: the fragment stops polling

    download = owner_client.get(reverse("exports:job_download", args=[job.pk]))
    assert download.status_code == 200
    rows = read_csv(b"".join(download.streaming_content))
    assert [row["external_id"] for row in rows] == ["basket-1", "basket-1", "order-3", "order-2"]

    # another merchant's owner, and store staff, never get the file
    assert outsider_client.get(reverse("exports:job_download", args=[job.pk])).status_code == 404
    assert outsider_client.get(reverse("exports:job_detail", args=[job.pk])).status_code == 404
    assert (
        client_for(user_for_role(Role.STORE_STAFF)).get(reverse("exports:job_download", args=[job.pk])).status_code
        == 403
    )

    actions = [(event.action, event.detail.get("rows")) for event in _audit(merchant, "data.exported")]
    assert actions == [("data.exported", 4)]
    assert len(_audit(merchant, "data.export_started")) == 1
    assert len(_audit(merchant, "data.export_downloaded")) == 1


def test_a_running_job_polls_with_its_progress(owner_client, merchant, owner):
    job = ExportJob.objects.create(
        merchant=merchant, kind="shoppers", date_from="2026-03-01", date_to="2026-03-31", requested_by=owner,
        status=ExportStatus.RUNNING, row_count=200_000, rows_written=50_000,
    )  # fmt: skip

    page = owner_client.get(reverse("exports:job_detail", args=[job.pk]))

    assert b'hx-trigger="every 2s"' in page.content
    assert b'<progress value="25" max="100"' in page.content
    assert b"50,000 of 200,000 rows written" in page.content
    assert owner_client.get(reverse("exports:job_download", args=[job.pk])).status_code == 404


def test_files_expire_after_seven_days(
    owner_client, merchant, history, small_stream_limit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(URL, MARCH)
    job = ExportJob.objects.for_merchant(merchant).get()
    assert default_storage.exists(job.file_name)

    assert services.export_files_expire(now=timezone.now() + timedelta(days=6)) == 0
    assert services.export_files_expire(now=timezone.now() + timedelta(days=7, minutes=1)) == 1

    assert not default_storage.exists(job.file_name)
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED
    assert owner_client.get(reverse("exports:job_download", args=[job.pk])).status_code == 404


def test_a_job_another_run_already_took_is_left_alone(merchant, owner):
    job = ExportJob.objects.create(
        merchant=merchant, kind="shoppers", date_from="2026-03-01", date_to="2026-03-31", requested_by=owner,
        status=ExportStatus.DONE, rows_written=3,
    )  # fmt: skip

    assert services.export_job_run(job_id=job.pk) is None
    assert services.export_job_run(job_id=job.pk + 1000) is None
