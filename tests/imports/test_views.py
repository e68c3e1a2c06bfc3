from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import ImportJob, ImportStatus, ShopperKey
from merchants.models import AuditEvent
from profiles.models import Purchase
from tests.imports.files import csv_bytes, purchase_rows


def _upload(client, data, kind="purchases"):
    return client.post(
        reverse("imports:list"), {"kind": kind, "template": "", "file": SimpleUploadedFile("orders.csv", data)}
    )


def test_an_owner_uploads_checks_and_imports_with_progress(merchant, owner_client, django_capture_on_commit_callbacks):
    response = _upload(owner_client, csv_bytes(purchase_rows(3)))
    job = ImportJob.objects.for_merchant(merchant).get()
    assert response.status_code == 302 and job.status == ImportStatus.UPLOADED

    page = owner_client.get(reverse("imports:detail", args=[job.public_id]))
    assert page.status_code == 200 and b"ORD-0000000" in page.content  # the preview
    mapping = {f"map_{name}": header for name, header in job.mapping.items()}
    owner_client.post(reverse("imports:detail", args=[job.public_id]), mapping)
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED and not Purchase.objects.for_merchant(merchant).exists()

    with django_capture_on_commit_callbacks(execute=True):  # the load is queued after commit; Celery is eager here
        owner_client.post(reverse("imports:start", args=[job.public_id]))

    progress = owner_client.get(reverse("imports:progress", args=[job.public_id]))
    assert b"6 of 6 rows applied; 3 new records" in progress.content and b"hx-get" not in progress.content
    assert Purchase.objects.for_merchant(merchant).count() == 3


def test_a_file_with_a_card_number_gets_a_friendly_error_and_nothing_is_kept(merchant, owner_client):
    rows = purchase_rows(2)
    rows[1][6] = "4111111111111111"
    response = _upload(owner_client, csv_bytes(rows))
    assert response.status_code == 200
    assert b"refused whole: rows 3" in response.content and b"4111111111111111" not in response.content
    assert not ImportJob.objects.for_merchant(merchant).exists()


def test_the_error_file_lists_every_bad_row_and_is_audited(merchant, owner, owner_client, run_import):
    rows = purchase_rows(2)
    rows[0][3] = "XXX"
    job = run_import(csv_bytes(rows))
    response = owner_client.get(reverse("imports:errors", args=[job.public_id]))
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1].startswith("2,currency,invalid_currency,")
    assert AuditEvent.objects.filter(merchant=merchant, action="imports.errors_downloaded").exists()


def test_analysts_may_not_import_and_outsiders_see_a_404(merchant, analyst, client_for, outsider_client, run_import):
    job = run_import(csv_bytes(purchase_rows(1)), load=False)
    assert client_for(analyst).get(reverse("imports:list")).status_code == 403
    assert outsider_client.get(reverse("imports:detail", args=[job.public_id])).status_code == 404
    assert outsider_client.get(reverse("imports:errors", args=[job.public_id])).status_code == 404


def test_the_shopper_page_shows_what_an_import_brought_over(merchant, owner, owner_client, outsider_client, run_import):
    header = ["customer_id", "email", "email_marketing", "consent_date", "consent_source", "consent_wording"]
    row = ["OLD-9", "rana@example.com", "yes", "2021-06-01 09:30", "Till sign-up card", "Yes, email me offers."]
    run_import(csv_bytes([row], header), kind="shoppers", name="legacy_crm.csv")
    shopper = ShopperKey.objects.get(merchant=merchant, external_id="OLD-9").shopper

    panel = owner_client.get(reverse("imports:shopper_panel", args=[shopper.public_id])).content.decode()

    assert "1 Jun 2021 09:30" in panel  # the original date, in the merchant's time zone
    assert "Till sign-up card" in panel and "Yes, email me offers." in panel
    assert f"From legacy_crm.csv, row 2, by {owner.email}" in panel
    assert outsider_client.get(reverse("imports:shopper_panel", args=[shopper.public_id])).status_code == 404


def test_the_page_says_when_the_same_file_was_imported_before(merchant, owner_client, run_import):
    data = csv_bytes(purchase_rows(2))
    run_import(data)
    again = run_import(data, load=False)

    page = owner_client.get(reverse("imports:detail", args=[again.public_id])).content.decode()

    assert "This very file was imported on" in page
