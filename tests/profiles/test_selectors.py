"""Reads behind the shopper pages: search, the profile, the duplicates queue and the export."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from profiles import selectors
from profiles.models import ShopperStatus
from profiles.services import identity
from profiles.services.purchases import LineItemInput
from tests.factories import StoreFactory
from tests.profiles.factories import CardFactory, ContactFactory, ShopperFactory
from tests.profiles.test_identity import T0, make_twins, record_purchase

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace(merchant):
    shopper = ShopperFactory(merchant=merchant, first_name="Grace", last_name="Hopper")
    ContactFactory(shopper=shopper, value="grace@navy.example")
    ContactFactory(shopper=shopper, kind="phone", value="+442079460958")
    CardFactory(shopper=shopper, last_four="7310")
    return shopper


@pytest.mark.parametrize(
    "query",
    [
        "grace",
        "HOPPER",
        "Grace Hopper",
        "hopper grace",
        "grace@navy.example",
        "navy.example",
        "+44 20 7946 0958",
        "020 7946 0958",
        "7946 0958",
        "7310",
        "**** 7310",
    ],
)
def test_search_finds_a_shopper_by_name_email_phone_or_last_four(merchant, grace, query):
    ShopperFactory(merchant=merchant, first_name="Alan", last_name="Turing")

    found = list(selectors.shopper_search(merchant=merchant, query=query))

    assert found == [grace]


@pytest.mark.parametrize("query", ["alan", "0958 7946", "7311", "grace turing", "navy.example.org"])
def test_search_does_not_find_what_does_not_match(merchant, grace, query):
    assert list(selectors.shopper_search(merchant=merchant, query=query)) == []


def test_search_leaves_out_merged_profiles_and_other_merchants(merchant, other_merchant, grace):
    ShopperFactory(merchant=merchant, first_name="Grace", status=ShopperStatus.MERGED, merged_into=grace)
    ShopperFactory(merchant=other_merchant, first_name="Grace")

    assert list(selectors.shopper_search(merchant=merchant, query="grace")) == [grace]
    assert list(selectors.shopper_search(merchant=merchant)) == [grace]


def test_search_lists_recent_buyers_first_with_their_totals(merchant, store, grace):
    buyer = ShopperFactory(merchant=merchant)
    record_purchase(merchant, buyer, external_id="o1", amount=1250, when=T0)
    record_purchase(merchant, buyer, external_id="o2", amount=750, when=T0, store=store)

    first, second = selectors.shopper_search(merchant=merchant)

    assert (first, first.purchase_count, first.total_minor, first.last_purchase_at) == (buyer, 2, 2000, T0)
    assert (second, second.purchase_count, second.total_minor) == (grace, 0, 0)


def test_search_within_a_store(merchant, store, grace):
    other_store = StoreFactory(merchant=merchant, name="Harbour")
    buyer = ShopperFactory(merchant=merchant)
    record_purchase(merchant, buyer, external_id="o1", amount=1250, when=T0, store=store)
    local = ShopperFactory(merchant=merchant, home_store=other_store)

    assert list(selectors.shopper_search(merchant=merchant, store=store)) == [buyer]
    assert list(selectors.shopper_search(merchant=merchant, store=other_store)) == [local]


def test_a_page_of_search_results_is_one_query(merchant, django_assert_num_queries):
    for _ in range(5):
        ShopperFactory(merchant=merchant)

    with django_assert_num_queries(1):
        rows = [
            (shopper.display_name, shopper.purchase_count) for shopper in selectors.shopper_search(merchant=merchant)
        ]

    assert len(rows) == 5


def test_another_merchants_shopper_is_a_404(other_merchant, merchant):
    theirs = ShopperFactory(merchant=other_merchant)

    with pytest.raises(Http404):
        selectors.shopper_get(merchant=merchant, public_id=theirs.public_id)
    with pytest.raises(Http404):
        selectors.shopper_profile(merchant=merchant, shopper=theirs)


# The profile


def test_profile_shows_current_consent_per_channel_and_purpose_and_the_full_history(merchant, owner, store):
    twins = make_twins(merchant, store)
    identity.shopper_merge(merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="x")

    profile = selectors.shopper_profile(merchant=merchant, shopper=twins.survivor)

    assert [(c.channel, c.purpose, c.is_granted) for c in profile.consents] == [
        ("email", "marketing", False),  # withdrawn later at checkout
        ("sms", "feedback", True),
    ]
    assert len(profile.consent_history) == 3
    assert [p.channel for p in profile.purchases] == ["online", "online", "in_store"]
    assert [item.name for item in profile.purchases[-1].line_items.all()] == ["Scarf"]
    assert len(profile.visits) == 2
    assert profile.preferences.sizes == ["M", "L"]
    assert profile.rollup.purchase_count == 3
    assert [merge.merged for merge in profile.merges] == [twins.merged]


def _profile_queries(merchant, shopper):
    with CaptureQueriesContext(connection) as queries:
        profile = selectors.shopper_profile(merchant=merchant, shopper=shopper)
        for purchase in profile.purchases:
            [item.name for item in purchase.line_items.all()]
            _ = purchase.store.name if purchase.store else None
        [visit.store.name for visit in profile.visits]
        [(merge.merged.display_name, merge.actor) for merge in profile.merges]
        _ = profile.rollup.last_store if profile.rollup else None
    return len(queries)


def test_profile_costs_a_fixed_number_of_queries_however_long_the_history(
    merchant, store, django_assert_max_num_queries
):
    shopper = ShopperFactory(merchant=merchant)
    ContactFactory(shopper=shopper)
    record_purchase(
        merchant, shopper, external_id="o0", amount=100, when=T0, store=store, items=[LineItemInput("Tee", 100)]
    )
    few = _profile_queries(merchant, shopper)

    for n in range(1, 30):
        record_purchase(
            merchant,
            shopper,
            external_id=f"o{n}",
            amount=100,
            when=T0 + timedelta(hours=n),
            store=StoreFactory(merchant=merchant),
            items=[LineItemInput("Tee", 100), LineItemInput("Socks", 50)],
        )
        ContactFactory(shopper=shopper)
        CardFactory(shopper=shopper)

    assert _profile_queries(merchant, shopper) == few
    # One query per section; the eleventh is the held signups (profiles.services.signup_holds).
    with django_assert_max_num_queries(11):
        _profile_queries(merchant, shopper)


# Duplicates


def test_duplicates_pair_a_similar_name_with_a_similar_contact_and_nothing_else(merchant, other_merchant):
    # same name, same email local part on another domain
    ada = ShopperFactory(merchant=merchant, first_name="Ada", last_name="Lovelace")
    ContactFactory(shopper=ada, value="ada.lovelace@example.com")
    ada_again = ShopperFactory(merchant=merchant, first_name=" ADA", last_name="lovelace")
    ContactFactory(shopper=ada_again, value="Ada.Lovelace+shop@mail.example", is_verified=False)
    # same name, same phone written from abroad, and the same birthday
    alan = ShopperFactory(merchant=merchant, first_name="Alan", last_name="Turing", birthday=date(1912, 6, 23))
    ContactFactory(shopper=alan, kind="phone", value="+441619460123")
    alan_again = ShopperFactory(merchant=merchant, first_name="Alan", last_name="Turing", birthday=date(1912, 6, 23))
    ContactFactory(shopper=alan_again, kind="phone", value="+4407419460123")
    # same name, same birthday, no contact in common
    ShopperFactory(merchant=merchant, first_name="Mary", last_name="Shelley", birthday=date(1797, 8, 30))
    ShopperFactory(merchant=merchant, first_name="Mary", last_name="Shelley", birthday=date(1797, 8, 30))
    # not duplicates: same name only; similar email, other name; merged already; another merchant
    john = ShopperFactory(merchant=merchant, first_name="John", last_name="Smith")
    ContactFactory(shopper=john, value="john@a.example")
    ContactFactory(
        shopper=ShopperFactory(merchant=merchant, first_name="John", last_name="Smith"), value="js@b.example"
    )
    ContactFactory(
        shopper=ShopperFactory(merchant=merchant, first_name="Ada", last_name="King"), value="ada.lovelace@c.example"
    )
    ContactFactory(
        shopper=ShopperFactory(
            merchant=merchant, first_name="Ada", last_name="Lovelace", status=ShopperStatus.MERGED, merged_into=ada
        ),
        value="ada.lovelace@d.example",
        is_verified=False,
    )
    ContactFactory(
        shopper=ShopperFactory(merchant=other_merchant, first_name="Ada", last_name="Lovelace"),
        value="ada.lovelace@e.example",
    )

    pairs = selectors.duplicate_candidates(merchant=merchant)

    assert sorted((p.first.first_name.strip().lower(), p.reason_codes) for p in pairs) == [
        ("ada", ["name", "email_name"]),
        ("alan", ["name", "phone_tail", "birthday"]),
        ("mary", ["name", "birthday"]),
    ]
    ada_pair = next(p for p in pairs if p.first == ada)
    assert ada_pair.second == ada_again
    assert [c.value for c in ada_pair.second.contacts.all()] == ["Ada.Lovelace+shop@mail.example"]


def test_duplicates_queue_is_a_fixed_number_of_queries(merchant, django_assert_num_queries):
    for n in range(6):
        for _ in range(2):
            ContactFactory(
                shopper=ShopperFactory(merchant=merchant, first_name="Twin", last_name=f"N{n}"),
                value=f"t{n}@x.example",
                is_verified=False,
            )

    with django_assert_num_queries(3):
        pairs = selectors.duplicate_candidates(merchant=merchant)
        [(c.value for c in pair.first.contacts.all()) for pair in pairs]

    assert len(pairs) == 6


# Export


def test_export_holds_everything_and_no_card_secret(merchant, owner, store):
    twins = make_twins(merchant, store)
    identity.shopper_merge(merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="x")

    twins.survivor.refresh_from_db()

    data = selectors.shopper_export(merchant=merchant, shopper=twins.survivor)

    text = json.dumps(data)  # plain JSON types only
    assert data["shopper"]["first_name"] == "Ada"
    assert data["shopper"]["birthday"] == "1815-12-10"
    assert {c["value"] for c in data["contacts"]} == {"ada@example.com", "+31612345678", "ada.l+shop@work.example"}
    assert [c["value"] for c in data["merged_profiles"][0]["contacts"]] == ["ada@example.com"]
    assert {(c["channel"], c["purpose"], c["is_granted"]) for c in data["consents"]["current"]} == {
        ("email", "marketing", False),
        ("sms", "feedback", True),
    }
    assert len(data["consents"]["history"]) == 3
    assert {c["number"] for c in data["cards"]} == {"•••• 4242", "•••• 1881"}
    for card in (twins.survivor_card, twins.merged_card):
        assert card.token not in text
        assert card.fingerprint not in text
    assert [(p["channel"], p["amount_minor"]) for p in data["purchases"]] == [
        ("in_store", 4500),
        ("online", 1999),
        ("online", 12000),
    ]
    assert data["purchases"][0]["line_items"][0]["name"] == "Scarf"
    assert data["purchases"][0]["store"] == "Main Street"
    assert len(data["visits"]) == 2
    assert data["preferences"]["colours"] == ["blue"]
    assert data["totals"]["total_minor"] == 18499
