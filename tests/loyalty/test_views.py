"""Staff pages: program settings, rule editor with live preview, shopper panel, partners, insights."""

import pytest
from django.urls import reverse

from loyalty.models import EarnRule, LedgerEntry, PartnerAgreement, Program
from loyalty.services.partners import partner_agreement_propose
from tests.factories import MerchantFactory, NetworkFactory
from tests.loyalty.conftest import account_of
from tests.loyalty.factories import OfferFactory, ProgramFactory, RewardFactory, RuleFactory, TierFactory
from tests.profiles.factories import ShopperFactory

pytestmark = pytest.mark.django_db


def test_owner_sets_up_a_program(owner_client, merchant):
    page = owner_client.get(reverse("loyalty:program_list"))
    assert "has no loyalty program yet" in page.content.decode()

    response = owner_client.post(
        reverse("loyalty:program_settings"),
        {
            "name": "Northwind Rewards",
            "kind": "points",
            "points_per_unit": 1,
            "unit_minor": "1.00",
            "rounding": "down",
            "point_value_minor": "0.01",
            "minimum_spend_minor": "",
            "expiry_policy": "never",
            "tier_basis": "spend",
            "tier_grace_days": 30,
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    program = Program.objects.get(merchant=merchant)
    assert program.name == "Northwind Rewards"
    # amounts are typed in euros and kept in cents: 1 point per €1.00, a point worth €0.01
    assert (program.unit_minor, program.point_value_minor, program.minimum_spend_minor) == (100, 1, 0)


def test_program_settings_refuse_an_incomplete_expiry_policy(owner_client, program):
    response = owner_client.post(
        reverse("loyalty:program_settings"),
        {
            "name": "Rewards",
            "kind": "points",
            "points_per_unit": 1,
            "unit_minor": 100,
            "rounding": "down",
            "point_value_minor": "1",
            "minimum_spend_minor": 0,
            "expiry_policy": "days_after_earning",
            "tier_basis": "spend",
            "tier_grace_days": 30,
        },
    )
    assert response.status_code == 400
    assert "Give the number of days after which points expire." in response.content.decode()
    program.refresh_from_db()
    assert program.expiry_policy == "never"


def test_program_page_lists_rules_tiers_rewards_offers(owner_client, program):
    RuleFactory(program=program, name="Shoes double", kind="category", category="Shoes", multiplier=2)
    TierFactory(program=program, name="Gold")
    RewardFactory(program=program, name="Free socks", kind="free_item", free_item_sku="S-1", amount_off_minor=None)
    OfferFactory(program=program, name="Spend 50, get 200")
    page = owner_client.get(reverse("loyalty:program_list")).content.decode()
    for text in ("Shoes double", "Gold", "Free socks", "Spend 50, get 200"):
        assert text in page


def test_rule_editor_creates_a_rule(owner_client, program):
    response = owner_client.post(
        reverse("loyalty:rule_create"),
        {"name": "Shoes ×3", "kind": "category", "category": "Shoes", "multiplier": "3", "bonus_points": 0,
         "minimum_spend_minor": 0, "is_active": "on", "preview_amount": "50", "preview_channel": "online"},
    )  # fmt: skip
    assert response.status_code == 302
    assert EarnRule.objects.get(program=program).multiplier == 3


def test_rule_editor_shows_a_friendly_error_and_saves_nothing(owner_client, program):
    response = owner_client.post(
        reverse("loyalty:rule_create"),
        {"name": "Nothing", "kind": "category", "category": "", "multiplier": "1", "bonus_points": 0,
         "minimum_spend_minor": 0, "preview_amount": "50", "preview_channel": "online"},
    )  # fmt: skip
    assert response.status_code == 400
    page = response.content.decode()
    assert "A category rule needs its category." in page
    assert not EarnRule.all_merchants.exists()


def test_live_preview_says_what_a_purchase_earns_with_the_draft_rule(owner_client, merchant, program):
    merchant.currency = "KRW"
    merchant.save()
    program.points_per_unit, program.unit_minor = 1, 1000
    program.save()
    RuleFactory(program=program, name="First online +500", kind="channel", channel="online", bonus_points=500)

    response = owner_client.post(
        reverse("loyalty:rule_preview"),
        {"name": "Shoes ×2", "kind": "category", "category": "Shoes", "multiplier": "2", "bonus_points": 0,
         "minimum_spend_minor": 0, "is_active": "on",
         "preview_amount": "52,000", "preview_channel": "online", "preview_category": "Shoes"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 200
    # 52 base + 52 for the shoes rule being written + 500 for the online rule
    assert "online purchase in Shoes earns 604 points" in page, page
    assert "52 — Shoes ×2 (×2) <em>(this rule, as changed)</em>" in page
    assert not EarnRule.all_merchants.filter(name="Shoes ×2").exists()


def test_live_preview_names_the_rules_new_multiplier_after_a_change(owner_client, program):
    # given a rule saved as "Double points on Sundays", ×2
    rule = RuleFactory(program=program, name="Double points on Sundays", kind="spend_bonus", multiplier=2)

    # when the manager changes its multiplier to 3 and looks at the preview
    response = owner_client.post(
        reverse("loyalty:rule_preview"),
        {"rule_id": rule.pk, "name": rule.name, "kind": "spend_bonus", "multiplier": "3", "bonus_points": 0,
         "minimum_spend_minor": "", "is_active": "on", "preview_amount": "10.00", "preview_channel": "online"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip

    # then the preview names the new multiplier, not the one in the rule's name or the saved one
    page = response.content.decode()
    assert "Double points on Sundays (×3) <em>(this rule, as changed)</em>" in page
    assert "(×2)" not in page


def test_shopper_panel_shows_balance_and_ledger_and_staff_adjust(owner_client, program, buy, shopper, owner):
    buy(5000)
    profile = owner_client.get(reverse("profiles:shopper_detail", args=[shopper.public_id])).content.decode()
    panel_url = reverse("loyalty:shopper_panel", args=[shopper.public_id])
    assert f'hx-get="{panel_url}"' in profile

    panel = owner_client.get(panel_url).content.decode()
    assert "50</span> points available" in panel
    assert "Purchase" in panel

    adjusted = owner_client.post(
        reverse("loyalty:points_adjust", args=[shopper.public_id]),
        {"points": "25", "reason": "Apology for a late delivery"},
        HTTP_HX_REQUEST="true",
    )
    assert adjusted.status_code == 200
    assert "75</span> points available" in adjusted.content.decode()
    assert "Apology for a late delivery" in adjusted.content.decode()
    assert LedgerEntry.all_merchants.get(reason="adjustment").actor == owner


def test_adjustment_without_reason_is_refused_with_a_message(owner_client, program, buy, shopper):
    buy(5000)
    response = owner_client.post(
        reverse("loyalty:points_adjust", args=[shopper.public_id]), {"points": "25", "reason": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert account_of(shopper).points_balance == 50


def test_analyst_sees_but_cannot_change(client_for, analyst, program, buy, shopper):
    client = client_for(analyst)
    assert client.get(reverse("loyalty:program_list")).status_code == 200
    assert client.get(reverse("loyalty:insights")).status_code == 200
    assert client.get(reverse("loyalty:rule_create")).status_code == 403
    buy(5000)
    refused = client.post(reverse("loyalty:points_adjust", args=[shopper.public_id]), {"points": 5, "reason": "x"})
    assert refused.status_code == 403
    assert account_of(shopper).points_balance == 50


def test_store_staff_may_not_open_loyalty(client_for, store_staff, program):
    assert client_for(store_staff).get(reverse("loyalty:program_list")).status_code == 403


def test_insights_show_liability_members_and_tiers(owner_client, program, buy, shopper):
    program.point_value_minor = 2
    program.save()
    TierFactory(program=program, name="Gold", threshold=1_000_000)
    buy(5000)
    page = owner_client.get(reverse("loyalty:insights")).content.decode()
    assert "€1.00</span> outstanding liability" in page  # 50 points at 2 cents
    assert "Gold" in page and "No tier" in page


def test_partners_propose_and_accept(owner_client, client_for, merchant, program):
    mall = NetworkFactory(slug="mall")
    merchant.networks.add(mall)
    coffee = MerchantFactory(name="Blue Bean", slug="blue-bean")
    coffee.networks.add(mall)
    ProgramFactory(merchant=coffee)
    from tests.factories import MembershipFactory

    coffee_owner = MembershipFactory(merchant=coffee).user

    proposed = owner_client.post(
        reverse("loyalty:partner_list"), {"partner": coffee.pk, "bonus_points_per_unit": 1, "unit_minor": 500}
    )
    assert proposed.status_code == 302
    agreement = PartnerAgreement.all_merchants.get()
    coffee_client = client_for(coffee_owner)
    assert "Northwind" in coffee_client.get(reverse("loyalty:partner_list")).content.decode()
    coffee_client.post(reverse("loyalty:partner_accept", args=[agreement.pk]))
    agreement.refresh_from_db()
    assert agreement.status == "active"


@pytest.fixture
def their_objects(other_merchant):
    program = ProgramFactory(merchant=other_merchant, name="Their Club")
    rule = RuleFactory(program=program, name="Their rule", bonus_points=5)
    shopper = ShopperFactory(merchant=other_merchant)
    partner = MerchantFactory(name="Their partner")
    mall = NetworkFactory(slug="their-mall")
    other_merchant.networks.add(mall)
    partner.networks.add(mall)
    agreement = partner_agreement_propose(
        merchant=other_merchant, partner=partner, bonus_points_per_unit=1, unit_minor=100, actor=None
    )
    return {"rule": rule, "shopper": shopper, "agreement": agreement}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", lambda o: reverse("loyalty:rule_edit", args=[o["rule"].pk])),
        ("post", lambda o: reverse("loyalty:rule_edit", args=[o["rule"].pk])),
        ("get", lambda o: reverse("loyalty:shopper_panel", args=[o["shopper"].public_id])),
        ("post", lambda o: reverse("loyalty:points_adjust", args=[o["shopper"].public_id])),
        ("post", lambda o: reverse("loyalty:partner_accept", args=[o["agreement"].pk])),
    ],
)
def test_another_merchants_objects_are_404(owner_client, program, their_objects, method, url):
    response = getattr(owner_client, method)(url(their_objects), {"points": 5, "reason": "x", "name": "Mine"})
    assert response.status_code == 404
    assert EarnRule.all_merchants.get(pk=their_objects["rule"].pk).name == "Their rule"
    assert PartnerAgreement.all_merchants.get(pk=their_objects["agreement"].pk).status == "proposed"


def test_pages_without_ids_show_only_the_merchants_own_program(outsider_client, program, their_objects):
    for name in ("loyalty:program_list", "loyalty:partner_list", "loyalty:insights"):
        page = outsider_client.get(reverse(name)).content.decode()
        assert "Northwind Rewards" not in page


def test_pages_without_a_program_are_404_where_they_need_one(owner_client):
    assert owner_client.get(reverse("loyalty:insights")).status_code == 404
    assert owner_client.get(reverse("loyalty:rule_create")).status_code == 404
