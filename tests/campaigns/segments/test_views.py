"""The segment pages: roles, tenancy, the live count, the builder, saving, snapshots and CSV."""

import csv
import io

import pytest
from django.urls import reverse

from campaigns.models import Segment
from campaigns.segments import services
from insights import services as insights
from merchants.models import AuditEvent
from merchants.permissions import Role
from profiles.models import Shopper

ENGLISH = {"match": "all", "conditions": [{"field": "language", "op": "in", "value": ["en"]}]}


def _form(*rows, name="English speakers", match="all", **extra):
    """POST data as the builder sends it: rows of inputs under c<i>- prefixes."""
    data = {"name": name, "description": "", "match": match, "row": [], **extra}
    for index, inputs in enumerate(rows):
        data["row"].append(str(index))
        for key, value in inputs.items():
            data[f"c{index}-{key}"] = value
    return data


def _count_of(response):
    text = response.content.decode()
    start = text.index("data-audience-count>") + len("data-audience-count>")
    return int(text[start : text.index("<", start)].replace(",", ""))


@pytest.fixture
def segment(population):
    return services.segment_create(merchant=population.merchant, actor=None, name="English", rules=ENGLISH)


# Roles and tenancy


@pytest.mark.parametrize(
    ("role", "can_see", "can_manage"),
    [
        (Role.OWNER, True, True),
        (Role.MANAGER, True, True),
        (Role.ANALYST, True, False),
        (Role.STORE_STAFF, False, False),
    ],
)
def test_each_role_sees_and_changes_what_it_may(
    population, segment, user_for_role, client_for, role, can_see, can_manage
):
    client = client_for(user_for_role(role))
    see = 200 if can_see else 403
    manage = 200 if can_manage else 403
    assert client.get(reverse("segments:segment_list")).status_code == see
    assert client.get(reverse("segments:segment_detail", args=[segment.pk])).status_code == see
    assert client.post(reverse("segments:audience_count"), _form()).status_code == see
    assert client.get(reverse("segments:segment_create")).status_code == manage
    export = client.get(reverse("segments:segment_export", args=[segment.pk]))
    assert export.status_code == manage
    saved = client.post(reverse("segments:segment_detail", args=[segment.pk]), _form(name="Renamed"))
    assert saved.status_code == (302 if can_manage else 403)
    frozen = client.post(reverse("segments:snapshot_create", args=[segment.pk]))
    assert frozen.status_code == (302 if can_manage else 403)
    segment.refresh_from_db()
    assert (segment.name == "Renamed") is can_manage
    assert segment.snapshots.exists() is can_manage


def test_an_analyst_sees_the_builder_without_a_save_button(population, segment, analyst, client_for):
    page = client_for(analyst).get(reverse("segments:segment_detail", args=[segment.pk])).content.decode()
    assert "Add a condition" in page
    assert "Save segment" not in page
    assert "Download" not in page


def test_another_merchants_segment_and_snapshot_are_not_found(population, segment, outsider_client):
    snapshot = services.snapshot_create(segment=segment, actor=None)
    for response in (
        outsider_client.get(reverse("segments:segment_detail", args=[segment.pk])),
        outsider_client.post(reverse("segments:segment_detail", args=[segment.pk]), _form(name="Mine now")),
        outsider_client.post(reverse("segments:snapshot_create", args=[segment.pk])),
        outsider_client.get(reverse("segments:segment_export", args=[segment.pk])),
        outsider_client.get(reverse("segments:snapshot_export", args=[snapshot.pk])),
    ):
        assert response.status_code == 404
    segment.refresh_from_db()
    assert segment.name == "English"
    assert segment.snapshots.count() == 1
    # and their list shows none of ours
    assert "English" not in outsider_client.get(reverse("segments:segment_list")).content.decode()


def test_the_list_shows_each_segment_with_its_live_count(population, segment, owner_client):
    page = owner_client.get(reverse("segments:segment_list")).content.decode()
    assert "English" in page
    assert f'data-segment-count="{segment.pk}">2<' in page


# The live count (htmx)


