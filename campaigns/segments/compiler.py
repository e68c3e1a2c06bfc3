"""Segment rules: their format, their validation, and their compilation into one query.

A segment's rules are JSON kept in `Segment.rules`:

    {"match": "all" | "any",
     "conditions": [{"field": "lifecycle_stage", "op": "in", "value": ["lapsed", "at_risk"]}, ...]}

`rules_check` validates rules for one merchant and returns them normalised (or raises an
ApplicationError whose `fields` name the condition at fault: "match", "conditions.2");
`rules_condition` turns valid rules into one `Q` over `Shopper`. Every condition becomes a
subquery over one table, always restricted to the merchant, so a whole segment is a single
SQL statement that PostgreSQL plans as semi-joins (or hashed subplans under "any").

What the fields read:
- lifecycle stage and R/F/M quintiles: `ShopperScore`, refreshed in the background
  (services.scores_refresh) with the insight dashboard's stage definitions;
- channel behaviour, purchase count, total spend, days since the last purchase: the
  per-shopper rollup (`ShopperRollup`, kept in step with purchases);
- spend in a category: line items of purchases that are not fully refunded, over N days;
- store visited: a purchase at the store or a recorded visit (Wi-Fi, geofence, kiosk);
  both read the per-shopper purchase facts (`ShopperPurchaseFact`, one row per purchase and
  category, kept by the score passes) once a sweep has written them, the purchases and line
  items themselves until then (and always when one shopper is asked about);
- visits: recorded visits over N days;
- preferences, birthday month, language: what the shopper told us;
- tier and points balance: the loyalty account (non-members match no points condition);
- consented channel: the latest marketing consent event on the channel is a grant (the
  ledger's current state, as the profile page shows it), read from `ShopperMarketingConsent`
  (kept by the score passes, a minute behind the ledger at most) once a sweep has written it.
"""

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum

from campaigns.models.segments import (
    ShopperMarketingConsent,
    ShopperPurchaseFact,
    ShopperScore,
    ShopperScoreRefresh,
)
from core.errors import ApplicationError
from insights.stages import STAGE_LABELS, STAGES
from loyalty.models import Account, Tier
from merchants.models import Merchant, Store
from profiles.models import (
    ConsentChannel,
    ConsentEvent,
    ConsentPurpose,
    LineItem,
    Purchase,
    ShopperPreferences,
    ShopperRollup,
    Visit,
)

MATCH_CHOICES = (("all", "all of"), ("any", "any of"))
MAX_CONDITIONS = 20
MAX_DAYS = 3650
NO_STAGE = "none"
NO_TIER = "none"

# Condition kinds: how the value looks and which inputs the builder shows.
CHOICES = "choices"  # value: a non-empty list of choice keys
NUMBER = "number"  # value: an integer
MONEY = "money"  # value: an integer amount in minor units
CATEGORY_SPEND = "category_spend"  # value: {"category": str, "amount_minor": int, "days": int | None}
STORE_VISIT = "store_visit"  # value: {"store": int, "days": int | None}
VISIT_COUNT = "visit_count"  # value: {"count": int, "days": int | None}
PREFERENCE = "preference"  # value: {"kind": str, "value": str}
CHANNEL = "channel"  # value: "email" | "sms"

IN_OPS = (("in", "is any of"), ("not_in", "is none of"))
NUMBER_OPS = (("gte", "at least"), ("lte", "at most"), ("eq", "exactly"))

PREFERENCE_KINDS = (
    ("favourite_categories", "Favourite category"),
    ("brands", "Brand"),
    ("sizes", "Size"),
    ("colours", "Colour"),
    ("styles", "Style"),
)
CHANNEL_BEHAVIOURS = (
    ("store_only", "Store only"),
    ("online_only", "Online only"),
    ("omnichannel", "Omnichannel"),
    ("none", "No purchase yet"),
)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str
    ops: tuple[tuple[str, str], ...]
    group: str
    help_text: str = ""
    minimum: int = 0
    maximum: int | None = None
    # For CHOICES: the merchant's choices as (key, label) pairs.
    choices: Callable[[Merchant], list[tuple[str, str]]] | None = None

    @property
    def op_keys(self) -> tuple[str, ...]:
        return tuple(key for key, _label in self.ops)

    def op_label(self, op: str) -> str:
        return dict(self.ops).get(op, op)


