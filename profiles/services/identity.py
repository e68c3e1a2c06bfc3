"""Identity: merging two profiles of one person (and undoing it), exporting and erasing a shopper.

A merge moves rows, it never copies or deletes them, and writes down every id it
moved in a MergeEvent, so an undo puts exactly those rows back. Erasure deletes
what identifies a person and keeps what the merchant's figures are made of.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from core.errors import ApplicationError, ConflictError, NotFoundError
from core.models import IdempotencyRecord
from merchants.models import Merchant, User
from merchants.services import audit_event_record
from profiles import selectors, signals
from profiles.models import (
    Card,
    ConsentEvent,
    ContactPoint,
    ErasedContact,
    MergeEvent,
    Purchase,
    Shopper,
    ShopperPreferences,
    ShopperStatus,
    Visit,
)
from profiles.services import rollups
from profiles.services.shoppers import PREFERENCE_FIELDS, contact_hmac

# Rows that belong to a shopper and move wholesale on a merge: MergeEvent.moved key -> model.
MOVED_ROWS: dict[str, type[Model]] = {
    "contacts": ContactPoint,
    "consent_events": ConsentEvent,
    "cards": Card,
    "purchases": Purchase,
    "visits": Visit,
}
# Survivor fields a merge fills in when blank, and that an undo empties again.
FILLABLE_FIELDS = ("first_name", "last_name", "birthday", "language", "home_store_id")


def _lock_shoppers(merchant: Merchant, shopper_ids: list[int]) -> dict[int, Shopper]:
    """Lock these shoppers in primary-key order (so two merges never deadlock) and return them fresh."""
    locked = Shopper.objects.for_merchant(merchant).select_for_update().filter(pk__in=shopper_ids).order_by("pk")
    shoppers = {shopper.pk: shopper for shopper in locked}
    if len(shoppers) != len(set(shopper_ids)):
        raise NotFoundError("No such shopper.", field="shopper")
    return shoppers


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Say why, so the team can tell later.", code="reason_required", field="reason")
    return reason


def _move_rows(model: type[Model], *, from_id: int, to_id: int, keep: Sequence[int] = ()) -> list[int]:
    """Give one shopper's rows (but those in `keep`) to another in one statement; return the ids that moved."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET shopper_id = %s WHERE shopper_id = %s AND NOT (id = ANY(%s)) RETURNING id",  # noqa: S608 - table from the model
            [to_id, from_id, list(keep)],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# Merge


@transaction.atomic
def shopper_merge(
    *, merchant: Merchant, survivor: Shopper, merged: Shopper, actor: User | None, reason: str
) -> MergeEvent:
    """Fold `merged` into `survivor`: its contacts, consent ledger, cards, purchases, visits and preferences.

    Then `shoppers_merged` is sent, in this transaction, so the apps above move what they own (loyalty
    points, message history) the same way; `merge_undo` sends `merge_undone` to move them back.

    A contact both profiles have stays where it is (on the merged profile); if only
    the merged profile's copy was verified, the verification moves to the survivor's.
    Both rollups are recomputed. Store-hour rollups do not change: every moved
    purchase was identified before and still is.
    """
    reason = _require_reason(reason)
    if survivor.merchant_id != merchant.pk or merged.merchant_id != merchant.pk:
        raise NotFoundError("No such shopper.", field="shopper")
    if survivor.pk == merged.pk:
        raise ApplicationError("A profile cannot be merged into itself.", code="same_shopper", field="shopper")
    locked = _lock_shoppers(merchant, [survivor.pk, merged.pk])
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    for shopper in (survivor, merged):
        if shopper.status != ShopperStatus.ACTIVE:
            raise ConflictError(
                f"{shopper.display_name} was already {shopper.get_status_display().lower()}.",
                code="shopper_inactive",
                field="shopper",
            )

    verifications = _verification_transfer(survivor=survivor, merged=merged)
    survivor_contacts = set(ContactPoint.objects.filter(shopper=survivor).values_list("kind", "value"))
    # A contact both have stays behind: a person's address is on their profile once.
    duplicate_contacts = [
        pk
        for pk, kind, value in ContactPoint.objects.filter(shopper=merged).values_list("pk", "kind", "value")
        if (kind, value) in survivor_contacts
    ]
    moved: dict[str, Any] = {
        key: _move_rows(
            model, from_id=merged.pk, to_id=survivor.pk, keep=duplicate_contacts if model is ContactPoint else ()
        )
        for key, model in MOVED_ROWS.items()
    }
    moved["contact_verifications"] = verifications
    moved["preferences"] = _preferences_union(survivor=survivor, merged=merged)
    moved["filled_fields"] = _fill_blanks(survivor=survivor, merged=merged)

    updated = Shopper.objects.filter(merchant=merged.merchant_id, pk=merged.pk, status=ShopperStatus.ACTIVE).update(
        status=ShopperStatus.MERGED, merged_into=survivor, updated_at=timezone.now()
    )
    if updated != 1:  # pragma: no cover - both rows are locked
        raise ConflictError("The profile changed while merging; try again.", code="merge_conflict")
    rollups.shopper_recompute(shopper_ids=[survivor.pk, merged.pk])

    event = MergeEvent.objects.create(
        merchant=merchant, survivor=survivor, merged=merged, actor=actor, reason=reason, moved=moved
    )
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="shopper.merged",
        subject=str(survivor.public_id),
        merged=str(merged.public_id),
        merge_event=event.pk,
        reason=reason,
        moved={key: len(moved[key]) for key in MOVED_ROWS},
    )
    signals.shoppers_merged.send(sender=Shopper, merchant=merchant, survivor=survivor, merged=merged, merge_event=event)
    return event


