"""Merging two profiles of one person, undoing it, exporting and erasing a shopper."""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from core.errors import ApplicationError, ConflictError, NotFoundError
from core.models import IdempotencyRecord
from merchants.models import AuditEvent
from profiles import selectors
from profiles.models import (
    Card,
    Channel,
    ConsentEvent,
    ConsentSource,
    ContactPoint,
    ErasedContact,
    MergeEvent,
    Purchase,
    Shopper,
    ShopperPreferences,
    ShopperRollup,
    ShopperStatus,
    StoreHourRollup,
    Visit,
    VisitSource,
)
from profiles.services import identity, rollups
from profiles.services.purchases import LineItemInput, PurchaseInput, purchase_record
from profiles.services.shoppers import (
    ConsentInput,
    ConsentOrigin,
    consent_record,
    contact_hmac,
    preferences_add,
)
from profiles.services.visits import visit_record
from tests.profiles.factories import CardFactory, ContactFactory, ShopperFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


@dataclass
class Twins:
    """Two profiles of Ada Lovelace, made at the kiosk and at online checkout."""

    survivor: Shopper
    merged: Shopper
    survivor_card: Card
    merged_card: Card


def record_purchase(merchant, shopper, *, external_id, amount, when, store=None, items=(), card=None):
    return purchase_record(
        merchant=merchant,
        data=PurchaseInput(
            external_id=external_id,
            amount_minor=amount,
            currency=merchant.currency,
            occurred_at=when,
            channel=Channel.IN_STORE if store else Channel.ONLINE,
            store=store,
            shopper=shopper,
            card_token=card.token if card else None,
            line_items=items,
        ),
    ).purchase


def make_twins(merchant, store) -> Twins:
    survivor = ShopperFactory(merchant=merchant, first_name="Ada", last_name="Lovelace")
    merged = ShopperFactory(merchant=merchant, first_name="ada", last_name="Lovelace ", birthday=date(1815, 12, 10))
    # The same address on both: verified only on the merged profile.
    ContactFactory(shopper=survivor, value="ada@example.com", is_verified=False)
    ContactFactory(shopper=survivor, kind="phone", value="+31612345678")
    ContactFactory(shopper=merged, value="ada@example.com", is_verified=True, verified_at=T0)
    ContactFactory(shopper=merged, value="ada.l+shop@work.example", is_verified=False)
    survivor_card = CardFactory(shopper=survivor, last_four="4242")
    merged_card = CardFactory(shopper=merged, last_four="1881")
    record_purchase(
        merchant,
        survivor,
        external_id="kiosk-1",
        amount=4500,
        when=T0,
        store=store,
        card=survivor_card,
        items=[LineItemInput(name="Scarf", unit_price_minor=4500, category="Accessories")],
    )
    record_purchase(merchant, survivor, external_id="web-1", amount=1999, when=T0 + timedelta(days=3))
    record_purchase(merchant, merged, external_id="web-2", amount=12000, when=T0 + timedelta(days=9), card=merged_card)
    visit_record(merchant=merchant, store=store, occurred_at=T0, source=VisitSource.WIFI, shopper=survivor)
    visit_record(merchant=merchant, store=store, occurred_at=T0 + timedelta(days=1), source="kiosk", shopper=merged)
    origin = ConsentOrigin(source=ConsentSource.KIOSK, reference="kiosk-7")
    consent_record(
        shopper=survivor, consents=[ConsentInput("email", "marketing", True, "v1")], origin=origin, occurred_at=T0
    )
    consent_record(
        shopper=merged,
        consents=[ConsentInput("email", "marketing", False, "v2"), ConsentInput("sms", "feedback", True, "v2")],
        origin=ConsentOrigin(source=ConsentSource.PAGE, reference="checkout"),
        occurred_at=T0 + timedelta(days=2),
    )
    preferences_add(shopper=survivor, preferences={"sizes": ["M"]})
    preferences_add(shopper=merged, preferences={"sizes": ["M", "L"], "colours": ["blue"]})
    return Twins(survivor=survivor, merged=merged, survivor_card=survivor_card, merged_card=merged_card)


@pytest.fixture
def twins(merchant, store):
    return make_twins(merchant, store)


def _rows(model, merchant, exclude=()):
    fields = [field.attname for field in model._meta.concrete_fields if field.attname not in exclude]
    return {row[0]: row for row in model.objects.filter(merchant=merchant).values_list("pk", *fields)}


def snapshot(merchant):
    """Every row a merge may touch, as plain values (timestamps the database bumps left out)."""
    return {
        "shoppers": _rows(Shopper, merchant, exclude={"updated_at"}),
        "contacts": _rows(ContactPoint, merchant),
        "consents": _rows(ConsentEvent, merchant),
        "preferences": _rows(ShopperPreferences, merchant, exclude={"updated_at"}),
        "cards": _rows(Card, merchant),
        "purchases": _rows(Purchase, merchant, exclude={"updated_at"}),
        "visits": _rows(Visit, merchant),
        "rollups": _rows(ShopperRollup, merchant, exclude={"changed_at"}),
        "store_hours": _rows(StoreHourRollup, merchant),
    }


