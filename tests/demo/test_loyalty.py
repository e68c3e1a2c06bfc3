import pytest
from django.core.management import call_command

from loyalty.models import Account, EarnRule, LedgerEntry, PartnerAgreement, Program
from loyalty.services.ledger import ledger_reconcile
from merchants.models import Merchant

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_each_demo_merchant_a_program_with_members(capsys):
    call_command("seed_demo", demo_shoppers=60, demo_purchases=400)
    counts = (Program.all_merchants.count(), EarnRule.all_merchants.count(), LedgerEntry.all_merchants.count())

    northwind = Merchant.objects.get(slug="northwind")
    assert Program.objects.get(merchant=northwind).name == "Northwind Rewards"
    assert EarnRule.objects.filter(merchant=northwind).count() >= 5
    assert Account.objects.filter(merchant=northwind).exists()
    assert PartnerAgreement.objects.filter(merchant=northwind, status="active").exists()
    assert ledger_reconcile(merchant=northwind).mismatches == []
    assert "loyalty program" in capsys.readouterr().out

    call_command("seed_demo", demo_shoppers=60, demo_purchases=400)
    assert (Program.all_merchants.count(), EarnRule.all_merchants.count(), LedgerEntry.all_merchants.count()) == counts