def _verification_transfer(*, survivor: Shopper, merged: Shopper) -> list[dict[str, Any]]:
    """Where both have a contact and only the merged one's is verified, verify the survivor's instead."""
    survivor_unverified = {
        (contact.kind, contact.value): contact
        for contact in ContactPoint.objects.filter(shopper=survivor, is_verified=False)
    }
    transfers = []
    for contact in ContactPoint.objects.filter(shopper=merged, is_verified=True).order_by("pk"):
        twin = survivor_unverified.get((contact.kind, contact.value))
        if twin is None:
            continue
        # One verified row per address: release it before claiming it.
        ContactPoint.objects.filter(merchant=contact.merchant_id, pk=contact.pk).update(
            is_verified=False, verified_at=None
        )
        ContactPoint.objects.filter(merchant=twin.merchant_id, pk=twin.pk).update(
            is_verified=True, verified_at=contact.verified_at
        )
        transfers.append(
            {
                "from": contact.pk,
                "to": twin.pk,
                "verified_at": contact.verified_at.isoformat() if contact.verified_at else None,
                "to_verified_at": twin.verified_at.isoformat() if twin.verified_at else None,
            }
        )
    return transfers


def _preferences_union(*, survivor: Shopper, merged: Shopper) -> dict[str, Any]:
    """The survivor gains what the merged profile's shopper told us; record exactly what was added."""
    rows = {
        row.shopper_id: row
        for row in ShopperPreferences.objects.select_for_update()
        .filter(merchant=survivor.merchant_id, shopper_id__in=[survivor.pk, merged.pk])
        .order_by("pk")
    }
    theirs, ours = rows.get(merged.pk), rows.get(survivor.pk)
    if theirs is None:
        return {}
    if ours is None:
        ShopperPreferences.objects.filter(merchant=theirs.merchant_id, pk=theirs.pk).update(shopper=survivor)
        return {"moved_row": theirs.pk}
    added: dict[str, list[str]] = {}
    for name in PREFERENCE_FIELDS:
        current = list(getattr(ours, name))
        additions = [value for value in dict.fromkeys(getattr(theirs, name)) if value not in current]
        if additions:
            setattr(ours, name, current + additions)
            added[name] = additions
    if added:
        ours.save(update_fields=[*added, "updated_at"])
    return {"added": added}