def test_merge_moves_everything_to_the_survivor(merchant, owner, twins):
    survivor, merged = twins.survivor, twins.merged

    event = identity.shopper_merge(
        merchant=merchant, survivor=survivor, merged=merged, actor=owner, reason="Same person at kiosk and web"
    )

    merged.refresh_from_db()
    survivor.refresh_from_db()
    assert merged.status == ShopperStatus.MERGED
    assert merged.merged_into == survivor
    assert survivor.birthday == date(1815, 12, 10)  # filled in from the merged profile
    assert sorted(survivor.contacts.values_list("value", "is_verified")) == [
        ("+31612345678", True),
        ("ada.l+shop@work.example", False),
        ("ada@example.com", True),  # the verification moved with the person
    ]
    # the duplicate address stayed behind, no longer verified
    assert list(merged.contacts.values_list("value", "is_verified")) == [("ada@example.com", False)]
    assert set(survivor.cards.values_list("last_four", flat=True)) == {"4242", "1881"}
    assert survivor.purchases.count() == 3
    assert survivor.visits.count() == 2
    assert survivor.consent_events.count() == 3
    preferences = ShopperPreferences.objects.get(shopper=survivor)
    assert preferences.sizes == ["M", "L"]
    assert preferences.colours == ["blue"]
    rollup = ShopperRollup.objects.get(shopper=survivor)
    assert (rollup.purchase_count, rollup.total_minor, rollup.in_store_count) == (3, 18499, 1)
    assert not ShopperRollup.objects.filter(shopper=merged).exists()
    assert rollups.rollups_rebuild(merchant=merchant).total == 0
    # who, why, what moved
    assert event.actor == owner
    assert event.reason == "Same person at kiosk and web"
    assert len(event.moved["purchases"]) == 1
    assert len(event.moved["contacts"]) == 1
    audit = AuditEvent.objects.get(merchant=merchant, action="shopper.merged")
    assert audit.subject == str(survivor.public_id)
    assert audit.detail["moved"]["purchases"] == 1


def test_merge_then_undo_restores_every_row_exactly(merchant, owner, twins):
    before = snapshot(merchant)

    event = identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="Same person"
    )
    assert snapshot(merchant) != before
    identity.merge_undo(merchant=merchant, merge_event=event, actor=owner)

    assert snapshot(merchant) == before
    event.refresh_from_db()
    assert event.undone_by == owner
    assert event.undone_at is not None
    assert AuditEvent.objects.filter(merchant=merchant, action="shopper.merge_undone").count() == 1


def test_undo_keeps_what_arrived_after_the_merge_on_the_survivor(merchant, owner, twins):
    event = identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="Same person"
    )
    later = record_purchase(
        merchant, None, external_id="web-3", amount=700, when=T0 + timedelta(days=20), card=twins.merged_card
    )

    identity.merge_undo(merchant=merchant, merge_event=event, actor=owner)

    assert later.shopper == twins.survivor  # the card was the survivor's when it was used
    later.refresh_from_db()
    assert later.shopper_id == twins.survivor.pk
    assert rollups.rollups_rebuild(merchant=merchant).total == 0


def test_a_merge_is_undone_once(merchant, owner, twins):
    event = identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="Same person"
    )
    identity.merge_undo(merchant=merchant, merge_event=event, actor=owner)

    with pytest.raises(ConflictError) as error:
        identity.merge_undo(merchant=merchant, merge_event=event, actor=owner)

    assert error.value.code == "already_undone"


def test_undo_waits_for_a_later_merge_of_the_survivor_to_be_undone(merchant, owner, twins):
    first = identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="Same person"
    )
    third = ShopperFactory(merchant=merchant, first_name="Ada", last_name="Lovelace")
    second = identity.shopper_merge(merchant=merchant, survivor=third, merged=twins.survivor, actor=owner, reason="x")

    with pytest.raises(ConflictError):
        identity.merge_undo(merchant=merchant, merge_event=first, actor=owner)
    identity.merge_undo(merchant=merchant, merge_event=second, actor=owner)
    identity.merge_undo(merchant=merchant, merge_event=first, actor=owner)

    assert Shopper.objects.filter(merchant=merchant, status=ShopperStatus.ACTIVE).count() == 3


@pytest.mark.parametrize(
    ("change", "error_type", "code"),
    [
        ("same", ApplicationError, "same_shopper"),
        ("no_reason", ApplicationError, "reason_required"),
        ("already_merged", ConflictError, "shopper_inactive"),
        ("other_merchant", NotFoundError, "not_found"),
    ],
)
def test_merge_refusals_change_nothing(merchant, other_merchant, owner, twins, change, error_type, code):
    survivor, merged, reason = twins.survivor, twins.merged, "Same person"
    if change == "same":
        merged = survivor
    elif change == "no_reason":
        reason = "  "
    elif change == "already_merged":
        Shopper.all_merchants.filter(pk=merged.pk).update(status=ShopperStatus.MERGED, merged_into=survivor)
    elif change == "other_merchant":
        merged = ShopperFactory(merchant=other_merchant, first_name="Ada", last_name="Lovelace")
    before = snapshot(merchant)

    with pytest.raises(error_type) as error:
        identity.shopper_merge(merchant=merchant, survivor=survivor, merged=merged, actor=owner, reason=reason)

    assert error.value.code == code
    assert snapshot(merchant) == before
    assert not MergeEvent.all_merchants.exists()


