"""Shopper scores for segment rules (lifecycle stage, R/F/M quintiles), kept up to date instead of rebuilt.

Two passes keep `ShopperScore` in step with the per-shopper rollup, and each shopper's facts with their
purchases (`ShopperPurchaseFact`, what rules on category spend and stores visited read) and consent ledger
(`ShopperMarketingConsent`, the current marketing decision per channel), each in bounded statements:

- `scores_update` (every minute): the shoppers whose rollup was written since the last pass (the
  rollup's `changed_at`, indexed) and both sides of merges made or undone since, rescored in batches
  of ids. A merchant with no change costs one index probe. Ingest itself does no extra work.
- `scores_refresh` (daily, and whenever a full rebuild is needed): recomputes the merchant's cut
  points (below) from every scored shopper, then rescores every shopper in chunks of shopper ids, one
  short transaction each, recording its progress; counts keep reading the previous scores meanwhile.
  It is what time alone changes (a shopper turning at risk, lapsed), and what a full refund or an
  erasure takes away. Its first run writes every shopper's facts; later ones repair only the facts
  whose purchases no longer match the rollup.

Quintiles are ranks, so one purchase could move everyone's. The sweep therefore stores where each
quintile starts — the (value, shopper id) of its first shopper in the ranking NTILE(5) uses — and the
smallest spend that counts as "top spender" among recent shoppers; a shopper's scores are then a
function of their own rollup and these cut points. At a sweep the result is exactly the rank
definition (stages as `insights.stages.stage_sql`, quintiles as NTILE(5) ordered by value then shopper
id); between sweeps, changed shoppers are placed against the day's cut points.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import ShopperMarketingConsent, ShopperPurchaseFact, ShopperScore
from campaigns.models.segments import ShopperScoreRefresh
from insights import services as insights
from insights import stages
from merchants.models import Merchant
from profiles.models import ConsentEvent, LineItem, MergeEvent, Purchase, Shopper, ShopperRollup

# Shoppers per sweep chunk and per batch of an incremental pass: each is one statement of well under a
# second at a million shoppers (see benchmarks/segments.py).
SWEEP_CHUNK = 25_000
UPDATE_BATCH = 5_000
# A first sweep (no purchase facts yet) reads every purchase and line item too: chunks this many times smaller.
FIRST_SWEEP_DIVISOR = 5
# A pass that changes more scores than this (or a tenth of them) refreshes the table's statistics.
ANALYZE_AFTER_CHANGES = 5000
# Session advisory lock class: one pass at a time per merchant (a second one skips).
SCORES_LOCK_CLASS = 7410

SCORE = ShopperScore._meta.db_table
ROLLUP = ShopperRollup._meta.db_table
SHOPPER = Shopper._meta.db_table
MERGE_EVENT = MergeEvent._meta.db_table
FACT = ShopperPurchaseFact._meta.db_table
PURCHASE = Purchase._meta.db_table
LINE_ITEM = LineItem._meta.db_table
CONSENT = ShopperMarketingConsent._meta.db_table
CONSENT_EVENT = ConsentEvent._meta.db_table
# Consent decisions carry the application's clock (`created_at`), not the database's: read them from this much
# before the watermark, so that a decision stamped a little early is not missed (reading one twice is harmless).
CONSENT_MARGIN = timedelta(minutes=5)

# (dimension, rollup column): quintile 5 is the most recent / most frequent / biggest spender.
DIMENSIONS = (("recency", "last_purchase_at"), ("frequency", "purchase_count"), ("monetary", "total_minor"))


def _inputs_sql(where: str) -> str:
    """Each scored shopper's figures: active, with a counting purchase before the cutoff."""
    return f"""
        SELECT r.shopper_id, r.first_purchase_at AS first_at, r.last_purchase_at, r.purchase_count,
               r.total_minor
          FROM {ROLLUP} r
          JOIN {SHOPPER} s ON s.id = r.shopper_id AND s.status = 'active'
         WHERE r.merchant_id = %(merchant)s AND r.purchase_count > 0 AND r.first_purchase_at < %(cutoff)s
           AND {where}
    """  # noqa: S608 - table names from the models; values are bound


# Cut points


