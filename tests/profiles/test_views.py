"""The shopper pages: search, profile, duplicates, merge and undo, export and erasure."""

import json

import pytest
from django.urls import reverse

from core.templatetags.money import money
from merchants.models import AuditEvent
from merchants.permissions import PERMISSIONS, Role
from profiles.models import ContactPoint, ErasedContact, MergeEvent, Shopper, ShopperStatus
from profiles.services import identity
from tests.profiles.factories import ContactFactory, ShopperFactory
from tests.profiles.test_identity import make_twins, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(merchant, store):
    return make_twins(merchant, store)


def _detail(shopper):
    return reverse("profiles:shopper_detail", args=[shopper.public_id])


def _merge_post(twins, keep="first", reason="Same person at kiosk and web"):
    return {"first": twins.survivor.public_id, "second": twins.merged.public_id, "keep": keep, "reason": reason}


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("profiles:shopper_list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# Who may do what


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    ("page", "permission"),
    [
        ("list", "shoppers.view"),
        ("detail", "shoppers.view"),
        ("duplicates", "shoppers.view"),
        ("erase", "shoppers.manage"),
    ],
)
def test_each_role_opens_the_pages_of_its_permissions(role, page, permission, user_for_role, client_for, twins):
    url = {
        "list": reverse("profiles:shopper_list"),
        "detail": _detail(twins.survivor),
        "duplicates": reverse("profiles:duplicate_list"),
        "erase": reverse("profiles:shopper_erase", args=[twins.survivor.public_id]),
    }[page]

    response = client_for(user_for_role(role)).get(url)

    assert response.status_code == (200 if role in PERMISSIONS[permission][0] else 403)


@pytest.mark.parametrize("role", [Role.ANALYST, Role.STORE_STAFF])
def test_viewers_can_look_but_not_merge_erase_or_export(role, user_for_role, client_for, twins, merchant):
    client = client_for(user_for_role(role))
    event = identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=None, reason="Same person"
    )
    before = snapshot(merchant)

    detail = client.get(_detail(twins.survivor)).content.decode()
    responses = [
        client.post(reverse("profiles:shopper_merge"), _merge_post(twins)),
        client.post(reverse("profiles:merge_undo", args=[event.pk])),
        client.post(reverse("profiles:shopper_export", args=[twins.survivor.public_id])),
        client.post(
            reverse("profiles:shopper_erase", args=[twins.survivor.public_id]), {"reason": "x", "confirm": "on"}
        ),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403, 403]
    assert snapshot(merchant) == before
    assert not AuditEvent.all_merchants.filter(action__in=["shopper.exported", "shopper.erased"]).exists()
    # and the page offers them no such buttons
    assert "Erase this shopper" not in detail
    assert "Download their data" not in detail
    assert reverse("profiles:merge_undo", args=[event.pk]) not in detail


# Tenant isolation


@pytest.fixture
def their_merge(twins, merchant):
    return identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=None, reason="Same person"
    )


ROUTES = [
    ("get", lambda t, e: _detail(t.survivor), None),
    ("get", lambda t, e: _detail(t.merged), None),
    ("post", lambda t, e: reverse("profiles:shopper_export", args=[t.survivor.public_id]), None),
    ("get", lambda t, e: reverse("profiles:shopper_erase", args=[t.survivor.public_id]), None),
    (
        "post",
        lambda t, e: reverse("profiles:shopper_erase", args=[t.survivor.public_id]),
        {"reason": "Hijack", "confirm": "on"},
    ),
    ("post", lambda t, e: reverse("profiles:merge_undo", args=[e.pk]), None),
    (
        "post",
        lambda t, e: reverse("profiles:shopper_merge"),
        lambda t: {"first": t.survivor.public_id, "second": t.third.public_id, "keep": "second", "reason": "x"},
    ),
]


@pytest.mark.parametrize(("method", "url", "data"), ROUTES)
def test_outsider_gets_404_on_every_shopper_route_and_nothing_changes(
    method, url, data, twins, their_merge, merchant, outsider_client
):
    twins.third = ShopperFactory(merchant=merchant, first_name="Ada", last_name="Lovelace")
    before = snapshot(merchant)

    response = getattr(outsider_client, method)(url(twins, their_merge), data(twins) if callable(data) else data)

    assert response.status_code == 404
    assert snapshot(merchant) == before
    assert MergeEvent.all_merchants.get().undone_at is None
    assert not AuditEvent.all_merchants.filter(action__in=["shopper.exported", "shopper.erased"]).exists()