# Erasure


def test_erasure_removes_every_personal_detail_and_keeps_the_figures(merchant, owner, twins, store):
    shopper = twins.merged
    purchase = shopper.purchases.get()
    IdempotencyRecord.objects.create(
        merchant=merchant,
        key="k1",
        request_hash="h",
        response_status=201,
        response_body={"shopper": {"id": str(shopper.public_id), "first_name": "ada"}},
    )
    IdempotencyRecord.objects.create(
        merchant=merchant, key="k2", request_hash="h", response_status=201, response_body={"id": "someone-else"}
    )
    store_hours_before = _rows(StoreHourRollup, merchant)
    rollup_before = _rows(ShopperRollup, merchant)[shopper.pk]
    token = twins.merged_card.token

    identity.shopper_erase(merchant=merchant, shopper=shopper, actor=owner, reason="Shopper asked by email")

    shopper.refresh_from_db()
    assert shopper.status == ShopperStatus.ERASED
    assert shopper.erased_at is not None
    assert (shopper.first_name, shopper.last_name, shopper.birthday) == ("", "", None)
    assert shopper.display_name == "Erased shopper"
    assert not ContactPoint.objects.filter(shopper=shopper).exists()
    assert not Card.all_merchants.filter(token=token).exists()
    assert not ShopperPreferences.objects.filter(shopper=shopper).exists()
    # search by anything they were known by finds nothing
    for query in ("ada", "Lovelace", "ada.l", "work.example", "1881"):
        assert shopper not in selectors.shopper_search(merchant=merchant, query=query)
    # suppression still works
    for kind, value in (("email", "ada@example.com"), ("email", "ada.l+shop@work.example")):
        assert ErasedContact.objects.filter(merchant=merchant, kind=kind, value_hmac=contact_hmac(kind, value)).exists()
    # purchases and visits stay, anonymous, and every figure is unchanged
    purchase.refresh_from_db()
    assert purchase.shopper_id == shopper.pk
    assert purchase.card_id is None
    assert shopper.visits.count() == 1
    assert _rows(ShopperRollup, merchant)[shopper.pk] == rollup_before
    assert _rows(StoreHourRollup, merchant) == store_hours_before
    assert rollups.rollups_rebuild(merchant=merchant).total == 0
    # stored responses naming them are gone (raw payment events: tests/payments/test_tasks.py)
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k2"]
    # the survivor twin is untouched
    assert twins.survivor.contacts.count() == 2
    audit = AuditEvent.objects.get(merchant=merchant, action="shopper.erased")
    assert audit.subject == str(shopper.public_id)
    assert audit.detail["reason"] == "Shopper asked by email"
    assert "ada" not in json.dumps(audit.detail).lower()


def test_erasing_a_survivor_erases_the_profiles_merged_into_it(merchant, owner, twins):
    event = identity.shopper_merge(
        merchant=merchant, survivor=twins.survivor, merged=twins.merged, actor=owner, reason="Same person"
    )

    identity.shopper_erase(merchant=merchant, shopper=twins.survivor, actor=owner, reason="Asked at the till")

    assert not ContactPoint.objects.filter(merchant=merchant).exists()
    assert not Shopper.objects.filter(merchant=merchant).exclude(first_name="").exists()
    assert not Shopper.objects.filter(merchant=merchant, birthday__isnull=False).exists()
    assert ErasedContact.objects.filter(merchant=merchant).count() == 3
    with pytest.raises(ConflictError):
        identity.merge_undo(merchant=merchant, merge_event=event, actor=owner)


@pytest.mark.parametrize("status", [ShopperStatus.ERASED, ShopperStatus.MERGED])
def test_erasure_is_refused_for_an_erased_or_merged_profile(merchant, owner, twins, status):
    Shopper.all_merchants.filter(pk=twins.merged.pk).update(status=status, merged_into=twins.survivor)

    with pytest.raises(ConflictError):
        identity.shopper_erase(merchant=merchant, shopper=twins.merged, actor=owner, reason="Asked")

    assert ContactPoint.objects.filter(shopper=twins.merged).count() == 2


def test_export_is_logged(merchant, owner, twins):
    data = identity.shopper_export_record(merchant=merchant, shopper=twins.survivor, actor=owner)

    assert data["shopper"]["id"] == str(twins.survivor.public_id)
    audit = AuditEvent.objects.get(merchant=merchant, action="shopper.exported")
    assert (audit.actor, audit.subject) == (owner, str(twins.survivor.public_id))
