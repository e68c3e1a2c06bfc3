"""Segments at scale: score maintenance, and every rule kind's live count against hand-written SQL.

    python manage.py seed_demo --scale        # once: merchant "megastore", 1,000,000 shoppers, 10,000,000 purchases
    python -m benchmarks.segments [--merchant megastore] [--runs 10] [--skip-sweep]

Like the dashboard benchmark it reads the database DATABASE_URL names and writes nothing there but the
merchant's shopper scores (and the `changed_at` stamp of the rollups it marks as changed). It reports:

- `scores_sweep`: the full rebuild (new cut points, every shopper rescored in chunks): seconds, chunks,
  and the longest chunk (no statement may hold for more than a few seconds);
- `scores_update`: the incremental pass after 1,000 shoppers' rollups were written (what 1,000 purchases
  by different shoppers do to it), and after a quiet minute (nothing written);
- `audience_snapshot`: a broadcast's audience of every active shopper frozen (then deleted again);
- for each rule kind (one condition each) and each combined rule set: `audience_count` (compiling the
  rules and running the one query) p50/p95, and the live-count endpoint the builder calls (through
  Django's test client, as the owner: middleware, form parsing, checks, query, template); for the
  combined sets also a hand-written SQL query computing the same count, whose result must agree.

One JSON line per figure, e.g.

    {"bench": "segments", "rules": "lapsing_regulars", "shoppers": …, "count_p50_ms": …, "count_p95_ms": …,
     "endpoint_p50_ms": …, "endpoint_p95_ms": …, "raw_sql_ms": …, "ratio_p50": …}
"""

import argparse
import statistics
import time
from typing import Any

from benchmarks.common import django_setup_existing, emit, note, percentile

_EMAIL_GRANTED = """
    SELECT shopper_id FROM (
        SELECT DISTINCT ON (shopper_id) shopper_id, is_granted FROM profiles_consentevent
         WHERE merchant_id = %(merchant)s AND channel = 'email' AND purpose = 'marketing'
         ORDER BY shopper_id, occurred_at DESC, id DESC
    ) latest WHERE is_granted
"""
_ACTIVE = "FROM profiles_shopper s WHERE s.merchant_id = %(merchant)s AND s.status = 'active'"