def ntile_starts(count: int, buckets: int = 5) -> list[int | None]:
    """0-based positions where buckets 2..n start in NTILE(n) over `count` rows (None: the bucket is empty).

    NTILE gives the first count % n buckets one row more than the others.
    """
    size, extra = divmod(count, buckets)
    starts: list[int | None] = []
    position = 0
    for bucket in range(1, buckets):
        position += size + (1 if bucket <= extra else 0)
        starts.append(position if position < count else None)
    return starts


def _cuts_compute(cursor: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    """The cut points of every scored shopper now (reads the temporary table `score_inputs`)."""
    cursor.execute("SELECT COUNT(*) FROM score_inputs")
    (count,) = cursor.fetchone()
    starts = ntile_starts(count)
    cuts: dict[str, Any] = {"scored": count}
    for dimension, column in DIMENSIONS:
        positions = [start for start in starts if start is not None]
        found: dict[int, list[Any]] = {}
        if positions:
            cursor.execute(
                f"""
                SELECT position, value, shopper_id FROM (
                    SELECT {column} AS value, shopper_id,
                           ROW_NUMBER() OVER (ORDER BY {column}, shopper_id) - 1 AS position
                      FROM score_inputs
                ) ranked WHERE position = ANY(%s)
                """,  # noqa: S608 - column names from DIMENSIONS
                [positions],
            )
            for position, value, shopper_id in cursor.fetchall():
                found[position] = [value.isoformat() if isinstance(value, datetime) else value, shopper_id]
        cuts[dimension] = [found.get(start) if start is not None else None for start in starts]
    # The smallest spend whose share of recent shoppers spending at least as much is within the top share:
    # stage_sql's CUME_DIST() OVER (ORDER BY monetary DESC) <= top_share, as a threshold.
    cursor.execute(
        """
        SELECT MIN(total_minor) FROM (
            SELECT total_minor, SUM(shoppers) OVER (ORDER BY total_minor DESC) AS at_least,
                   SUM(shoppers) OVER () AS recent
              FROM (SELECT total_minor, COUNT(*) AS shoppers FROM score_inputs
                     WHERE first_at < %(cutoff)s - make_interval(days => %(new_days)s)
                       AND last_purchase_at >= %(cutoff)s - make_interval(days => %(at_risk_days)s)
                     GROUP BY total_minor) spends
        ) ranked WHERE at_least::float8 / recent::float8 <= %(top_share)s
        """,
        parameters,
    )
    cuts["top_min_minor"] = cursor.fetchone()[0]
    return cuts


def _quintile_sql(dimension: str, column: str, cuts: dict[str, Any], parameters: dict[str, Any]) -> str:
    terms = ["1"]
    for index, cut in enumerate(cuts.get(dimension) or []):
        if cut is None:
            continue
        value, shopper_id = cut
        if dimension == "recency":
            value = datetime.fromisoformat(value)
        parameters[f"{dimension}_{index}_value"], parameters[f"{dimension}_{index}_id"] = value, shopper_id
        terms.append(
            f"(ROW(i.{column}, i.shopper_id) >= ROW(%({dimension}_{index}_value)s, %({dimension}_{index}_id)s))::int"
        )
    return " + ".join(terms)


def _rescore_sql(cuts: dict[str, Any], parameters: dict[str, Any], inputs_where: str, scores_where: str) -> str:
    """One statement: the scores of the selected shoppers upserted (changed rows only), and the scores of
    selected shoppers who no longer qualify removed; returns (scored, changed, removed)."""
    parameters["top_min_minor"] = cuts.get("top_min_minor")
    quintiles = {dimension: _quintile_sql(dimension, column, cuts, parameters) for dimension, column in DIMENSIONS}
    return f"""
    WITH i AS ({_inputs_sql(inputs_where)}),
    scored AS (
        SELECT i.shopper_id, {stages.stage_case_sql("i", top_min="%(top_min_minor)s")} AS stage,
               {quintiles["recency"]} AS recency, {quintiles["frequency"]} AS frequency,
               {quintiles["monetary"]} AS monetary
          FROM i
    ),
    upserted AS (
        INSERT INTO {SCORE} (shopper_id, merchant_id, lifecycle_stage, recency, frequency, monetary, computed_at)
        SELECT shopper_id, %(merchant)s, stage, recency, frequency, monetary, %(cutoff)s FROM scored
        ORDER BY shopper_id
        ON CONFLICT (shopper_id) DO UPDATE
           SET lifecycle_stage = EXCLUDED.lifecycle_stage, recency = EXCLUDED.recency,
               frequency = EXCLUDED.frequency, monetary = EXCLUDED.monetary, computed_at = EXCLUDED.computed_at
         WHERE ({SCORE}.lifecycle_stage, {SCORE}.recency, {SCORE}.frequency, {SCORE}.monetary)
               IS DISTINCT FROM (EXCLUDED.lifecycle_stage, EXCLUDED.recency, EXCLUDED.frequency, EXCLUDED.monetary)
        RETURNING 1
    ),
    removed AS (
        DELETE FROM {SCORE} old
         WHERE old.merchant_id = %(merchant)s AND {scores_where}
           AND NOT EXISTS (SELECT 1 FROM scored WHERE scored.shopper_id = old.shopper_id)
        RETURNING 1
    )
    SELECT (SELECT COUNT(*) FROM scored), (SELECT COUNT(*) FROM upserted), (SELECT COUNT(*) FROM removed)
    """  # noqa: S608 - table names from the models; values are bound


def _rescore(
    cursor: Any,
    *,
    merchant: Merchant,
    cuts: dict[str, Any],
    base: dict[str, Any],
    where: str,
    scores_where: str,
    extra: dict[str, Any],
) -> tuple[int, int, int]:
    parameters = {**base, **extra, "merchant": merchant.pk}
    cursor.execute(_rescore_sql(cuts, parameters, where, scores_where), parameters)
    scored, changed, removed = cursor.fetchone()
    return int(scored), int(changed), int(removed)


def _facts_rewrite(
    cursor: Any, *, merchant: Merchant, purchases_where: str, facts_where: str, extra: dict[str, Any]
) -> None:
    """Replace the selected shoppers' purchase facts with what their purchases and line items say now."""
    parameters = {**extra, "merchant": merchant.pk}
    cursor.execute(f"DELETE FROM {FACT} f WHERE f.merchant_id = %(merchant)s AND {facts_where}", parameters)  # noqa: S608
    cursor.execute(
        f"""
        INSERT INTO {FACT} (merchant_id, shopper_id, purchase_id, store_id, occurred_at, category, spent_minor, counts)
        SELECT p.merchant_id, p.shopper_id, p.id, p.store_id, p.occurred_at, COALESCE(li.category, ''),
               COALESCE(SUM(li.quantity * li.unit_price_minor), 0), p.amount_minor > p.refunded_minor
          FROM {PURCHASE} p LEFT JOIN {LINE_ITEM} li ON li.purchase_id = p.id
         WHERE p.merchant_id = %(merchant)s AND p.shopper_id IS NOT NULL AND {purchases_where}
         GROUP BY p.id, COALESCE(li.category, '')
        """,  # noqa: S608 - table names from the models; values are bound
        parameters,
    )


def _consents_rewrite(
    cursor: Any, *, merchant: Merchant, events_where: str, facts_where: str, extra: dict[str, Any]
) -> None:
    """Replace the selected shoppers' current marketing consent with the latest decision per channel."""
    parameters = {**extra, "merchant": merchant.pk}
    cursor.execute(f"DELETE FROM {CONSENT} f WHERE f.merchant_id = %(merchant)s AND {facts_where}", parameters)  # noqa: S608
    cursor.execute(
        f"""
        INSERT INTO {CONSENT} (merchant_id, shopper_id, channel, is_granted)
        SELECT DISTINCT ON (e.shopper_id, e.channel) e.merchant_id, e.shopper_id, e.channel, e.is_granted
          FROM {CONSENT_EVENT} e
         WHERE e.merchant_id = %(merchant)s AND e.purpose = 'marketing' AND {events_where}
         ORDER BY e.shopper_id, e.channel, e.occurred_at DESC, e.id DESC
        """,  # noqa: S608 - table names from the models; values are bound
        parameters,
    )


def _facts_write(cursor: Any, *, merchant: Merchant, shoppers: str, extra: dict[str, Any]) -> None:
    """Both kinds of facts for the shoppers `shoppers` selects (a condition on a column named shopper_id)."""
    on = {alias: shoppers.replace("shopper_id", f"{alias}.shopper_id") for alias in ("p", "f", "e")}
    _facts_rewrite(cursor, merchant=merchant, purchases_where=on["p"], facts_where=on["f"], extra=extra)
    _consents_rewrite(cursor, merchant=merchant, events_where=on["e"], facts_where=on["f"], extra=extra)


def _facts_repair(cursor: Any, *, merchant: Merchant, shoppers: str, extra: dict[str, Any]) -> None:
    """Rewrite the purchase facts of the selected shoppers whose counting purchases no longer match their rollup.

    The incremental pass follows every rollup written; what it cannot see is a rollup taken away (a shopper's
    last counting purchase refunded in full, an erasure). The sweep finds those: a shopper whose facts count
    other purchases than the rollup does. Rewriting only them keeps the daily sweep from rewriting every fact.
    """
    on = {alias: shoppers.replace("shopper_id", f"{alias}.shopper_id") for alias in ("r", "f")}
    cursor.execute(
        f"""
        SELECT COALESCE(r.shopper_id, f.shopper_id) FROM (
            SELECT r.shopper_id, r.purchase_count FROM {ROLLUP} r WHERE r.merchant_id = %(merchant)s AND {on["r"]}
        ) r FULL JOIN (
            SELECT f.shopper_id, COUNT(DISTINCT f.purchase_id) FILTER (WHERE f.counts) AS counted
              FROM {FACT} f WHERE f.merchant_id = %(merchant)s AND {on["f"]} GROUP BY f.shopper_id
        ) f ON f.shopper_id = r.shopper_id
         WHERE COALESCE(r.purchase_count, 0) <> COALESCE(f.counted, 0)
        """,  # noqa: S608 - table names from the models; values are bound
        {**extra, "merchant": merchant.pk},
    )
    ids = [row[0] for row in cursor.fetchall()]
    if ids:
        on_ids = {alias: f"{alias}.shopper_id = ANY(%(ids)s)" for alias in ("p", "f")}
        _facts_rewrite(
            cursor, merchant=merchant, purchases_where=on_ids["p"], facts_where=on_ids["f"], extra={"ids": ids}
        )


# Locks and the change watermark


class _Busy(Exception):
    pass


class _Lock:
    """One pass per merchant at a time, across the short transactions a pass is made of."""

    def __init__(self, merchant: Merchant) -> None:
        self.merchant = merchant

    def __enter__(self) -> "_Lock":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SCORES_LOCK_CLASS, self.merchant.pk])
            if not cursor.fetchone()[0]:
                raise _Busy
        return self

    def __exit__(self, *exc: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SCORES_LOCK_CLASS, self.merchant.pk])


