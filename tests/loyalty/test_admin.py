import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from loyalty.models import LedgerEntry
from tests.factories import UserFactory


@pytest.mark.parametrize("model", ["program", "earnrule", "account", "ledgerentry", "redemption", "offer"])
def test_superusers_read_loyalty_rows_in_the_admin_but_cannot_edit_the_ledger(client_for, program, buy, shopper, model):
    buy(5000)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(superuser, generate_totp_secret())
    client = client_for(superuser)

    assert client.get(f"/admin/loyalty/{model}/").status_code == 200
    entry = LedgerEntry.all_merchants.get()
    assert client.post(f"/admin/loyalty/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LedgerEntry.all_merchants.filter(pk=entry.pk).exists()