def _stage_choices(merchant: Merchant) -> list[tuple[str, str]]:
    return [(stage, str(STAGE_LABELS[stage])) for stage in STAGES] + [(NO_STAGE, "No purchase yet")]


def _tier_choices(merchant: Merchant) -> list[tuple[str, str]]:
    tiers = Tier.objects.filter(merchant=merchant).order_by("threshold", "pk").values_list("pk", "name")
    return [(str(pk), name) for pk, name in tiers] + [(NO_TIER, "No tier")]


def _month_choices(merchant: Merchant) -> list[tuple[str, str]]:
    return [(str(month), calendar.month_name[month]) for month in range(1, 13)]


def _language_choices(merchant: Merchant) -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def _channel_behaviour_choices(merchant: Merchant) -> list[tuple[str, str]]:
    return list(CHANNEL_BEHAVIOURS)


def store_choices(merchant: Merchant) -> list[tuple[str, str]]:
    return [
        (str(pk), name)
        for pk, name in Store.objects.filter(merchant=merchant).order_by("name").values_list("pk", "name")
    ]


FIELDS: dict[str, Field] = {
    field.key: field
    for field in (
        Field("lifecycle_stage", "Lifecycle stage", CHOICES, IN_OPS, "Behaviour", choices=_stage_choices,
              help_text="Stages as on the lifecycle dashboard, with its thresholds."),
        Field("rfm_recency", "Recency score (1–5)", NUMBER, NUMBER_OPS, "Behaviour", minimum=1, maximum=5,
              help_text="5: the fifth who bought most recently."),
        Field("rfm_frequency", "Frequency score (1–5)", NUMBER, NUMBER_OPS, "Behaviour", minimum=1, maximum=5,
              help_text="5: the fifth who bought most often."),
        Field("rfm_monetary", "Spend score (1–5)", NUMBER, NUMBER_OPS, "Behaviour", minimum=1, maximum=5,
              help_text="5: the fifth who spent most."),
        Field("channel_behaviour", "Channel behaviour", CHOICES, IN_OPS, "Behaviour",
              choices=_channel_behaviour_choices),
        Field("purchase_count", "Purchases in all", NUMBER, NUMBER_OPS, "Behaviour"),
        Field("total_spend", "Spend in all", MONEY, NUMBER_OPS, "Behaviour"),
        Field("days_since_last_purchase", "Days since the last purchase", NUMBER, NUMBER_OPS, "Behaviour",
              help_text="Shoppers who never bought match no such condition."),
        Field("category_spend", "Spend in a category", CATEGORY_SPEND, (("gte", "at least"), ("lt", "less than")),
              "Behaviour", help_text="Line items of purchases not fully refunded; leave the days empty for all time."),
        Field("store_visited", "Store visited", STORE_VISIT, (("visited", "visited"), ("not_visited", "did not visit")),
              "Stores", help_text="A purchase at the store or a Wi-Fi, geofence or kiosk visit."),
        Field("visit_count", "Store visits", VISIT_COUNT, (("gte", "at least"), ("lte", "at most")), "Stores",
              help_text="Recorded visits (Wi-Fi, geofence, kiosk); leave the days empty for all time."),
        Field("preference", "Preference", PREFERENCE, (("includes", "includes"), ("excludes", "does not include")),
              "Profile"),
        Field("tier", "Loyalty tier", CHOICES, IN_OPS, "Loyalty", choices=_tier_choices),
        Field("points_balance", "Points balance", NUMBER, NUMBER_OPS, "Loyalty",
              help_text="Loyalty members only."),
        Field("birthday_month", "Birthday month", CHOICES, IN_OPS, "Profile", choices=_month_choices),
        Field("language", "Language", CHOICES, IN_OPS, "Profile", choices=_language_choices),
        Field("consented_channel", "Marketing consent", CHANNEL,
              (("granted", "granted on"), ("not_granted", "not granted on")), "Profile",
              help_text="The latest marketing decision on the channel, from the consent ledger."),
    )
}  # fmt: skip


