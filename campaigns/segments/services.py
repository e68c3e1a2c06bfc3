"""Writes on segments: save rules, freeze snapshots, log exports, refresh the scores rules filter on."""

import time
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from campaigns.models import Segment, SegmentSnapshot
from campaigns.models.segments import ShopperScoreRefresh
from campaigns.segments import compiler
from campaigns.segments.selectors import audience_queryset
from core.errors import ApplicationError
from insights import services as insights
from insights import stages
from merchants.models import Merchant, User
from merchants.services import audit_event_record
from profiles.models import Shopper, ShopperRollup

# Scores older than this are refreshed when a segment is saved; the periodic task runs as often.
SCORES_MAX_AGE = timedelta(minutes=15)
# A refresh that changes more scores than this (or a tenth of them) refreshes the table's statistics.
ANALYZE_AFTER_CHANGES = 5000


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
    with connection.cursor() as cursor:
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


# Scores

# The insight dashboard's stage rules (insights.stages), fed from the per-shopper rollup
# instead of the raw purchases: the rollup holds the same figures (purchases not fully refunded, net
# of refunds), so a shopper's stage here is the stage the lifecycle dashboard counts them in.
_ROLLUP_AS_OF = f"""
    SELECT shopper_id, first_purchase_at AS first_at, last_purchase_at AS last_at, purchase_count AS frequency,
           total_minor AS monetary, online_total_minor AS online_minor
      FROM {ShopperRollup._meta.db_table}
     WHERE merchant_id = %(merchant)s AND purchase_count > 0 AND first_purchase_at < %(cutoff)s
"""  # noqa: S608 - table names from the models; values are bound
_STAGES_FROM_ROLLUP = stages.stage_sql(_ROLLUP_AS_OF)

# Stages and quintiles of the merchant's active shoppers who bought, upserted (changed rows only) and
# the scores of shoppers who no longer qualify removed, in one statement. Quintile 5 is the most
# recent / most frequent / biggest spender; ties are split by shopper id so a refresh is repeatable.
_REFRESH_SQL = f"""
    WITH staged AS ({_STAGES_FROM_ROLLUP}),
    scored AS (
        SELECT st.shopper_id, st.stage,
               NTILE(5) OVER (ORDER BY r.last_purchase_at, st.shopper_id) AS recency,
               NTILE(5) OVER (ORDER BY st.frequency, st.shopper_id) AS frequency,
               NTILE(5) OVER (ORDER BY st.monetary, st.shopper_id) AS monetary
          FROM staged st
          JOIN {ShopperRollup._meta.db_table} r ON r.shopper_id = st.shopper_id
          JOIN {Shopper._meta.db_table} s ON s.id = st.shopper_id AND s.status = 'active'
    ),
    upserted AS (
        INSERT INTO campaigns_shopperscore (shopper_id, merchant_id, lifecycle_stage, recency, frequency, monetary,
                                            computed_at)
        SELECT shopper_id, %(merchant)s, stage, recency, frequency, monetary, %(cutoff)s FROM scored
        ON CONFLICT (shopper_id) DO UPDATE
           SET lifecycle_stage = EXCLUDED.lifecycle_stage, recency = EXCLUDED.recency,
               frequency = EXCLUDED.frequency, monetary = EXCLUDED.monetary, computed_at = EXCLUDED.computed_at
         WHERE (campaigns_shopperscore.lifecycle_stage, campaigns_shopperscore.recency,
                campaigns_shopperscore.frequency, campaigns_shopperscore.monetary)
               IS DISTINCT FROM (EXCLUDED.lifecycle_stage, EXCLUDED.recency, EXCLUDED.frequency, EXCLUDED.monetary)
        RETURNING 1
    ),
    removed AS (
        DELETE FROM campaigns_shopperscore old
         WHERE old.merchant_id = %(merchant)s
           AND NOT EXISTS (SELECT 1 FROM scored WHERE scored.shopper_id = old.shopper_id)
        RETURNING 1
    )
    SELECT (SELECT COUNT(*) FROM scored), (SELECT COUNT(*) FROM upserted), (SELECT COUNT(*) FROM removed)
"""  # noqa: S608 - fixed SQL; values are bound


@transaction.atomic
def scores_refresh(*, merchant: Merchant, now: datetime | None = None) -> ShopperScoreRefresh:
    """Recompute every shopper's lifecycle stage and R/F/M quintiles for the merchant, in one statement.

    Two refreshes of one merchant queue behind the lock on its refresh row instead of racing.
    """
    now = now or timezone.now()
    ShopperScoreRefresh.objects.get_or_create(merchant=merchant, defaults={"refreshed_at": now})
    refresh = ShopperScoreRefresh.objects.select_for_update().get(merchant=merchant)
    settings = insights.insight_settings_get(merchant=merchant)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(_REFRESH_SQL, {**stages.stage_parameters(settings, now), "merchant": merchant.pk})
        scored, changed, removed = cursor.fetchone()
        if changed + removed > max(ANALYZE_AFTER_CHANGES, scored // 10):
            # Segment queries are planned from these statistics: a first refresh of a large merchant
            # would otherwise be planned as a table of a few rows until autovacuum comes by.
            cursor.execute("ANALYZE campaigns_shopperscore")
    refresh.refreshed_at = now
    refresh.scored_shoppers = scored
    refresh.duration_ms = int((time.monotonic() - started) * 1000)
    refresh.save(update_fields=["refreshed_at", "scored_shoppers", "duration_ms"])
    return refresh


def scores_are_stale(*, merchant: Merchant, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    refresh = ShopperScoreRefresh.objects.for_merchant(merchant).first()
    return refresh is None or refresh.refreshed_at < now - SCORES_MAX_AGE


def _refresh_scores_if_stale(merchant: Merchant) -> None:
    if scores_are_stale(merchant=merchant):
        from campaigns.segments.tasks import refresh_shopper_scores

        transaction.on_commit(lambda: refresh_shopper_scores.delay(merchant.pk))