def _fill_blanks(*, survivor: Shopper, merged: Shopper) -> dict[str, Any]:
    """Fill the survivor's blank fields from the merged profile; return their former (blank) values."""
    filled = {
        name: getattr(survivor, name)
        for name in FILLABLE_FIELDS
        if getattr(survivor, name) in ("", None) and getattr(merged, name) not in ("", None)
    }
    if filled:
        Shopper.objects.filter(merchant=survivor.merchant_id, pk=survivor.pk).update(
            **{name: getattr(merged, name) for name in filled}
        )
    return filled


@transaction.atomic
def merge_undo(*, merchant: Merchant, merge_event: MergeEvent, actor: User | None) -> MergeEvent:
    """Put back exactly the rows a merge moved, and the merged profile as it was.

    Rows added to the survivor since the merge stay with it. Refused once undone, or
    when the survivor has since been merged or erased (undo that first).
    """
    if merge_event.merchant_id != merchant.pk:
        raise NotFoundError("No such merge.")
    event = MergeEvent.objects.select_for_update().get(merchant=merchant, pk=merge_event.pk)
    if event.undone_at is not None:
        raise ConflictError("This merge was already undone.", code="already_undone")
    locked = _lock_shoppers(merchant, [event.survivor_id, event.merged_id])
    survivor, merged = locked[event.survivor_id], locked[event.merged_id]
    if merged.status != ShopperStatus.MERGED or merged.merged_into_id != survivor.pk:
        raise ConflictError("The merged profile has changed since; it cannot be split off.", code="undo_conflict")
    if survivor.status != ShopperStatus.ACTIVE:
        raise ConflictError(
            f"The surviving profile was {survivor.get_status_display().lower()} since; that has to be undone first.",
            code="undo_conflict",
        )
    moved = event.moved
    for key, model in MOVED_ROWS.items():
        model._default_manager.filter(pk__in=moved.get(key, []), shopper=survivor).update(shopper=merged)
    for transfer in reversed(moved.get("contact_verifications", [])):
        ContactPoint.objects.filter(merchant=merchant, pk=transfer["to"]).update(
            is_verified=False, verified_at=_moment(transfer["to_verified_at"])
        )
        ContactPoint.objects.filter(merchant=merchant, pk=transfer["from"]).update(
            is_verified=True, verified_at=_moment(transfer["verified_at"])
        )
    _preferences_restore(survivor=survivor, merged=merged, record=moved.get("preferences", {}))
    if moved.get("filled_fields"):
        Shopper.objects.filter(merchant=merchant, pk=survivor.pk).update(**moved["filled_fields"])
    Shopper.objects.filter(merchant=merchant, pk=merged.pk).update(
        status=ShopperStatus.ACTIVE, merged_into=None, updated_at=timezone.now()
    )
    rollups.shopper_recompute(shopper_ids=[survivor.pk, merged.pk])

    event.undone_at, event.undone_by = timezone.now(), actor
    event.save(update_fields=["undone_at", "undone_by"])
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="shopper.merge_undone",
        subject=str(survivor.public_id),
        merged=str(merged.public_id),
        merge_event=event.pk,
    )
    signals.merge_undone.send(sender=Shopper, merchant=merchant, survivor=survivor, restored=merged, merge_event=event)
    return event


def _preferences_restore(*, survivor: Shopper, merged: Shopper, record: dict[str, Any]) -> None:
    if "moved_row" in record:
        ShopperPreferences.objects.filter(pk=record["moved_row"], shopper=survivor).update(shopper=merged)
        return
    added = record.get("added") or {}
    ours = ShopperPreferences.objects.select_for_update().filter(shopper=survivor).first()
    if ours is None or not added:
        return
    for name, values in added.items():
        setattr(ours, name, [value for value in getattr(ours, name) if value not in values])
    ours.save(update_fields=[*added, "updated_at"])


# Export and erasure


@transaction.atomic
def shopper_export_record(*, merchant: Merchant, shopper: Shopper, actor: User | None) -> dict[str, Any]:
    """Everything held about the shopper (see selectors.shopper_export), with the export logged."""
    data = selectors.shopper_export(merchant=merchant, shopper=shopper)
    audit_event_record(merchant=merchant, actor=actor, action="shopper.exported", subject=str(shopper.public_id))
    return data