def _watermark() -> datetime:
    """A moment no rollup write still to commit can be stamped before: `changed_at` is the writing statement's
    start, so it is no earlier than the start of the oldest other transaction open now (this pass's own
    writes to rollups, if any, are already visible to it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT LEAST(clock_timestamp(), (SELECT MIN(xact_start) FROM pg_stat_activity
                                              WHERE datname = current_database() AND xact_start IS NOT NULL
                                                AND pid <> pg_backend_pid()))
            """
        )
        return cursor.fetchone()[0]


def _refresh_row(merchant: Merchant, now: datetime) -> ShopperScoreRefresh:
    refresh, _ = ShopperScoreRefresh.objects.get_or_create(merchant=merchant, defaults={"refreshed_at": now})
    return refresh


def _base_parameters(merchant: Merchant, now: datetime) -> dict[str, Any]:
    return stages.stage_parameters(insights.insight_settings_get(merchant=merchant), now)


def _analyze_if_many(changed: int, scored: int, *, facts_written: bool = False) -> None:
    """Refresh the statistics of the tables a pass changed a lot.

    Segment queries and the passes themselves are planned from them: after a first sweep of a large
    merchant the facts tables would otherwise be planned as a few rows until autovacuum comes by (at a
    million shoppers the next pass's index look-ups became sequential scans past a minute).
    """
    tables = [SCORE] if changed > max(ANALYZE_AFTER_CHANGES, scored // 10) else []
    if facts_written:
        tables += [FACT, CONSENT]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


# The sweep (daily, or a full rebuild)


def _chunk_end(merchant: Merchant, start: int, size: int) -> int | None:
    """The first shopper id of the chunk after the one starting at `start` (None: this is the last)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {SHOPPER} WHERE merchant_id = %s AND id >= %s ORDER BY id OFFSET %s LIMIT 1",  # noqa: S608
            [merchant.pk, start, size],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _sweep_start(merchant: Merchant, now: datetime) -> ShopperScoreRefresh:
    base = _base_parameters(merchant, now)
    with transaction.atomic(), connection.cursor() as cursor:
        changes_from = _watermark()
        refresh = ShopperScoreRefresh.objects.select_for_update().get(merchant=merchant)
        cursor.execute(
            f"CREATE TEMP TABLE score_inputs ON COMMIT DROP AS {_inputs_sql('TRUE')}",
            {**base, "merchant": merchant.pk},
        )
        refresh.cuts = _cuts_compute(cursor, base)
        cursor.execute("DROP TABLE score_inputs")
        cursor.execute(f"SELECT MAX(id) FROM {SHOPPER} WHERE merchant_id = %s", [merchant.pk])  # noqa: S608
        refresh.sweep_last_id = cursor.fetchone()[0] or 0
        refresh.sweep_next_id = 0
        refresh.sweep_started_at = now
        refresh.changes_from = changes_from
        refresh.scored_shoppers = 0
        refresh.save()
    return refresh


def scores_refresh(
    *,
    merchant: Merchant,
    now: datetime | None = None,
    chunk_size: int = SWEEP_CHUNK,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
) -> ShopperScoreRefresh:
    """Recompute the cut points and rescore every shopper of the merchant, in chunks of shopper ids.

    Each chunk is its own short transaction and records the sweep's progress (`sweep_next_id` of
    `sweep_last_id`); with `resume`, a sweep cut short (a restarted worker) carries on where it stopped,
    against the cut points it started with. `progress`, if given, is called after each chunk with the
    shoppers scored so far, the number to score, and the chunk's milliseconds. Returns the refresh row
    as the sweep left it; if another pass of the merchant is running, returns it untouched.
    """
    now = now or timezone.now()
    _refresh_row(merchant, now)
    try:
        with _Lock(merchant):
            refresh = ShopperScoreRefresh.objects.get(merchant=merchant)
            if not (resume and refresh.sweep_next_id is not None and refresh.sweep_started_at is not None):
                refresh = _sweep_start(merchant, now)
            now = refresh.sweep_started_at or now
            base = _base_parameters(merchant, now)
            started = time.monotonic()
            start: int | None = refresh.sweep_next_id or 0
            changed_total = 0
            while start is not None:
                # The first sweep also writes every purchase fact: about ten purchases and twenty line items per
                # shopper, so its chunks are smaller to keep each statement within a few seconds.
                size = chunk_size if refresh.facts_ready else max(1, chunk_size // FIRST_SWEEP_DIVISOR)
                end = _chunk_end(merchant, start, size)
                bounds = {"low": start, "high": end}
                upper = "" if end is None else " AND {column} < %(high)s"
                where = "r.shopper_id >= %(low)s" + upper.format(column="r.shopper_id")
                scores_where = "old.shopper_id >= %(low)s" + upper.format(column="old.shopper_id")
                chunk_started = time.monotonic()
                with transaction.atomic(), connection.cursor() as cursor:
                    scored, changed, removed = _rescore(
                        cursor,
                        merchant=merchant,
                        cuts=refresh.cuts,
                        base=base,
                        where=where,
                        scores_where=scores_where,
                        extra=bounds,
                    )
                    shoppers = where.replace("r.shopper_id", "shopper_id")
                    if refresh.facts_ready:
                        _facts_repair(cursor, merchant=merchant, shoppers=shoppers, extra=bounds)
                    else:
                        _facts_write(cursor, merchant=merchant, shoppers=shoppers, extra=bounds)
                    changed_total += changed + removed
                    ShopperScoreRefresh.objects.filter(merchant=merchant).update(
                        sweep_next_id=end, scored_shoppers=refresh.scored_shoppers + scored
                    )
                    refresh.scored_shoppers += scored
                if progress is not None:
                    progress(
                        refresh.scored_shoppers,
                        refresh.cuts.get("scored", 0),
                        (time.monotonic() - chunk_started) * 1000,
                    )
                start = end
            refresh.refreshed_at = now
            refresh.updated_at = now
            refresh.duration_ms = int((time.monotonic() - started) * 1000)
            refresh.sweep_next_id = refresh.sweep_last_id = refresh.sweep_started_at = None
            facts_written = not refresh.facts_ready
            refresh.facts_ready = True
            refresh.save(
                update_fields=[
                    "facts_ready",
                    "refreshed_at",
                    "updated_at",
                    "duration_ms",
                    "sweep_next_id",
                    "sweep_last_id",
                    "sweep_started_at",
                    "scored_shoppers",
                ]
            )
            _analyze_if_many(changed_total, refresh.scored_shoppers, facts_written=facts_written)
            return refresh
    except _Busy:
        return ShopperScoreRefresh.objects.get(merchant=merchant)


# The incremental pass


@dataclass(frozen=True)
class ScoresUpdate:
    shoppers: int  # shoppers looked at (rollup written, or merged, since the last pass)
    changed: int  # scores written or removed
    skipped: bool = False  # nothing to do, or another pass of the merchant was running


def _batches(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for index in range(0, len(ids), size):
        yield list(ids[index : index + size])


def scores_update(*, merchant: Merchant, now: datetime | None = None, batch_size: int = UPDATE_BATCH) -> ScoresUpdate:
    """Rescore the shoppers whose rollup was written, who were merged or unmerged, or whose consent was recorded,
    since the last pass, and rewrite their facts.

    A merchant never swept gets a sweep (there are no cut points to place shoppers against yet).
    """
    now = now or timezone.now()
    refresh = _refresh_row(merchant, now)
    if refresh.changes_from is None or not refresh.cuts:
        swept = scores_refresh(merchant=merchant, now=now)
        return ScoresUpdate(shoppers=swept.scored_shoppers, changed=swept.scored_shoppers)
    try:
        with _Lock(merchant):
            refresh = ShopperScoreRefresh.objects.get(merchant=merchant)
            changes_to = _watermark()
            since = refresh.changes_from or changes_to  # set by every sweep, so never empty here
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    SELECT shopper_id FROM {ROLLUP} WHERE merchant_id = %(merchant)s AND changed_at >= %(since)s
                    UNION
                    SELECT UNNEST(ARRAY[survivor_id, merged_id]) FROM {MERGE_EVENT}
                     WHERE merchant_id = %(merchant)s AND (created_at >= %(since)s OR undone_at >= %(since)s)
                    UNION
                    SELECT shopper_id FROM {CONSENT_EVENT}
                     WHERE merchant_id = %(merchant)s AND created_at >= %(consent_since)s
                    ORDER BY 1
                    """,  # noqa: S608 - table names from the models; values are bound
                    {
                        "merchant": merchant.pk,
                        "since": since,
                        "consent_since": since - CONSENT_MARGIN,
                    },
                )
                ids = [row[0] for row in cursor.fetchall()]
            changed = 0
            base = _base_parameters(merchant, now)
            for batch in _batches(ids, batch_size):
                with transaction.atomic(), connection.cursor() as cursor:
                    _scored, written, removed = _rescore(
                        cursor,
                        merchant=merchant,
                        cuts=refresh.cuts,
                        base=base,
                        where="r.shopper_id = ANY(%(ids)s)",
                        scores_where="old.shopper_id = ANY(%(ids)s)",
                        extra={"ids": batch},
                    )
                    _facts_write(cursor, merchant=merchant, shoppers="shopper_id = ANY(%(ids)s)", extra={"ids": batch})
                    changed += written + removed
            # Written even when nothing changed: the scores are as of this pass either way.
            ShopperScoreRefresh.objects.filter(merchant=merchant).update(changes_from=changes_to, updated_at=now)
            _analyze_if_many(changed, refresh.scored_shoppers)
            return ScoresUpdate(shoppers=len(ids), changed=changed, skipped=not ids)
    except _Busy:
        return ScoresUpdate(shoppers=0, changed=0, skipped=True)