# Validation


class _Invalid(Exception):
    pass


def _integer(value: Any, *, what: str, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise _Invalid(f"Give {what} as a whole number.")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise _Invalid(f"Give {what} as a whole number.")
    if value < minimum:
        raise _Invalid(f"Give {what} of at least {minimum}.")
    if maximum is not None and value > maximum:
        raise _Invalid(f"Give {what} of at most {maximum}.")
    return value


def _days(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return _integer(value, what="the number of days", minimum=1, maximum=MAX_DAYS)


def _text(value: Any, *, what: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"Give {what}.")
    value = value.strip()
    if len(value) > max_length:
        raise _Invalid(f"Keep {what} under {max_length} characters.")
    return value


def _object(value: Any, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid("This condition's value is malformed.")
    unknown = set(value) - keys
    if unknown:
        raise _Invalid(f"Unknown part of the value: {', '.join(sorted(unknown))}.")
    return value


def _check_value(merchant: Merchant, field: Field, value: Any) -> Any:
    if field.kind == CHOICES:
        allowed = [key for key, _label in field.choices(merchant)] if field.choices else []
        items = value if isinstance(value, list) else [value]
        chosen = {str(item) for item in items if item is not None and str(item) != ""}
        if not chosen:
            raise _Invalid(f"Choose at least one {field.label.lower()}.")
        unknown = chosen - set(allowed)
        if unknown:
            raise _Invalid(f"Not a {field.label.lower()} of this merchant: {', '.join(sorted(unknown))}.")
        return [key for key in allowed if key in chosen]
    if field.kind == NUMBER:
        return _integer(value, what="a number", minimum=field.minimum, maximum=field.maximum)
    if field.kind == MONEY:
        return _integer(value, what="an amount", minimum=0)
    if field.kind == CATEGORY_SPEND:
        value = _object(value, {"category", "amount_minor", "days"})
        return {
            "category": _text(value.get("category"), what="a category", max_length=100),
            "amount_minor": _integer(value.get("amount_minor"), what="an amount", minimum=1),
            "days": _days(value.get("days")),
        }
    if field.kind == STORE_VISIT:
        value = _object(value, {"store", "days"})
        store = str(value.get("store") or "")
        if store not in {key for key, _label in store_choices(merchant)}:
            raise _Invalid("Choose one of your stores.")
        return {"store": int(store), "days": _days(value.get("days"))}
    if field.kind == VISIT_COUNT:
        value = _object(value, {"count", "days"})
        return {"count": _integer(value.get("count"), what="a number of visits"), "days": _days(value.get("days"))}
    if field.kind == PREFERENCE:
        value = _object(value, {"kind", "value"})
        kind = value.get("kind")
        if kind not in dict(PREFERENCE_KINDS):
            raise _Invalid("Choose what kind of preference.")
        return {"kind": kind, "value": _text(value.get("value"), what="a preference", max_length=60)}
    if field.kind == CHANNEL:
        if value not in ConsentChannel.values:
            raise _Invalid("Choose email or SMS.")
        return value
    raise AssertionError(f"unhandled kind {field.kind}")


def rules_check(*, merchant: Merchant, rules: Any) -> dict[str, Any]:
    """The rules normalised, or an ApplicationError naming every condition at fault."""
    if not isinstance(rules, dict):
        raise ApplicationError("Rules must be an object with “match” and “conditions”.", field="rules")
    errors: dict[str, list[str]] = {}
    match = rules.get("match", "all")
    if match not in dict(MATCH_CHOICES):
        errors["match"] = ["Match “all” or “any” of the conditions."]
    conditions = rules.get("conditions", [])
    if not isinstance(conditions, list):
        raise ApplicationError("“conditions” must be a list.", field="conditions")
    if len(conditions) > MAX_CONDITIONS:
        errors["conditions"] = [f"A segment has at most {MAX_CONDITIONS} conditions."]
    normalised = []
    for index, condition in enumerate(conditions):
        try:
            normalised.append(_check_condition(merchant, condition))
        except _Invalid as error:
            errors[f"conditions.{index}"] = [str(error)]
    unknown = set(rules) - {"match", "conditions"}
    if unknown:
        errors["rules"] = [f"Unknown key: {', '.join(sorted(unknown))}."]
    if errors:
        plural = "s" if len(errors) > 1 else ""
        raise ApplicationError(
            f"{len(errors)} problem{plural} in the rules: fix the marked condition{plural}.",
            code="invalid_rules",
            fields=errors,
        )
    return {"match": match, "conditions": normalised}


def _check_condition(merchant: Merchant, condition: Any) -> dict[str, Any]:
    if not isinstance(condition, dict) or set(condition) - {"field", "op", "value"}:
        raise _Invalid("A condition is an object with “field”, “op” and “value”.")
    field = FIELDS.get(condition.get("field"))  # type: ignore[arg-type]
    if field is None:
        raise _Invalid(f"Unknown field “{condition.get('field')}”.")
    op = condition.get("op")
    if op not in field.op_keys:
        raise _Invalid(f"“{op}” does not apply to {field.label.lower()}: use {', '.join(field.op_keys)}.")
    return {"field": field.key, "op": op, "value": _check_value(merchant, field, condition.get("value"))}


# Compilation


@dataclass(frozen=True)
class _Context:
    merchant: Merchant
    now: datetime
    # Set when one shopper is asked about: each subquery then reads only that shopper's rows.
    shopper_id: int | None = None
    # The merchant's purchase facts are written (campaigns.segments.scores): read them, not the purchases.
    facts: bool = False

    def within(self, queryset: QuerySet[Any], column: str = "shopper_id") -> Q:
        """Shoppers whose id is in `column` of the queryset's rows (a semi-join, or a hashed subplan)."""
        if self.shopper_id is not None:
            queryset = queryset.filter(**{column: self.shopper_id})
        return Q(pk__in=queryset.values(column))


def _compare(column: str, op: str, value: Any) -> Q:
    lookup = {"gte": "gte", "lte": "lte", "eq": "exact"}[op]
    return Q(**{f"{column}__{lookup}": value})


def _since(now: datetime, days: int | None) -> Q:
    return Q() if days is None else Q(occurred_at__gte=now - timedelta(days=days))


def _stage(ctx: _Context, op: str, stages: list[str]) -> Q:
    scores = ShopperScore.objects.filter(merchant=ctx.merchant)
    named = [stage for stage in stages if stage != NO_STAGE]
    parts = [ctx.within(scores.filter(lifecycle_stage__in=named))] if named else []
    if NO_STAGE in stages:
        parts.append(~ctx.within(scores))
    return _any(parts)


def _score(column: str) -> Callable[[_Context, str, Any], Q]:
    def build(ctx: _Context, op: str, value: Any) -> Q:
        return ctx.within(ShopperScore.objects.filter(merchant=ctx.merchant).filter(_compare(column, op, value)))

    return build


def _channel_behaviour(ctx: _Context, op: str, values: list[str]) -> Q:
    classes = {
        "store_only": Q(in_store_count__gt=0, online_count=0),
        "online_only": Q(online_count__gt=0, in_store_count=0),
        "omnichannel": Q(online_count__gt=0, in_store_count__gt=0),
    }
    rollups = ShopperRollup.objects.filter(merchant=ctx.merchant)
    parts = [ctx.within(rollups.filter(classes[value])) for value in values if value in classes]
    if "none" in values:
        parts.append(~ctx.within(rollups.filter(purchase_count__gt=0)))
    return _any(parts)


def _any(parts: list[Q]) -> Q:
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def _rollup(column: str) -> Callable[[_Context, str, Any], Q]:
    def build(ctx: _Context, op: str, value: Any) -> Q:
        rollups = ShopperRollup.objects.filter(merchant=ctx.merchant, purchase_count__gt=0)
        return ctx.within(rollups.filter(_compare(column, op, value)))

    return build


def _days_since_last_purchase(ctx: _Context, op: str, days: int) -> Q:
    # Whole days: "at least 90" is a last purchase 90 × 24 hours ago or earlier.
    rollups = ShopperRollup.objects.filter(merchant=ctx.merchant, purchase_count__gt=0)
    at_least, under = ctx.now - timedelta(days=days), ctx.now - timedelta(days=days + 1)
    bounds = {
        "gte": Q(last_purchase_at__lte=at_least),
        "lte": Q(last_purchase_at__gt=under),
        "eq": Q(last_purchase_at__lte=at_least, last_purchase_at__gt=under),
    }
    return ctx.within(rollups.filter(bounds[op]))


def _category_spend(ctx: _Context, op: str, value: dict[str, Any]) -> Q:
    if ctx.facts:
        facts = ShopperPurchaseFact.objects.filter(merchant=ctx.merchant, category=value["category"], counts=True)
        spenders = (
            facts.filter(_since(ctx.now, value["days"]))
            .values("shopper_id")
            .annotate(spent=Sum("spent_minor"))
            .filter(spent__gte=value["amount_minor"])
        )
        condition = ctx.within(spenders)
        return condition if op == "gte" else ~condition
    since = Q() if value["days"] is None else Q(purchase__occurred_at__gte=ctx.now - timedelta(days=value["days"]))
    spenders = (
        LineItem.objects.filter(merchant=ctx.merchant, category=value["category"], purchase__shopper__isnull=False)
        .filter(since, purchase__amount_minor__gt=F("purchase__refunded_minor"))
        .values("purchase__shopper_id")
        .annotate(spent=Sum(F("quantity") * F("unit_price_minor")))
        .filter(spent__gte=value["amount_minor"])
    )
    condition = ctx.within(spenders, "purchase__shopper_id")
    return condition if op == "gte" else ~condition


def _store_visited(ctx: _Context, op: str, value: dict[str, Any]) -> Q:
    since = _since(ctx.now, value["days"])
    if ctx.facts:
        purchases: QuerySet[Any] = ShopperPurchaseFact.objects.filter(merchant=ctx.merchant, store_id=value["store"])
    else:
        purchases = Purchase.objects.filter(merchant=ctx.merchant, store_id=value["store"], shopper__isnull=False)
    visits = Visit.objects.filter(merchant=ctx.merchant, store_id=value["store"], shopper__isnull=False)
    condition = ctx.within(purchases.filter(since)) | ctx.within(visits.filter(since))
    return condition if op == "visited" else ~condition


def _visit_count(ctx: _Context, op: str, value: dict[str, Any]) -> Q:
    threshold = value["count"] if op == "gte" else value["count"] + 1
    if threshold <= 0:
        return Q()
    visitors = (
        Visit.objects.filter(merchant=ctx.merchant, shopper__isnull=False)
        .filter(_since(ctx.now, value["days"]))
        .values("shopper_id")
        .annotate(visits=Count("pk"))
        .filter(visits__gte=threshold)
    )
    condition = ctx.within(visitors)
    return condition if op == "gte" else ~condition


def _preference(ctx: _Context, op: str, value: dict[str, Any]) -> Q:
    preferences = ShopperPreferences.objects.filter(
        merchant=ctx.merchant, **{f"{value['kind']}__contains": [value["value"]]}
    )
    condition = ctx.within(preferences)
    return condition if op == "includes" else ~condition


def _tier(ctx: _Context, op: str, values: list[str]) -> Q:
    accounts = Account.objects.filter(merchant=ctx.merchant)
    tier_ids = [int(value) for value in values if value != NO_TIER]
    parts = [ctx.within(accounts.filter(tier_id__in=tier_ids))] if tier_ids else []
    if NO_TIER in values:
        parts.append(~ctx.within(accounts.filter(tier__isnull=False)))
    return _any(parts)


def _points_balance(ctx: _Context, op: str, value: int) -> Q:
    return ctx.within(Account.objects.filter(merchant=ctx.merchant).filter(_compare("points_balance", op, value)))


def _birthday_month(ctx: _Context, op: str, values: list[str]) -> Q:
    return Q(birthday__month__in=[int(value) for value in values])


def _language(ctx: _Context, op: str, values: list[str]) -> Q:
    return Q(language__in=values)


def current_marketing_grants(
    *, merchant: Merchant, channel: str, shopper_id: int | None = None
) -> QuerySet[ConsentEvent]:
    """Grants of marketing on `channel` that no later decision replaced: the shoppers whose current consent is a grant.

    The same rule as profiles' `consents_current` (the latest event, ties broken by id), written as an
    anti-join so that PostgreSQL hashes it instead of sorting the ledger once per shopper.
    """
    events = ConsentEvent.objects.filter(merchant=merchant, channel=channel, purpose=ConsentPurpose.MARKETING)
    if shopper_id is not None:
        events = events.filter(shopper_id=shopper_id)
    later = ConsentEvent.objects.filter(
        shopper_id=OuterRef("shopper_id"), channel=channel, purpose=ConsentPurpose.MARKETING
    ).filter(Q(occurred_at__gt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), pk__gt=OuterRef("pk")))
    return events.filter(is_granted=True).filter(~Exists(later))


def _consented_channel(ctx: _Context, op: str, channel: str) -> Q:
    if ctx.facts:
        granted = ShopperMarketingConsent.objects.filter(merchant=ctx.merchant, channel=channel, is_granted=True)
        condition = ctx.within(granted)
        return condition if op == "granted" else ~condition
    condition = ctx.within(current_marketing_grants(merchant=ctx.merchant, channel=channel, shopper_id=ctx.shopper_id))
    return condition if op == "granted" else ~condition


_BUILDERS: dict[str, Callable[[_Context, str, Any], Q]] = {
    "lifecycle_stage": _stage,
    "rfm_recency": _score("recency"),
    "rfm_frequency": _score("frequency"),
    "rfm_monetary": _score("monetary"),
    "channel_behaviour": _channel_behaviour,
    "purchase_count": _rollup("purchase_count"),
    "total_spend": _rollup("total_minor"),
    "days_since_last_purchase": _days_since_last_purchase,
    "category_spend": _category_spend,
    "store_visited": _store_visited,
    "visit_count": _visit_count,
    "preference": _preference,
    "tier": _tier,
    "points_balance": _points_balance,
    "birthday_month": _birthday_month,
    "language": _language,
    "consented_channel": _consented_channel,
}
assert set(_BUILDERS) == set(FIELDS)  # noqa: S101 - a field without a compiler is a programming error
# Fields that read the purchase facts once they are written.
_READS_FACTS = {"category_spend", "store_visited", "consented_channel"}


def _condition(ctx: _Context, condition: dict[str, Any]) -> Q:
    field = FIELDS[condition["field"]]
    op = condition["op"]
    # Choice fields compile their "is any of"; "is none of" is its negation.
    build_op = "in" if field.kind == CHOICES else op
    condition_filter = _BUILDERS[field.key](ctx, build_op, condition["value"])
    return ~condition_filter if field.kind == CHOICES and op == "not_in" else condition_filter


def rules_condition(*, merchant: Merchant, rules: dict[str, Any], now: datetime, shopper_id: int | None = None) -> Q:
    """Normalised rules (from `rules_check`) as one filter on Shopper; no conditions match everyone.

    With `shopper_id`, every subquery is narrowed to that shopper: asking whether one shopper is in
    costs a few index lookups however large the merchant.
    """
    conditions = rules.get("conditions", [])
    # One shopper is asked about at send time (triggers): their own rows are few, and read exactly as they are.
    facts = (
        shopper_id is None
        and any(condition["field"] in _READS_FACTS for condition in conditions)
        and ShopperScoreRefresh.objects.filter(merchant=merchant, facts_ready=True).exists()
    )
    ctx = _Context(merchant=merchant, now=now, shopper_id=shopper_id, facts=facts)
    parts = [_condition(ctx, condition) for condition in conditions]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if rules.get("match", "all") == "all" else combined | part
    return combined
