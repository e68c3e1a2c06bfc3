"""Segment counts at scale: the compiled audience query against the same count in hand-written SQL.

    python manage.py seed_demo --shoppers 100000 --purchases 1000000   # once: merchant "megastore"
    python -m benchmarks.segments [--merchant megastore] [--runs 10]

Like the dashboard benchmark it reads the database DATABASE_URL names and writes nothing there but the
merchant's shopper scores, refreshed first (the refresh's time is reported). For each rule set it
times `audience_count` (compiling the rules and running the one query), the live-count endpoint the
builder calls (through Django's test client, as the owner: middleware, form parsing, checks, query,
template), and a hand-written SQL query computing the same count, in the same process. The counts
must agree. One JSON line per rule set:

    {"bench": "segments", "rules": "lapsing_regulars", "shoppers": …, "count_p50_ms": …, "count_p95_ms": …,
     "endpoint_p50_ms": …, "raw_sql_ms": …, "ratio_p50": …}
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
RULE_SETS: dict[str, tuple[dict[str, Any], str]] = {
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
    """The rules as the builder posts them (only the inputs these rule sets use)."""
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
            data[f"c{index}-days"] = str(value["days"])
        elif isinstance(value, dict):
            data[f"c{index}-number"], data[f"c{index}-days"] = str(value["count"]), str(value["days"])
        elif condition["field"] == "consented_channel":
            data[f"c{index}-channel"] = value
        else:
            data[f"c{index}-number"] = str(value)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--merchant", default="megastore", help="slug of the merchant to read (default megastore)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each query, after warm-up")
    args = parser.parse_args()

    django_setup_existing()
    from django.db import connection
    from django.test import Client

    from campaigns.segments import compiler, services
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
    note(f"{merchant.name}: {shoppers:,} active shoppers; refreshing scores")
    refresh = services.scores_refresh(merchant=merchant)
    emit(
        bench="segments",
        figure="scores_refresh",
        shoppers=shoppers,
        scored=refresh.scored_shoppers,
        seconds=round(refresh.duration_ms / 1000, 2),
    )
    owner = StaffMembership.objects.filter(merchant=merchant, role=Role.OWNER).select_related("user").first()
    client = Client()
    client.force_login(owner.user)
    for name, (rules, raw_sql) in RULE_SETS.items():
        checked = compiler.rules_check(merchant=merchant, rules=rules)
        ours = audience_count(merchant=merchant, rules=checked)
        with connection.cursor() as cursor:
            cursor.execute(raw_sql, {"merchant": merchant.pk})
            (theirs,) = cursor.fetchone()
        if ours != theirs:
            raise SystemExit(f"{name}: the compiled query counts {ours}, the plain SQL {theirs}")
        count_ms = _timed(lambda checked=checked: audience_count(merchant=merchant, rules=checked), args.runs)

        def raw(raw_sql: str = raw_sql) -> None:
            with connection.cursor() as cursor:
                cursor.execute(raw_sql, {"merchant": merchant.pk})
                cursor.fetchone()

        raw_ms = _timed(raw, args.runs)
        form = _form(checked)
        response = client.post("/segments/count/", form, HTTP_HX_REQUEST="true")
        if response.status_code != 200 or f"{ours:,}" not in response.content.decode():
            raise SystemExit(f"{name}: the count endpoint answered {response.status_code} without {ours:,}")
        endpoint_ms = _timed(lambda form=form: client.post("/segments/count/", form, HTTP_HX_REQUEST="true"), args.runs)
        p50, raw_p50 = statistics.median(count_ms), statistics.median(raw_ms)
        emit(
            bench="segments",
            rules=name,
            merchant=merchant.slug,
            shoppers=shoppers,
            audience=ours,
            count_p50_ms=round(p50, 1),
            count_p95_ms=round(percentile(count_ms, 0.95), 1),
            endpoint_p50_ms=round(statistics.median(endpoint_ms), 1),
            raw_sql_ms=round(raw_p50, 1),
            ratio_p50=round(p50 / raw_p50, 2) if raw_p50 else None,
        )


if __name__ == "__main__":
    main()