# name -> (rules, the same count in plain SQL)
RULE_SETS: dict[str, tuple[dict[str, Any], str | None]] = {
    "everyone": ({"match": "all", "conditions": []}, f"SELECT COUNT(*) {_ACTIVE}"),
    "lapsing_regulars": (
        {
            "match": "all",
            "conditions": [
                {"field": "lifecycle_stage", "op": "in", "value": ["at_risk", "lapsed"]},
                {"field": "purchase_count", "op": "gte", "value": 4},
                {"field": "consented_channel", "op": "granted", "value": "email"},
            ],
        },
        f"""
        SELECT COUNT(*) FROM profiles_shopper s
          JOIN campaigns_shopperscore sc ON sc.shopper_id = s.id
          JOIN profiles_shopperrollup r ON r.shopper_id = s.id
          JOIN ({_EMAIL_GRANTED}) c ON c.shopper_id = s.id
         WHERE s.merchant_id = %(merchant)s AND s.status = 'active'
           AND sc.lifecycle_stage IN ('at_risk', 'lapsed') AND r.purchase_count >= 4
        """,  # noqa: S608 - fixed SQL; values are bound
    ),
    "store_only_with_email": (
        {
            "match": "all",
            "conditions": [
                {"field": "channel_behaviour", "op": "in", "value": ["store_only"]},
                {"field": "consented_channel", "op": "granted", "value": "email"},
            ],
        },
        f"""
        SELECT COUNT(*) FROM profiles_shopper s
          JOIN profiles_shopperrollup r ON r.shopper_id = s.id
          JOIN ({_EMAIL_GRANTED}) c ON c.shopper_id = s.id
         WHERE s.merchant_id = %(merchant)s AND s.status = 'active' AND r.in_store_count > 0 AND r.online_count = 0
        """,  # noqa: S608 - fixed SQL; values are bound
    ),
    "category_spend_90d": (
        {
            "match": "all",
            "conditions": [
                {
                    "field": "category_spend",
                    "op": "gte",
                    "value": {"category": "Electronics", "amount_minor": 5000, "days": 90},
                }
            ],
        },
        f"""
        SELECT COUNT(*) {_ACTIVE} AND s.id IN (
            SELECT p.shopper_id FROM profiles_lineitem li JOIN profiles_purchase p ON p.id = li.purchase_id
             WHERE li.merchant_id = %(merchant)s AND li.category = 'Electronics' AND p.shopper_id IS NOT NULL
               AND p.occurred_at >= now() - interval '90 days' AND p.amount_minor > p.refunded_minor
             GROUP BY p.shopper_id HAVING SUM(li.quantity * li.unit_price_minor) >= 5000)
        """,  # noqa: S608 - fixed SQL; values are bound
    ),
    "any_of_four": (
        {
            "match": "any",
            "conditions": [
                {"field": "rfm_monetary", "op": "eq", "value": 5},
                {"field": "visit_count", "op": "gte", "value": {"count": 2, "days": 30}},
                {"field": "birthday_month", "op": "in", "value": ["12"]},
                {"field": "language", "op": "in", "value": ["ko"]},
            ],
        },
        f"""
        SELECT COUNT(*) {_ACTIVE} AND (
            s.id IN (SELECT shopper_id FROM campaigns_shopperscore WHERE merchant_id = %(merchant)s AND monetary = 5)
            OR s.id IN (SELECT shopper_id FROM profiles_visit WHERE merchant_id = %(merchant)s
                          AND shopper_id IS NOT NULL AND occurred_at >= now() - interval '30 days'
                        GROUP BY shopper_id HAVING COUNT(*) >= 2)
            OR EXTRACT(MONTH FROM s.birthday) = 12 OR s.language = 'ko')
        """,  # noqa: S608 - fixed SQL; values are bound
    ),
}


