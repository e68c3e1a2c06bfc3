import io

import pytest

from core.errors import ApplicationError
from imports.models import ImportJob, ImportRowError, ImportStatus, StagedRow
from imports.services.jobs import job_check, job_create, job_load, job_start
from merchants.models import AuditEvent
from profiles.models import LineItem, Purchase, PurchaseSource, ShopperRollup, StoreHourRollup
from tests.imports.files import csv_bytes, purchase_rows
from tests.profiles.factories import ContactFactory, ShopperFactory


def _counts(merchant):
    return (
        Purchase.objects.for_merchant(merchant).count(),
        LineItem.objects.for_merchant(merchant).count(),
    )


def test_purchases_with_line_items_are_imported_with_their_rollups(merchant, store, run_import):
    # given a shopper known by email, and a file of three orders in that store
    shopper = ShopperFactory(merchant=merchant)
    ContactFactory(merchant=merchant, shopper=shopper, kind="email", value="shopper1@example.com")
    data = csv_bytes(purchase_rows(3, store="main street"))

    # when
    job = run_import(data)

    # then
    assert job.status == ImportStatus.DONE and job.created_count == 3
    purchase = Purchase.objects.for_merchant(merchant).get(external_id="ORD-0000001")
    assert purchase.source == PurchaseSource.IMPORT
    assert purchase.store == store and purchase.channel == "in_store"
    assert purchase.shopper == shopper
    assert purchase.amount_minor == sum(i.quantity * i.unit_price_minor for i in purchase.line_items.all())
    assert [i.name for i in purchase.line_items.order_by("name")] == ["Item 0", "Item 1"]
    assert ShopperRollup.objects.get(shopper=shopper).purchase_count == 1
    assert sum(StoreHourRollup.objects.for_merchant(merchant).values_list("purchase_count", flat=True)) == 3
    assert not StagedRow.objects.for_merchant(merchant).exists()
    assert list(
        AuditEvent.objects.filter(merchant=merchant, action__startswith="imports.").values_list("action", flat=True)
    ) == ["imports.finished", "imports.started", "imports.uploaded"]


def test_a_time_without_offset_is_read_in_the_store_zone(merchant, store, run_import):
    data = csv_bytes([["A-1", "2024-07-01 12:00", "10.00", "EUR", "Main Street", "", "", "", "", ""]])

    run_import(data)

    purchase = Purchase.objects.for_merchant(merchant).get(external_id="A-1")
    assert purchase.occurred_at.isoformat() == "2024-07-01T10:00:00+00:00"  # Amsterdam is UTC+2 in July


def test_importing_the_same_file_again_adds_nothing(merchant, run_import):
    data = csv_bytes(purchase_rows(40))
    run_import(data)
    before = _counts(merchant)

    again = run_import(data, name="history-again.csv")

    assert again.status == ImportStatus.DONE and again.created_count == 0
    assert _counts(merchant) == before == (40, 80)


def test_the_dry_run_reports_every_bad_row_and_writes_nothing(merchant, run_import):
    # given a file with one problem on each of several rows
    rows = purchase_rows(6)
    rows[0][1] = "2024-02-30T10:00:00Z"  # no such day
    rows[2][2] = "12,50"  # a decimal comma
    rows[4][3] = "XXX"  # not a currency
    rows[7][0] = ""  # no order id
    rows[8][5] = "not-an-email"
    rows[10][9] = "abc"
    rows.append(["B-9", "2024-01-01", "", "", "Nowhere", "", "", "", "", ""])  # unknown store, no amount

    # when
    job = run_import(csv_bytes(rows))

    # then every error is reported with its row and the file's column, and nothing is written
    assert job.status == ImportStatus.INVALID
    errors = list(ImportRowError.objects.filter(merchant=merchant, job=job).values_list("line", "column", "code"))
    assert errors == [
        (2, "occurred_at", "invalid_date"),
        (4, "total", "invalid_number"),
        (6, "currency", "invalid_currency"),
        (9, "order_id", "required"),
        (10, "email", "invalid_email"),
        (12, "item_price", "invalid_number"),
        (14, "store", "unknown_store"),
        (14, "total", "amount_missing"),
    ]
    assert job.error_count == 8
    assert _counts(merchant) == (0, 0)
    with pytest.raises(ApplicationError):
        job_start(job=job, actor=None)


def test_a_later_row_may_not_contradict_its_order(merchant, run_import):
    rows = purchase_rows(1)
    rows[1][2] = "99.00"

    job = run_import(csv_bytes(rows))

    error = ImportRowError.objects.get(merchant=merchant, job=job)
    assert (error.line, error.column, error.code) == (3, "total", "differs_in_order")
    assert error.message.endswith("row 2")


