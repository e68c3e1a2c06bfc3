"""Each kind's columns and rows, read as a spreadsheet would read the CSV."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from core.csv_export import csv_lines
from exports.selectors import ExportFilters, export_row_count, export_rows
from profiles.services.identity import shopper_erase
from tests.exports.conftest import SEOUL, read_csv

MARCH = {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)}


def _export(merchant, kind, **filters):
    export = ExportFilters(kind=kind, **{**MARCH, **filters})
    return read_csv("".join(csv_lines(export_rows(merchant=merchant, filters=export))))


def test_purchases_give_one_row_per_line_item_and_a_purchase_without_items_once(merchant, history):
    rows = _export(merchant, "purchases")

    assert [(row["external_id"], row["item_name"]) for row in rows] == [
        ("basket-1", "Green tea"),
        ("basket-1", "Mug"),
        ("order-3", ""),
        ("order-2", ""),
    ]
    tea, mug = rows[0], rows[1]
    assert tea["purchase_id"] == mug["purchase_id"] == str(history.basket.public_id)
    # KRW has no minor unit; times in Seoul with their offset
    assert (tea["amount"], tea["currency"], tea["item_quantity"], tea["item_unit_price"], tea["item_total"]) == (
        "25000", "KRW", "2", "5000", "10000",
    )  # fmt: skip
    assert tea["occurred_at"] == "2026-03-01T10:30:00+09:00"
    assert (tea["store"], tea["channel"], tea["shopper_id"]) == (
        "Main Street",
        "in_store",
        str(history.shopper.public_id),
    )
    assert (tea["card_brand"], tea["card_last_four"]) == ("visa", "4242")
    refunded = rows[3]
    assert (refunded["amount"], refunded["refunded"], refunded["net"], refunded["state"]) == (
        "12000", "6000", "6000", "refunded",
    )  # fmt: skip
    assert refunded["occurred_at"] == "2026-03-31T23:30:00+09:00"
    assert "card_number" not in tea and "411111" not in ",".join(tea.values())


def test_the_period_is_days_in_the_merchants_zone_and_the_store_filter_keeps_its_purchases(merchant, history):
    # given the purchase at 00:10 on April 1 in Seoul, still March 31 in UTC
    april = _export(merchant, "purchases", date_from=date(2026, 4, 1), date_to=date(2026, 4, 1))
    assert [row["external_id"] for row in april] == ["order-4"]

    # when only the second store is asked for
    gangnam = _export(merchant, "purchases", store=history.second_store)
    assert [row["external_id"] for row in gangnam] == ["order-3"]


def test_amounts_in_cents_read_as_major_units(merchant, store):
    from tests.profiles.factories import PurchaseFactory

    PurchaseFactory(merchant=merchant, store=store, amount_minor=1999, refunded_minor=1999, currency="EUR")
    today = timezone.localdate(timezone=SEOUL)
    (row,) = _export(merchant, "purchases", date_from=today - timedelta(days=1), date_to=today + timedelta(days=1))
    assert (row["amount"], row["refunded"], row["net"]) == ("19.99", "19.99", "0.00")


def test_shoppers_carry_contacts_preferences_and_stage(merchant, history):
    today = timezone.localdate(timezone=SEOUL)
    (row,) = _export(merchant, "shoppers", date_from=today - timedelta(days=1), date_to=today)

    assert (row["first_name"], row["last_name"], row["language"], row["home_store"]) == (
        "민준",
        "김",
        "ko",
        "Main Street",
    )
    assert (row["emails"], row["phones"]) == ("minjun@example.com", "'+821012345678")
    assert (row["sizes"], row["brands"], row["status"]) == ("M", "Acme; Bolt", "active")


def test_a_name_a_spreadsheet_would_run_is_quoted(merchant, history):
    history.shopper.first_name = '=HYPERLINK("http://evil.test","Click")'
    history.shopper.save()
    today = timezone.localdate(timezone=SEOUL)

    (row,) = _export(merchant, "shoppers", date_from=today, date_to=today)

    assert row["first_name"] == '\'=HYPERLINK("http://evil.test","Click")'


def test_an_erased_shopper_exports_as_erased_without_personal_data(merchant, history, owner):
    shopper_erase(merchant=merchant, shopper=history.shopper, actor=owner, reason="Asked in store")
    today = timezone.localdate(timezone=SEOUL)

    (row,) = _export(merchant, "shoppers", date_from=today, date_to=today)
    (message,) = _export(merchant, "messages")

    assert row["status"] == "erased"
    assert (row["first_name"], row["last_name"], row["emails"], row["phones"], row["birthday"]) == ("",) * 5
    assert "민준" not in ",".join(row.values())
    assert (message["recipient"], message["subject"], message["status"]) == ("", "", "sent")


def test_consents_give_every_decision_with_its_source_and_wording(merchant, history):
    rows = _export(merchant, "consents")

    assert [(row["decision"], row["decided_at"]) for row in rows] == [
        ("granted", "2026-03-02T09:00:00+09:00"),
        ("withdrawn", "2026-03-20T09:00:00+09:00"),
    ]
    granted = rows[0]
    assert (granted["channel"], granted["purpose"], granted["source"], granted["source_reference"]) == (
        "email", "marketing", "kiosk", "Kiosk at the door",
    )  # fmt: skip
    assert granted["wording_version"] == "2026-11"
    assert granted["wording"] == "Email me offers and news from Northwind."


def test_the_ledger_gives_each_movement_of_points_with_who_made_it(merchant, history, owner):
    today = timezone.localdate(timezone=SEOUL)
    (row,) = _export(merchant, "ledger", date_from=today - timedelta(days=1), date_to=today + timedelta(days=1))

    assert (row["points"], row["reason"], row["bucket"], row["note"]) == (
        "150",
        "adjustment",
        "available",
        "Welcome gift",
    )
    assert (row["shopper_id"], row["staff"], row["currency"]) == (str(history.shopper.public_id), owner.email, "KRW")


def test_messages_give_channel_campaign_status_and_times(merchant, history):
    (row,) = _export(merchant, "messages")

    assert (row["channel"], row["campaign"], row["status"], row["recipient"], row["subject"]) == (
        "email", "Spring tea", "sent", "minjun@example.com", "Spring is here",
    )  # fmt: skip
    assert (row["decided_at"], row["sent_at"]) == ("2026-03-03T10:59:00+09:00", "2026-03-03T11:00:00+09:00")
    assert _export(merchant, "messages", store=history.second_store) == []


@pytest.mark.parametrize("kind", ["purchases", "shoppers", "consents", "ledger", "messages"])
def test_another_merchants_rows_never_appear(other_merchant, history, kind):
    assert export_row_count(merchant=other_merchant, filters=ExportFilters(kind=kind, **MARCH)) == 0
