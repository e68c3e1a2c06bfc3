"""The shopper API object: small by default; consents, preferences and loyalty with `?expand=`."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from loyalty.models import Account
from profiles.models import ConsentSource
from profiles.services.shoppers import ConsentInput, ConsentOrigin, consent_record, preferences_add
from tests.loyalty.factories import ProgramFactory, TierFactory
from tests.profiles.factories import ContactFactory, ShopperFactory

pytestmark = pytest.mark.django_db

EARLIER = datetime(2026, 1, 5, 9, tzinfo=UTC)
LATER = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _member(merchant, program, tier, *, points=120):
    shopper = ShopperFactory(merchant=merchant, first_name="Mina")
    origin = ConsentOrigin(source=ConsentSource.KIOSK)
    consent_record(
        shopper=shopper, consents=[ConsentInput("email", "marketing", True)], origin=origin, occurred_at=EARLIER
    )
    consent_record(
        shopper=shopper, consents=[ConsentInput("email", "marketing", False)], origin=origin, occurred_at=LATER
    )
    consent_record(
        shopper=shopper, consents=[ConsentInput("sms", "feedback", True)], origin=origin, occurred_at=EARLIER
    )
    preferences_add(shopper=shopper, preferences={"sizes": ["M"]})
    Account.objects.create(
        merchant=merchant,
        program=program,
        shopper=shopper,
        points_balance=points,
        points_pending=15,
        tier=tier,
        tier_since=EARLIER,
        enrolled_at=timezone.now(),
        enrolled_via="api",
    )
    return shopper


@pytest.fixture
def program(merchant):
    return ProgramFactory(merchant=merchant)


@pytest.fixture
def gold(program):
    return TierFactory(program=program, name="Gold")


@pytest.fixture
def mina(merchant, program, gold):
    return _member(merchant, program, gold)


def test_the_shopper_object_is_small_unless_asked(api_client, mina):
    body = api_client.get(f"/api/v1/shoppers/{mina.public_id}").json()

    assert body["first_name"] == "Mina"
    assert not {"consents", "preferences", "loyalty"} & set(body)


def test_expand_adds_current_consents_and_the_loyalty_summary(api_client, mina):
    body = api_client.get(f"/api/v1/shoppers/{mina.public_id}", {"expand": "consents,loyalty"}).json()

    assert [(c["channel"], c["purpose"], c["granted"]) for c in body["consents"]] == [
        ("email", "marketing", False),  # the latest decision holds
        ("sms", "feedback", True),
    ]
    assert body["loyalty"] == {
        "points_balance": 120,
        "points_pending": 15,
        "tier": "Gold",
        "tier_since": "2026-01-05T09:00:00Z",
    }
    assert "preferences" not in body


def test_expand_gives_empty_parts_to_a_shopper_with_nothing_yet(api_client, merchant):
    newcomer = ShopperFactory(merchant=merchant)

    body = api_client.get(f"/api/v1/shoppers/{newcomer.public_id}", {"expand": "consents,preferences,loyalty"}).json()

    assert body["consents"] == []
    assert body["preferences"]["sizes"] == []
    assert body["loyalty"] == {"points_balance": 0, "points_pending": 0, "tier": None, "tier_since": None}


def test_lookup_expands_too(api_client, mina):
    ContactFactory(shopper=mina, value="mina@example.com")

    body = api_client.get("/api/v1/shoppers/lookup", {"email": "mina@example.com", "expand": "preferences"}).json()

    assert body["preferences"]["sizes"] == ["M"]


@pytest.mark.parametrize("expand", ["points", "consents,points", "loyalty,Consents"])
def test_an_unknown_expand_is_a_400_naming_the_parameter(api_client, mina, expand):
    response = api_client.get(f"/api/v1/shoppers/{mina.public_id}", {"expand": expand})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_expand"
    assert list(error["fields"]) == ["expand"]
    assert "loyalty" in error["message"]


def test_another_merchants_shopper_is_a_404_even_expanded(other_api_client, mina):
    response = other_api_client.get(f"/api/v1/shoppers/{mina.public_id}", {"expand": "consents,loyalty"})

    assert response.status_code == 404


def test_the_list_pages_and_leaves_other_merchants_out(api_client, merchant, other_merchant):
    ours = [ShopperFactory(merchant=merchant) for _ in range(3)]
    ShopperFactory(merchant=other_merchant)

    first = api_client.get("/api/v1/shoppers", {"limit": 2}).json()
    rest = api_client.get("/api/v1/shoppers", {"limit": 2, "offset": 2}).json()
    refused = api_client.get("/api/v1/shoppers", {"limit": 101})

    assert {row["id"] for row in first + rest} == {str(shopper.public_id) for shopper in ours}
    assert (len(first), len(rest)) == (2, 1)
    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["limit"]


def test_a_page_of_100_expanded_shoppers_costs_what_a_page_of_2_does(
    api_client, merchant, program, gold, django_assert_max_num_queries
):
    for _ in range(2):
        _member(merchant, program, gold)
    with django_assert_max_num_queries(100) as few:
        small = api_client.get("/api/v1/shoppers", {"limit": 100, "expand": "consents,preferences,loyalty"})
    for _ in range(98):
        _member(merchant, program, gold)

    with django_assert_max_num_queries(len(few.captured_queries)):
        full = api_client.get("/api/v1/shoppers", {"limit": 100, "expand": "consents,preferences,loyalty"})

    assert len(small.json()) == 2
    assert len(full.json()) == 100
    assert all(row["loyalty"]["tier"] == "Gold" and len(row["consents"]) == 2 for row in full.json())


def test_the_schema_documents_expand_and_the_parts(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    retrieve = schema["paths"]["/api/v1/shoppers/{shopper_id}"]["get"]
    assert "expand" in {parameter["name"] for parameter in retrieve["parameters"]}
    shopper = schema["components"]["schemas"]["ShopperExpandableOutput"]["properties"]
    assert {"consents", "preferences", "loyalty"} <= set(shopper)