def test_a_file_with_a_card_number_is_refused_whole_naming_the_rows(merchant, owner):
    rows = purchase_rows(5)
    rows[3][6] = "Gift for 4111 1111 1111 1111"
    rows[7][5] = "4012888888881881"

    with pytest.raises(ApplicationError) as refused:
        job_create(
            merchant=merchant, actor=owner, kind="purchases", upload=io.BytesIO(csv_bytes(rows)), file_name="x.csv"
        )

    assert refused.value.code == "card_number_in_file"
    assert "rows 5, 9 " in refused.value.message
    assert "4111" not in refused.value.message and "4012" not in refused.value.message
    assert not ImportJob.objects.for_merchant(merchant).exists()


def test_a_stopped_load_resumes_where_it_stopped(merchant, owner):
    data = csv_bytes(purchase_rows(30))
    job = job_create(merchant=merchant, actor=owner, kind="purchases", upload=io.BytesIO(data), file_name="h.csv")
    job = job_start(job=job_check(job=job), actor=owner)

    # when the load stops after two chunks of ten rows (five orders each)
    stopped = job_load(job=job, chunk_rows=10, max_chunks=2)

    # then what was applied stays, and the rest comes on resuming
    assert stopped.status == ImportStatus.LOADING and stopped.applied_rows == 20
    assert Purchase.objects.for_merchant(merchant).count() == 10
    done = job_load(job=stopped, chunk_rows=10)
    assert done.status == ImportStatus.DONE and done.created_count == 30
    assert _counts(merchant) == (30, 60)


def test_imported_purchases_earn_no_points_and_trigger_nothing_unless_asked(merchant, run_import):
    from loyalty.models import LedgerEntry
    from profiles.signals import purchase_recorded
    from tests.loyalty.factories import ProgramFactory

    ProgramFactory(merchant=merchant)
    shopper = ShopperFactory(merchant=merchant)
    ContactFactory(merchant=merchant, shopper=shopper, kind="email", value="shopper0@example.com")
    # what loyalty and campaigns listen to: an imported purchase is history, not a purchase happening now
    heard = []

    def listen(sender, **kwargs):
        heard.append(kwargs["purchase"])

    purchase_recorded.connect(listen, dispatch_uid="test.imports.listen")
    try:
        run_import(csv_bytes(purchase_rows(1)))
    finally:
        purchase_recorded.disconnect(dispatch_uid="test.imports.listen")
    assert heard == []
    assert not LedgerEntry.objects.for_merchant(merchant).exists()

    run_import(csv_bytes(purchase_rows(1, prefix="PTS")), award_points=True)
    assert LedgerEntry.objects.for_merchant(merchant).filter(purchase__external_id="PTS-0000000").exists()


@pytest.mark.slow
def test_a_100000_row_purchase_file_loads_reimports_to_nothing_and_a_bad_copy_writes_nothing(merchant, run_import):
    # given 50,000 orders of two line items: 100,000 rows
    rows = purchase_rows(50_000)
    data = csv_bytes(rows)

    # when it is imported, then imported again
    job = run_import(data)
    again = run_import(data, name="again.csv")

    # then every order is there once, with its items
    assert (job.status, job.total_rows, job.created_count) == (ImportStatus.DONE, 100_000, 50_000)
    assert again.created_count == 0
    assert _counts(merchant) == (50_000, 100_000)

    # and a copy with a bad cell every thousand rows, under new order ids, reports each one and writes nothing
    for number in range(0, len(rows), 1000):
        rows[number][9] = "1,50"
    bad = run_import(csv_bytes([[f"NEW-{row[0]}", *row[1:]] for row in rows]))
    assert bad.status == ImportStatus.INVALID and bad.error_count == 100
    assert list(ImportRowError.objects.filter(job=bad, merchant=merchant).values_list("line", flat=True)[:3]) == [
        2,
        1002,
        2002,
    ]
    assert _counts(merchant) == (50_000, 100_000)


def test_the_task_resumes_a_failed_load(merchant, owner):
    from imports.services.jobs import job_fail
    from imports.tasks import import_load

    data = csv_bytes(purchase_rows(12))
    job = job_create(merchant=merchant, actor=owner, kind="purchases", upload=io.BytesIO(data), file_name="h.csv")
    job = job_load(job=job_start(job=job_check(job=job), actor=owner), chunk_rows=8, max_chunks=1)
    job_fail(job=job, message="The database went away.")
    assert ImportJob.objects.for_merchant(merchant).get().status == ImportStatus.FAILED

    import_load(job.pk)

    done = ImportJob.objects.for_merchant(merchant).get()
    assert (done.status, done.created_count) == (ImportStatus.DONE, 12)
    assert _counts(merchant) == (12, 24)
    import_load(job.pk)  # run twice: nothing more
    assert _counts(merchant) == (12, 24)
