"""Partner programs: bonus at the partner only for shoppers who consented to network sharing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from loyalty.models import LedgerEntry, PartnerAward, Reason
from loyalty.selectors import partner_summary
from loyalty.services.partners import partner_agreement_accept, partner_agreement_propose
from profiles.services.shoppers import ConsentInput, ConsentOrigin, consent_record
from tests.factories import MerchantFactory, NetworkFactory
from tests.loyalty.conftest import account_of
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import CardFactory, ShopperFactory


@pytest.fixture
def mall(merchant):
    network = NetworkFactory(slug="riverside")
    merchant.networks.add(network)
    return network


@pytest.fixture
def coffee(mall):
    partner = MerchantFactory(name="Blue Bean", slug="blue-bean")
    partner.networks.add(mall)
    ProgramFactory(merchant=partner, name="Bean Points", point_value_minor=2)
    return partner


@pytest.fixture
def agreement(merchant, program, coffee):
    proposed = partner_agreement_propose(
        merchant=merchant, partner=coffee, bonus_points_per_unit=1, unit_minor=500, actor=None
    )
    return partner_agreement_accept(partner=coffee, agreement_id=proposed.pk, actor=None)


@pytest.fixture
def coffee_shopper(coffee, card):
    """The same shopper at the coffee bar, known by the same card."""
    return CardFactory(shopper=ShopperFactory(merchant=coffee), token=card.token).shopper


def _share(shopper, granted, when=None):
    consent_record(
        shopper=shopper,
        consents=[ConsentInput(channel="email", purpose="network_sharing", is_granted=granted)],
        origin=ConsentOrigin(source="kiosk", reference="K-1"),
        occurred_at=when,
    )


def test_partner_bonus_only_with_network_sharing_consent(merchant, agreement, buy, shopper, coffee_shopper):
    buy(5000)  # no consent yet: no bonus at the partner
    assert not PartnerAward.all_merchants.exists()

    _share(shopper, True, timezone.now() - timedelta(minutes=5))
    buy(5000)
    award = PartnerAward.all_merchants.get()
    assert (award.points, award.owed_minor) == (10, 20)  # 1 point per 5.00 EUR, worth 2 cents each
    coffee_account = account_of(coffee_shopper)
    assert coffee_account.points_balance == 10
    assert LedgerEntry.objects.get(account=coffee_account).reason == Reason.PARTNER

    _share(shopper, False)
    buy(5000)  # consent withdrawn: no more bonus
    assert PartnerAward.all_merchants.count() == 1


def test_each_side_sees_awarded_and_owed(merchant, coffee, agreement, buy, shopper, coffee_shopper):
    _share(shopper, True, timezone.now() - timedelta(minutes=5))
    buy(5000)
    buy(10000)
    ours = partner_summary(merchant=merchant)
    theirs = partner_summary(merchant=coffee)
    assert [(row.other.name, row.points, row.money_minor, row.direction) for row in ours] == [
        ("Blue Bean", 30, 60, "owed")
    ]
    assert [(row.other.name, row.points, row.money_minor, row.direction) for row in theirs] == [
        ("Northwind", 30, 60, "awarded")
    ]


def test_partner_must_share_a_network(merchant, program):
    stranger = MerchantFactory(name="Far away")
    with pytest.raises(ApplicationError) as refused:
        partner_agreement_propose(
            merchant=merchant, partner=stranger, bonus_points_per_unit=1, unit_minor=100, actor=None
        )
    assert refused.value.code == "not_in_network"


def test_a_refund_takes_the_partner_bonus_back(merchant, coffee, agreement, buy, shopper, coffee_shopper):
    from loyalty.tasks import settle_earnings
    from profiles.services import purchases

    _share(shopper, True, timezone.now() - timedelta(minutes=5))
    purchase = buy(5000)  # 10 bonus points at the coffee bar, 20 cents owed
    purchases.purchase_refund(merchant=merchant, purchase_id=purchase.pk, amount_minor=2500)
    settle_earnings()
    settle_earnings()  # a second run takes nothing more

    award = PartnerAward.all_merchants.get()
    assert (award.points, award.points_reversed, award.owed_minor) == (10, 5, 10)
    assert account_of(coffee_shopper).points_balance == 5
    refund = LedgerEntry.objects.get(account=account_of(coffee_shopper), reason=Reason.REFUND)
    assert refund.points == -5

    purchases.purchase_refund(merchant=merchant, purchase_id=purchase.pk)  # the rest
    settle_earnings()
    award.refresh_from_db()
    assert (award.points_reversed, award.owed_minor) == (10, 0)
    assert account_of(coffee_shopper).points_balance == 0
    assert [(row.points, row.money_minor) for row in partner_summary(merchant=merchant)] == [(0, 0)]