def test_the_count_follows_the_rules_as_typed_without_saving(population, owner_client):
    url = reverse("segments:audience_count")
    assert _count_of(owner_client.post(url, _form(), HTTP_HX_REQUEST="true")) == 4
    english = {"field": "language", "op": "in", "values": ["en"]}
    assert _count_of(owner_client.post(url, _form(english), HTTP_HX_REQUEST="true")) == 2
    korean_or_lapsed = _form(
        {"field": "language", "op": "in", "values": ["ko"]},
        {"field": "lifecycle_stage", "op": "in", "values": ["lapsed"]},
        match="any",
    )
    assert _count_of(owner_client.post(url, korean_or_lapsed, HTTP_HX_REQUEST="true")) == 2
    money = {"field": "total_spend", "op": "gte", "amount": "90.00"}
    assert _count_of(owner_client.post(url, _form(money), HTTP_HX_REQUEST="true")) == 2  # ann, cat
    spend = {"field": "category_spend", "op": "gte", "amount": "100", "category": "Shoes", "days": "30"}
    assert _count_of(owner_client.post(url, _form(spend), HTTP_HX_REQUEST="true")) == 1  # ann
    assert not Segment.all_merchants.exists()


def test_the_count_names_what_is_incomplete(population, owner_client):
    response = owner_client.post(
        reverse("segments:audience_count"),
        _form({"field": "language", "op": "in"}, {"field": "rfm_recency", "op": "gte", "number": "9"}),
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Not counted yet" in page
    assert "Condition 1: Choose at least one language." in page
    assert "Condition 2: Give a number of at most 5." in page
    # each row's own message is swapped in out of band
    assert 'id="condition-0-errors" role="alert" hx-swap-oob="true"><li>Choose at least one language.' in page


def test_the_builder_adds_removes_and_refields_rows(population, owner_client):
    url = reverse("segments:builder_rows")
    english = {"field": "language", "op": "in", "values": ["en"]}
    added = owner_client.post(url, _form(english, action="add"), HTTP_HX_REQUEST="true").content.decode()
    assert added.count('class="condition"') == 2
    assert 'name="c1-field"' in added
    assert "Choose at least one" not in added.split('id="audience-count"')[0]  # a new row is not wrong yet
    assert 'hx-swap-oob="innerHTML"' in added

    two = _form(english, {"field": "language", "op": "in", "values": ["ko"]}, match="any")
    removed = owner_client.post(url, {**two, "action": "remove", "target_row": "0"}, HTTP_HX_REQUEST="true")
    page = removed.content.decode()
    assert page.count('class="condition"') == 1
    assert _count_of(removed) == 1  # ben

    refielded = owner_client.post(
        url,
        _form({"field": "points_balance", "op": "in", "values": ["en"]}, action="field", target_row="0"),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert '<option value="gte" selected>' in refielded
    assert 'name="c0-number" value=""' in refielded


# Saving


def test_saving_a_new_segment(population, owner, owner_client):
    response = owner_client.post(
        reverse("segments:segment_create"),
        _form({"field": "consented_channel", "op": "granted", "channel": "email"}, name="Email consent"),
    )
    segment = Segment.objects.get(merchant=population.merchant, name="Email consent")
    assert response.status_code == 302
    assert response["Location"] == reverse("segments:segment_detail", args=[segment.pk])
    assert segment.rules == {
        "match": "all",
        "conditions": [{"field": "consented_channel", "op": "granted", "value": "email"}],
    }
    assert segment.created_by == owner


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"field": "shoe_size", "op": "in"}, "Unknown field"),
        ({"field": "language", "op": "gte", "values": ["en"]}, "does not apply to language"),
        ({"field": "points_balance", "op": "gte", "number": "lots"}, "Give a number as a whole number."),
        ({"field": "total_spend", "op": "gte", "amount": "12.345"}, "Give an amount as a whole number."),
        ({"field": "tier", "op": "in", "values": ["999999"]}, "Not a loyalty tier of this merchant"),
    ],
)
def test_bad_rules_are_a_form_error_and_nothing_is_saved(population, owner_client, row, message):
    response = owner_client.post(reverse("segments:segment_create"), _form(row))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Segment.all_merchants.exists()


