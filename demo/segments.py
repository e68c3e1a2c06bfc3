"""Demo segments for the demo merchants, and their shoppers' scores.

`manage.py seed_demo` calls `demo_segments_seed` after the loyalty programs. Segments are created
through the service, so they are checked like any other; running it again
changes nothing but the scores, which are refreshed.
"""

from typing import Any

from campaigns.models import Segment
from campaigns.segments import scores, services
from campaigns.segments.selectors import audience_count
from merchants.models import Merchant


def _all(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"match": "all", "conditions": list(conditions)}


def _any(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"match": "any", "conditions": list(conditions)}


def _condition(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


EMAIL_CONSENT = _condition("consented_channel", "granted", "email")

DEMO_SEGMENTS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "northwind": [
        (
            "Win back: lapsing regulars",
            "At risk or lapsed, who bought at least four times, and can be emailed.",
            _all(
                _condition("lifecycle_stage", "in", ["at_risk", "lapsed"]),
                _condition("purchase_count", "gte", 4),
                EMAIL_CONSENT,
            ),
        ),
        (
            "Store-only shoppers to invite online",
            "Bought in store, never online, and agreed to marketing email.",
            _all(_condition("channel_behaviour", "in", ["store_only"]), EMAIL_CONSENT),
        ),
        (
            "Shoe buyers of the last 90 days",
            "Spent at least 100.00 on shoes in the last 90 days.",
            _all(_condition("category_spend", "gte", {"category": "Shoes", "amount_minor": 10000, "days": 90})),
        ),
        (
            "Best customers",
            "Top spenders, or the top fifth on both frequency and spend.",
            _any(
                _condition("lifecycle_stage", "in", ["top"]),
                _condition("rfm_monetary", "eq", 5),
            ),
        ),
    ],
    "blue-bean": [
        (
            "Regulars who never bought beans",
            "Regular coffee drinkers with no beans in the last year: a home-brewing offer.",
            _all(
                _condition("lifecycle_stage", "in", ["regular", "top"]),
                _condition("category_spend", "lt", {"category": "Beans", "amount_minor": 1, "days": 365}),
            ),
        ),
        (
            "New shoppers to welcome",
            "First purchase within the new-shopper window, and agreed to marketing email.",
            _all(_condition("lifecycle_stage", "in", ["new"]), EMAIL_CONSENT),
        ),
    ],
}


def demo_segments_seed(*, stdout: Any = None) -> None:
    for slug, segments in DEMO_SEGMENTS.items():
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            continue
        refresh = scores.scores_refresh(merchant=merchant)
        for name, description, rules in segments:
            if Segment.objects.for_merchant(merchant).filter(name=name).exists():
                continue
            segment = services.segment_create(
                merchant=merchant, actor=None, name=name, description=description, rules=rules
            )
            if stdout is not None:
                count = audience_count(merchant=merchant, rules=segment.rules)
                stdout.write(f"  {merchant.name}: segment “{name}” reaches {count:,} shoppers\n")
        if stdout is not None:
            stdout.write(f"  {merchant.name}: {refresh.scored_shoppers:,} shoppers scored for segments\n")