@transaction.atomic
def shopper_erase(*, merchant: Merchant, shopper: Shopper, actor: User | None, reason: str) -> Shopper:
    """Delete what identifies the shopper; keep what the merchant's figures are made of.

    Gone: names, birthday, contacts (an HMAC of each is kept so a suppressed address
    stays suppressed), preferences, cards and their provider identities (purchases forget
    the card first), and stored API responses that named the shopper. Raw payment events
    of the shopper's purchases are scrubbed by payments' retention sweep within the hour.
    Profiles merged into this one are erased alike.
    Kept, on the now anonymous profile: purchases, visits and the consent ledger, so
    rollups, store-hour counts and proof of consent stay right.
    """
    reason = _require_reason(reason)
    if shopper.merchant_id != merchant.pk:
        raise NotFoundError("No such shopper.", field="shopper")
    shopper_ids = _with_merged_profiles(merchant, shopper.pk)
    locked = _lock_shoppers(merchant, shopper_ids)
    shopper = locked[shopper.pk]
    if shopper.status == ShopperStatus.ERASED:
        raise ConflictError("This shopper was already erased.", code="already_erased")
    if shopper.status == ShopperStatus.MERGED:
        raise ConflictError(
            "This profile was merged into another; erase that one and this goes with it.", code="shopper_merged"
        )

    contacts = ContactPoint.objects.for_merchant(merchant).filter(shopper_id__in=shopper_ids)
    ErasedContact.objects.bulk_create(
        [
            ErasedContact(merchant=merchant, kind=kind, value_hmac=contact_hmac(kind, value))
            for kind, value in contacts.values_list("kind", "value")
        ],
        ignore_conflicts=True,
    )
    cards = Card.objects.for_merchant(merchant).filter(shopper_id__in=shopper_ids)
    card_ids = list(cards.values_list("pk", flat=True))
    Purchase.objects.for_merchant(merchant).filter(card_id__in=card_ids).update(card=None)
    _forget_api_responses(merchant, public_ids=[str(locked[pk].public_id) for pk in shopper_ids])
    erased_contacts = contacts.delete()[0]
    erased_cards = cards.delete()[0]
    ShopperPreferences.objects.for_merchant(merchant).filter(shopper_id__in=shopper_ids).delete()
    now = timezone.now()
    Shopper.objects.filter(merchant=merchant, pk__in=shopper_ids).update(
        first_name="", last_name="", birthday=None, erased_at=now, updated_at=now
    )
    # Profiles merged into this one stay "merged", pointing here, out of every list.
    Shopper.objects.filter(merchant=merchant, pk=shopper.pk).update(status=ShopperStatus.ERASED)
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="shopper.erased",
        subject=str(shopper.public_id),
        reason=reason,
        contacts=erased_contacts,
        cards=erased_cards,
        merged_profiles=len(shopper_ids) - 1,
    )
    signals.shopper_erased.send(
        sender=Shopper, merchant=merchant, shopper_public_id=str(shopper.public_id), shopper_id=shopper.pk
    )
    shopper.refresh_from_db()
    return shopper


def _with_merged_profiles(merchant: Merchant, shopper_id: int) -> list[int]:
    """The shopper and every profile merged into it, directly or through another."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE family(id) AS (
                SELECT %(shopper)s::bigint
                UNION
                SELECT s.id FROM profiles_shopper s JOIN family f ON s.merged_into_id = f.id
                 WHERE s.merchant_id = %(merchant)s AND s.status = 'merged'
            )
            SELECT id FROM family ORDER BY id
            """,
            {"shopper": shopper_id, "merchant": merchant.pk},
        )
        return [row[0] for row in cursor.fetchall()]


def _forget_api_responses(merchant: Merchant, *, public_ids: list[str]) -> None:
    """Stored API responses (kept for idempotent replays) that describe the shopper go too."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DELETE FROM {IdempotencyRecord._meta.db_table}
             WHERE merchant_id = %(merchant)s AND response_body::text LIKE ANY(%(patterns)s)
            """,  # noqa: S608 - table from the model
            {"merchant": merchant.pk, "patterns": [f"%{public_id}%" for public_id in public_ids]},
        )