def _timed(function: Any, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _form(rules: dict[str, Any]) -> dict[str, Any]:
    """The rules as the builder posts them."""
    data: dict[str, Any] = {"name": "bench", "match": rules["match"], "row": []}
    for index, condition in enumerate(rules["conditions"]):
        data["row"].append(str(index))
        data[f"c{index}-field"], data[f"c{index}-op"] = condition["field"], condition["op"]
        value = condition["value"]
        if isinstance(value, list):
            data[f"c{index}-values"] = value
        elif isinstance(value, dict) and "category" in value:
            data[f"c{index}-category"] = value["category"]
            data[f"c{index}-amount"] = str(value["amount_minor"] / 100)
            data[f"c{index}-days"] = str(value["days"] or "")
        elif isinstance(value, dict) and "store" in value:
            data[f"c{index}-store"], data[f"c{index}-days"] = str(value["store"]), str(value["days"] or "")
        elif isinstance(value, dict) and "kind" in value:
            data[f"c{index}-kind"], data[f"c{index}-text"] = value["kind"], value["value"]
        elif isinstance(value, dict):
            data[f"c{index}-number"], data[f"c{index}-days"] = str(value["count"]), str(value["days"] or "")
        elif condition["field"] == "consented_channel":
            data[f"c{index}-channel"] = value
        elif condition["field"] == "total_spend":
            data[f"c{index}-amount"] = str(value / 100)
        else:
            data[f"c{index}-number"] = str(value)
    return data


def _rule_kinds(merchant: Any) -> dict[str, dict[str, Any]]:
    """One condition of every rule kind the builder offers, with values the scale data holds."""
    from loyalty.models import Tier
    from merchants.models import Store
    from profiles.models import ShopperPreferences

    store = Store.objects.filter(merchant=merchant).order_by("pk").first()
    tier = Tier.objects.filter(merchant=merchant).order_by("pk").first()
    brand = (
        ShopperPreferences.objects.filter(merchant=merchant).exclude(brands=[]).values_list("brands", flat=True).first()
    )
    kinds: dict[str, Any] = {
        "lifecycle_stage": ("in", ["at_risk", "lapsed"]),
        "rfm_recency": ("gte", 4),
        "rfm_frequency": ("eq", 5),
        "rfm_monetary": ("eq", 5),
        "channel_behaviour": ("in", ["store_only"]),
        "purchase_count": ("gte", 4),
        "total_spend": ("gte", 50_000),
        "days_since_last_purchase": ("gte", 90),
        "category_spend": ("gte", {"category": "Electronics", "amount_minor": 5000, "days": 90}),
        "store_visited": ("visited", {"store": store.pk if store else 0, "days": 30}),
        "visit_count": ("gte", {"count": 2, "days": 30}),
        "preference": ("includes", {"kind": "brands", "value": brand[0] if brand else "Nike"}),
        "tier": ("in", [str(tier.pk) if tier else "none"]),
        "points_balance": ("gte", 100),
        "birthday_month": ("in", ["12"]),
        "language": ("in", ["ko"]),
        "consented_channel": ("granted", "email"),
    }
    return {
        f"kind:{field}": {"match": "all", "conditions": [{"field": field, "op": op, "value": value}]}
        for field, (op, value) in kinds.items()
    }


def _scores_figures(merchant: Any, *, skip_sweep: bool) -> None:
    from django.db import connection

    from campaigns.models.segments import ShopperScoreRefresh
    from campaigns.segments import scores
    from profiles.models import ShopperRollup

    if not skip_sweep or not ShopperScoreRefresh.objects.filter(merchant=merchant).exclude(cuts={}).exists():
        chunk_ms: list[float] = []

        def progress(scored: int, total: int, milliseconds: float) -> None:
            chunk_ms.append(milliseconds)
            if len(chunk_ms) % 5 == 0:
                note(f"sweep: {scored:,} of {total:,} shoppers scored")

        started = time.perf_counter()
        refresh = scores.scores_refresh(merchant=merchant, progress=progress)
        emit(
            bench="segments",
            figure="scores_sweep",
            scored=refresh.scored_shoppers,
            seconds=round(time.perf_counter() - started, 2),
            chunks=len(chunk_ms),
            chunk_p50_ms=round(statistics.median(chunk_ms), 1) if chunk_ms else None,
            chunk_max_ms=round(max(chunk_ms), 1) if chunk_ms else None,
        )
    scores.scores_update(merchant=merchant)  # whatever was pending
    with connection.cursor() as cursor:
        # 1,000 shoppers' rollups written, as 1,000 purchases by different shoppers would: values unchanged.
        cursor.execute(
            f"""
            UPDATE {ShopperRollup._meta.db_table} SET changed_at = STATEMENT_TIMESTAMP()
             WHERE shopper_id IN (SELECT shopper_id FROM {ShopperRollup._meta.db_table}
                                   WHERE merchant_id = %s ORDER BY md5(shopper_id::text) LIMIT 1000)
            """,  # noqa: S608 - table names from the models; values are bound
            [merchant.pk],
        )
    for label in ("after_1000_changed_shoppers", "quiet"):
        started = time.perf_counter()
        update = scores.scores_update(merchant=merchant)
        emit(
            bench="segments",
            figure="scores_update",
            case=label,
            shoppers=update.shoppers,
            changed=update.changed,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )


def _snapshot_figure(merchant: Any) -> None:
    """A broadcast's audience frozen: every active shopper (the largest audience) in one snapshot, then removed."""
    from campaigns.models import Segment
    from campaigns.segments import services

    segment = Segment.objects.create(merchant=merchant, name=f"bench everyone {time.time_ns()}", rules={})
    try:
        started = time.perf_counter()
        snapshot = services.snapshot_create(segment=segment, actor=None)
        seconds = time.perf_counter() - started
        emit(bench="segments", figure="audience_snapshot", shoppers=snapshot.shopper_count, seconds=round(seconds, 2))
    finally:
        segment.snapshots.all().delete()
        segment.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--merchant", default="megastore", help="slug of the merchant to read (default megastore)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each query, after warm-up")
    parser.add_argument("--skip-sweep", action="store_true", help="reuse the scores' cut points (no full rebuild)")
    parser.add_argument("--only", nargs="*", help="only these rule sets / kinds (e.g. kind:language everyone)")
    args = parser.parse_args()

    django_setup_existing()
    from django.db import connection
    from django.test import Client

    from campaigns.segments import compiler
    from campaigns.segments.selectors import active_shoppers, audience_count
    from merchants.models import Merchant, StaffMembership
    from merchants.permissions import Role

    merchant = Merchant.objects.filter(slug=args.merchant).first()
    if merchant is None:
        note(f"no merchant {args.merchant!r}: load it with `manage.py seed_demo --scale` first; nothing measured")
        return
    with connection.cursor() as cursor:
        # A plan gone wrong fails the run instead of hanging it.
        cursor.execute("SET statement_timeout = '60s'")
    shoppers = active_shoppers(merchant=merchant).count()
    note(f"{merchant.name}: {shoppers:,} active shoppers")
    _scores_figures(merchant, skip_sweep=args.skip_sweep)
    _snapshot_figure(merchant)
    owner = StaffMembership.objects.filter(merchant=merchant, role=Role.OWNER).select_related("user").first()
    client = Client()
    client.force_login(owner.user)
    rule_sets: dict[str, tuple[dict[str, Any], str | None]] = {
        **{name: (rules, None) for name, rules in _rule_kinds(merchant).items()},
        **RULE_SETS,
    }
    for name, (rules, raw_sql) in rule_sets.items():
        if args.only and name not in args.only:
            continue
        checked = compiler.rules_check(merchant=merchant, rules=rules)
        ours = audience_count(merchant=merchant, rules=checked)
        raw_p50 = None
        if raw_sql is not None:
            with connection.cursor() as cursor:
                cursor.execute(raw_sql, {"merchant": merchant.pk})
                (theirs,) = cursor.fetchone()
            if ours != theirs:
                raise SystemExit(f"{name}: the compiled query counts {ours}, the plain SQL {theirs}")

            def raw(raw_sql: str = raw_sql) -> None:
                with connection.cursor() as cursor:
                    cursor.execute(raw_sql, {"merchant": merchant.pk})
                    cursor.fetchone()

            raw_p50 = statistics.median(_timed(raw, args.runs))
        count_ms = _timed(lambda checked=checked: audience_count(merchant=merchant, rules=checked), args.runs)
        form = _form(checked)
        response = client.post("/segments/count/", form, HTTP_HX_REQUEST="true")
        body = response.content.decode()
        # A rule relative to now may gain a shopper between the two counts: the endpoint's count, recounted.
        recounted = audience_count(merchant=merchant, rules=checked)
        if response.status_code != 200 or (f"{ours:,}" not in body and f"{recounted:,}" not in body):
            raise SystemExit(f"{name}: the count endpoint answered {response.status_code} without {ours:,}")
        endpoint_ms = _timed(lambda form=form: client.post("/segments/count/", form, HTTP_HX_REQUEST="true"), args.runs)
        p50 = statistics.median(count_ms)
        emit(
            bench="segments",
            rules=name,
            merchant=merchant.slug,
            shoppers=shoppers,
            audience=ours,
            count_p50_ms=round(p50, 1),
            count_p95_ms=round(percentile(count_ms, 0.95), 1),
            endpoint_p50_ms=round(statistics.median(endpoint_ms), 1),
            endpoint_p95_ms=round(percentile(endpoint_ms, 0.95), 1),
            raw_sql_ms=round(raw_p50, 1) if raw_p50 is not None else None,
            ratio_p50=round(p50 / raw_p50, 2) if raw_p50 else None,
        )


if __name__ == "__main__":
    main()
