"""Writes on segments: save rules, freeze snapshots, log exports (the scores rules filter on: `scores`)."""

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from campaigns.models import Segment, SegmentSnapshot
from campaigns.segments import compiler
from campaigns.segments.selectors import audience_queryset, audience_statement, scores_as_of
from core.errors import ApplicationError
from merchants.models import Merchant, User
from merchants.services import audit_event_record

# Scores older than this are brought up to date when a segment is saved (the periodic pass runs every minute).
SCORES_MAX_AGE = timedelta(minutes=15)


# Segments


def _check_name(*, merchant: Merchant, name: str, segment: Segment | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError("Give the segment a name.", field="name")
    if len(name) > Segment._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ApplicationError("Keep the name under 100 characters.", field="name")
    taken = Segment.objects.for_merchant(merchant).filter(name__iexact=name)
    if segment is not None:
        taken = taken.exclude(pk=segment.pk)
    if taken.exists():
        raise ApplicationError(f"There is already a segment named “{name}”.", code="duplicate", field="name")
    return name


def _save(segment: Segment, *, fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            segment.save(update_fields=fields)
    except IntegrityError as error:
        raise ApplicationError(
            f"There is already a segment named “{segment.name}”.", code="duplicate", field="name"
        ) from error


@transaction.atomic
def segment_create(*, merchant: Merchant, actor: User | None, name: str, rules: Any, description: str = "") -> Segment:
    """A new dynamic segment; the rules are checked (see compiler.rules_check) before anything is written."""
    checked = compiler.rules_check(merchant=merchant, rules=rules)
    segment = Segment(
        merchant=merchant,
        name=_check_name(merchant=merchant, name=name, segment=None),
        description=(description or "").strip()[:300],
        rules=checked,
        created_by=actor,
    )
    _save(segment)
    audit_event_record(merchant=merchant, actor=actor, action="segments.created", subject=segment.name, rules=checked)
    _refresh_scores_if_stale(merchant)
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, actor: User | None, name: str, rules: Any, description: str = "") -> Segment:
    merchant = segment.merchant
    checked = compiler.rules_check(merchant=merchant, rules=rules)
    changes: dict[str, Any] = {}
    new_name = _check_name(merchant=merchant, name=name, segment=segment)
    new_description = (description or "").strip()[:300]
    for field, value in (("name", new_name), ("description", new_description), ("rules", checked)):
        if getattr(segment, field) != value:
            changes[field] = value
            setattr(segment, field, value)
    if not changes:
        return segment
    _save(segment, fields=[*changes, "updated_at"])
    audit_event_record(merchant=merchant, actor=actor, action="segments.changed", subject=segment.name, **changes)
    _refresh_scores_if_stale(merchant)
    return segment


# Snapshots


@transaction.atomic
def snapshot_create(*, segment: Segment, actor: User | None, name: str = "") -> SegmentSnapshot:
    """Freeze the segment's audience now: its members stay the same however the shoppers change later.

    The members are written by one INSERT … SELECT of the compiled audience query.
    """
    merchant = segment.merchant
    now = timezone.now()
    snapshot = SegmentSnapshot.objects.create(
        merchant=merchant,
        segment=segment,
        name=(" ".join((name or "").split()) or f"{segment.name} · {now:%Y-%m-%d %H:%M} UTC")[:100],
        rules=segment.rules,
        created_by=actor,
    )
    audience = audience_queryset(merchant=merchant, segment=segment).values("pk")
    sql, params = audience.query.sql_with_params()
    with audience_statement(), connection.cursor() as cursor:
        # The ORM's own SQL for the audience, its values bound.
        insert = f"INSERT INTO campaigns_segmentsnapshotmember (snapshot_id, shopper_id) SELECT %s, audience.id FROM ({sql}) AS audience (id)"  # noqa: S608, E501
        cursor.execute(insert, [snapshot.pk, *params])
        snapshot.shopper_count = cursor.rowcount
    snapshot.save(update_fields=["shopper_count"])
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="segments.snapshot_frozen",
        subject=snapshot.name,
        segment_id=segment.pk,
        shoppers=snapshot.shopper_count,
    )
    return snapshot


def audience_export_record(
    *, merchant: Merchant, actor: User | None, segment: Segment | None = None, snapshot: SegmentSnapshot | None = None
) -> None:
    """Leave an audit event for a download of shoppers' contact details (written before the rows stream)."""
    subject = snapshot.name if snapshot is not None else segment.name if segment is not None else "All shoppers"
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="segments.exported",
        subject=subject,
        segment_id=segment.pk if segment is not None else None,
        snapshot_id=snapshot.pk if snapshot is not None else None,
    )


# Scores (computed in campaigns.segments.scores)


def scores_are_stale(*, merchant: Merchant, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    as_of = scores_as_of(merchant=merchant)
    return as_of is None or as_of < now - SCORES_MAX_AGE


def _refresh_scores_if_stale(merchant: Merchant) -> None:
    if scores_are_stale(merchant=merchant):
        from campaigns.segments.tasks import update_shopper_scores

        transaction.on_commit(lambda: update_shopper_scores.delay(merchant.pk))