def test_outsider_lists_only_their_own_shoppers(twins, outsider_client, other_merchant):
    ShopperFactory(merchant=other_merchant, first_name="Zelda", last_name="Fitzgerald")

    page = outsider_client.get(reverse("profiles:shopper_list")).content.decode()
    duplicates = outsider_client.get(reverse("profiles:duplicate_list")).content.decode()

    assert "Zelda" in page
    assert "Lovelace" not in page
    assert "Lovelace" not in duplicates


# Search


@pytest.mark.parametrize("query", ["lovelace", "ada@example.com", "+31 6 1234 5678", "06 12345678", "4242"])
def test_search_page_finds_by_name_email_phone_and_last_four(owner_client, twins, merchant, query):
    ShopperFactory(merchant=merchant, first_name="Alan", last_name="Turing")

    page = owner_client.get(reverse("profiles:shopper_list"), {"q": query}).content.decode()

    assert _detail(twins.survivor) in page
    assert "Turing" not in page


def test_live_search_returns_the_table_fragment_only(owner_client, twins):
    response = owner_client.get(reverse("profiles:shopper_list"), {"q": "1881"}, HTTP_HX_REQUEST="true")

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    assert "<table>" in fragment
    assert _detail(twins.merged) in fragment
    assert _detail(twins.survivor) not in fragment
    assert "1 shopper match" in fragment


def test_search_page_has_a_labelled_search_box_and_pages(owner_client, merchant):
    for _ in range(30):
        ShopperFactory(merchant=merchant)

    page = owner_client.get(reverse("profiles:shopper_list")).content.decode()
    second = owner_client.get(reverse("profiles:shopper_list"), {"page": 2}).content.decode()

    assert '<label for="id_q">Search shoppers</label>' in page
    assert 'role="search"' in page
    assert "Page 1 of 2" in page
    assert "Page 2 of 2" in second


# The profile page


def test_profile_page_shows_everything_and_marks_in_store_and_online(owner_client, twins, merchant, owner):
    identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="Same person"
    )

    page = owner_client.get(_detail(twins.survivor)).content.decode()

    assert "<h1>Ada Lovelace</h1>" in page
    assert "10 December 1815" in page
    assert "ada.l+shop@work.example" in page
    assert "···· 1881" in page
    assert twins.merged_card.token not in page
    assert "Withdrawn" in page  # email marketing, the latest decision
    assert "Full consent history (3 decisions)" in page
    assert page.count('class="badge badge-in-store">In store</span> Main Street') == 1
    assert page.count('class="badge badge-online">Online</span>') == 2
    assert "1 × Scarf" in page
    assert money(4500, "EUR") in page
    assert money(18499, "EUR") in page
    # 09:30 UTC in May is 11:30 in Amsterdam, the merchant's time zone
    assert "Mon 4 May 2026, 11:30" in page
    assert "Same person" in page  # the merge, with its undo
    assert reverse("profiles:merge_undo", args=[MergeEvent.all_merchants.get().pk]) in page


def test_profile_page_query_count_is_bounded(owner_client, twins, merchant, owner, django_assert_max_num_queries):
    identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="Same person"
    )

    with django_assert_max_num_queries(20):
        response = owner_client.get(_detail(twins.survivor))

    assert response.status_code == 200


def test_merged_profile_points_to_the_survivor(owner_client, twins, merchant):
    identity.shopper_merge(merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=None, reason="x")

    page = owner_client.get(_detail(twins.merged)).content.decode()

    assert "This profile was merged into" in page
    assert _detail(twins.survivor) in page


def test_money_filter_uses_the_currency_minor_unit():
    assert money(123456, "EUR") == "€1,234.56"
    assert money(1500, "JPY") == "¥1,500"
    assert money(1500, "KWD") == "KWD\u00a01.500"
    assert money(5, "CHF") == "CHF\u00a00.05"


# Duplicates, merge and undo


def test_duplicates_page_lists_the_pair_and_not_unrelated_shoppers(owner_client, twins, merchant):
    ContactFactory(shopper=ShopperFactory(merchant=merchant, first_name="Alan", last_name="Turing"), value="a@x.test")
    ContactFactory(shopper=ShopperFactory(merchant=merchant, first_name="Alan", last_name="Turing"), value="b@y.test")

    page = owner_client.get(reverse("profiles:duplicate_list")).content.decode()

    assert page.count("<article") == 1
    assert "same email address" in page
    assert _detail(twins.survivor) in page and _detail(twins.merged) in page
    assert "Turing" not in page
    assert "<legend>Keep which profile?</legend>" in page


