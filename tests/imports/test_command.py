import pytest
from django.core.management import CommandError, call_command

from profiles.models import Purchase
from tests.imports.files import csv_bytes, purchase_rows


def test_the_command_checks_then_loads_a_file(merchant, tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(purchase_rows(4)))

    call_command("import_csv", str(path), merchant=merchant.slug, dry_run=True)
    assert "Dry run: 8 rows are ready; nothing was written." in capsys.readouterr().out
    assert not Purchase.objects.for_merchant(merchant).exists()

    call_command("import_csv", str(path), merchant=merchant.slug)
    assert "Imported: 4 new of 8 rows" in capsys.readouterr().out
    assert Purchase.objects.for_merchant(merchant).count() == 4


def test_the_command_prints_every_row_error_and_writes_nothing(merchant, tmp_path, capsys):
    rows = purchase_rows(3)
    rows[0][3] = "EURO"
    rows[4][9] = "free"
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(rows))

    with pytest.raises(CommandError, match="2 rows need fixing"):
        call_command("import_csv", str(path), merchant=merchant.slug)

    out = capsys.readouterr().out
    assert "row 2, currency: Use a three-letter ISO 4217 currency code" in out
    assert "row 6, item_price:" in out
    assert not Purchase.objects.for_merchant(merchant).exists()