def test_a_missing_or_taken_name_is_a_form_error(population, segment, owner_client):
    english = {"field": "language", "op": "in", "values": ["en"]}
    assert owner_client.post(reverse("segments:segment_create"), _form(english, name="")).status_code == 400
    taken = owner_client.post(reverse("segments:segment_create"), _form(english, name="english"))
    assert taken.status_code == 400
    assert "There is already a segment named" in taken.content.decode()
    assert Segment.all_merchants.count() == 1


def test_an_existing_segment_opens_with_its_rules_filled_in(population, owner_client):
    rules = {
        "match": "any",
        "conditions": [
            {"field": "category_spend", "op": "gte", "value": {"category": "Shoes", "amount_minor": 12550, "days": 30}},
            {"field": "store_visited", "op": "visited", "value": {"store": population.harbour.pk, "days": None}},
        ],
    }
    segment = services.segment_create(merchant=population.merchant, actor=None, name="Shoes", rules=rules)
    page = owner_client.get(reverse("segments:segment_detail", args=[segment.pk])).content.decode()
    assert 'name="c0-amount" value="125.5"' in page
    assert 'name="c0-category" value="Shoes"' in page
    assert f'<option value="{population.harbour.pk}" selected>Harbour</option>' in page
    assert '<option value="any" selected>' in page


# Snapshots and CSV


def _csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_of_a_segment(population, segment, owner, owner_client):
    response = owner_client.get(reverse("segments:segment_export", args=[segment.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="segment-{segment.pk}-')
    header, *rows = _csv(response)
    assert header == [
        "public_id",
        "name",
        "email",
        "phone",
        "language",
        "lifecycle_stage",
        "last_purchase_at",
        "total_spend_minor",
        "currency",
    ]
    ann, dan = population.shoppers["ann"], population.shoppers["dan"]
    ann.refresh_from_db()
    assert rows == [
        [
            str(ann.public_id),
            "Ann Example",
            "ann@example.com",
            "",
            "en",
            "regular",
            ann.rollup.last_purchase_at.isoformat(),
            "20000",
            "EUR",
        ],
        [str(dan.public_id), "Dan Example", "dan@example.com", "", "en", "", "", "0", "EUR"],
    ]
    event = AuditEvent.objects.get(merchant=population.merchant, action="segments.exported")
    assert event.actor == owner
    assert event.detail == {"segment_id": segment.pk, "snapshot_id": None}


def test_csv_quotes_what_a_spreadsheet_would_run(population, segment, owner_client):
    Shopper.all_merchants.filter(pk=population.shoppers["ann"].pk).update(first_name="=HYPERLINK(1)")
    _header, *rows = _csv(owner_client.get(reverse("segments:segment_export", args=[segment.pk])))
    assert rows[0][1] == "'=HYPERLINK(1) Example"


def test_a_snapshot_is_frozen_from_the_page_and_exports_its_members(population, segment, owner_client):
    response = owner_client.post(reverse("segments:snapshot_create", args=[segment.pk]), {"name": "Spring send"})
    assert response.status_code == 302
    snapshot = segment.snapshots.get()
    assert (snapshot.name, snapshot.shopper_count) == ("Spring send", 2)
    page = owner_client.get(reverse("segments:segment_detail", args=[segment.pk])).content.decode()
    assert "Spring send" in page
    # later, dan switches language: the snapshot's CSV still holds him
    Shopper.all_merchants.filter(pk=population.shoppers["dan"].pk).update(language="ko")
    _header, *rows = _csv(owner_client.get(reverse("segments:snapshot_export", args=[snapshot.pk])))
    assert [row[1] for row in rows] == ["Ann Example", "Dan Example"]
    assert AuditEvent.all_merchants.filter(action="segments.exported", detail__snapshot_id=snapshot.pk).exists()


def test_the_category_input_suggests_categories_sold_lately(population, owner_client):
    insights.insights_refresh(merchant=population.merchant, now=population.now, force=True)
    page = owner_client.post(
        reverse("segments:builder_rows"),
        _form({"field": "category_spend", "op": "gte"}, action="field", target_row="0"),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert '<datalist id="categories-0"><option value="Shirts"><option value="Shoes"></datalist>' in page