def test_merge_and_undo_from_the_pages_restore_the_original_state(owner_client, owner, twins, merchant):
    before = snapshot(merchant)

    merged = owner_client.post(reverse("profiles:shopper_merge"), _merge_post(twins, keep="second"))

    assert merged.status_code == 302
    assert merged.url == _detail(twins.merged)  # the kept profile
    event = MergeEvent.all_merchants.get()
    assert (event.survivor, event.merged, event.actor) == (twins.merged, twins.survivor, owner)
    assert event.reason == "Same person at kiosk and web"
    assert Shopper.all_merchants.get(pk=twins.survivor.pk).status == ShopperStatus.MERGED
    assert "<article" not in owner_client.get(reverse("profiles:duplicate_list")).content.decode()

    undone = owner_client.post(reverse("profiles:merge_undo", args=[event.pk]))
    again = owner_client.post(reverse("profiles:merge_undo", args=[event.pk]), follow=True)

    assert undone.status_code == 302
    assert snapshot(merchant) == before
    assert "already undone" in again.content.decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [({"reason": ""}, "This field is required"), ({"keep": "both"}, "Select a valid choice")],
)
def test_a_bad_merge_request_merges_nothing_and_says_why(owner_client, twins, merchant, change, message):
    before = snapshot(merchant)

    response = owner_client.post(reverse("profiles:shopper_merge"), {**_merge_post(twins), **change}, follow=True)

    assert "Nothing was merged" in response.content.decode()
    assert message in response.content.decode()
    assert snapshot(merchant) == before


# Export and erasure


def test_export_downloads_everything_held_and_is_logged(client_for, manager, twins, merchant):
    response = client_for(manager).post(reverse("profiles:shopper_export", args=[twins.survivor.public_id]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="shopper-{twins.survivor.public_id}.json"'
    data = json.loads(response.content)
    assert {c["value"] for c in data["contacts"]} == {"ada@example.com", "+31612345678"}
    assert data["consents"]["current"][0]["is_granted"] is True
    assert data["cards"][0]["number"] == "•••• 4242"
    assert twins.survivor_card.token not in response.content.decode()
    assert {p["channel"] for p in data["purchases"]} == {"in_store", "online"}
    audit = AuditEvent.objects.get(merchant=merchant, action="shopper.exported")
    assert (audit.actor, audit.subject) == (manager, str(twins.survivor.public_id))


def test_export_is_post_only(owner_client, twins):
    response = owner_client.get(reverse("profiles:shopper_export", args=[twins.survivor.public_id]))

    assert response.status_code == 405
    assert not AuditEvent.all_merchants.filter(action="shopper.exported").exists()


def test_erasure_asks_for_confirmation_first(owner_client, twins, merchant):
    url = reverse("profiles:shopper_erase", args=[twins.merged.public_id])
    before = snapshot(merchant)

    confirm_page = owner_client.get(url).content.decode()
    unconfirmed = owner_client.post(url, {"reason": "Asked by email"})

    assert "Erasure cannot be undone" in confirm_page
    assert '<label for="id_reason">' in confirm_page
    assert unconfirmed.status_code == 400
    assert snapshot(merchant) == before


def test_erasure_leaves_no_personal_data_and_keeps_the_figures(owner_client, twins, merchant):
    shopper = twins.merged
    survivor_total = owner_client.get(reverse("profiles:shopper_list")).content.decode()

    response = owner_client.post(
        reverse("profiles:shopper_erase", args=[shopper.public_id]), {"reason": "Asked by email", "confirm": "on"}
    )

    assert response.status_code == 302
    page = owner_client.get(_detail(shopper)).content.decode()
    assert "<h1>Erased shopper</h1>" in page
    for personal in ("10 December 1815", "ada.l+shop@work.example", "1881", twins.merged_card.token):
        assert personal not in page
    assert ContactPoint.objects.filter(shopper=shopper).count() == 0
    assert ErasedContact.objects.filter(merchant=merchant).count() == 2
    # search no longer finds them, but their purchase still counts
    for query in ("ada.l", "1881", "work.example"):
        listed = owner_client.get(reverse("profiles:shopper_list"), {"q": query}).content.decode()
        assert _detail(shopper) not in listed
    assert money(12000, "EUR") in page
    assert money(12000, "EUR") in survivor_total
    assert AuditEvent.objects.get(merchant=merchant, action="shopper.erased").detail["reason"] == "Asked by email"
    # a second erasure is refused and says why
    again = owner_client.post(
        reverse("profiles:shopper_erase", args=[shopper.public_id]), {"reason": "Again", "confirm": "on"}
    )
    assert again.status_code == 400
