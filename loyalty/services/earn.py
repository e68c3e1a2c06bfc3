"""Earning: the rules evaluated on every recorded purchase, inside the ingest transaction.

`purchase_earn` is called by loyalty's receiver of `profiles.signals.purchase_recorded`.
Cost per purchase with a known shopper: two statements. The first upserts the
account and reads what the rules need (line items, earlier channels, points under
caps, offers already had: each only if a rule or offer needs it), and checks that
the program this process cached, with its rules, tiers, offers and partner
agreements, is still at the same `rules_version` (every change bumps it; on a
change the program is read again). The second writes the earning row, all ledger
entries and the balance. Then one statement per offer the purchase qualifies for.
Purchases without a shopper cost nothing.

Earning is idempotent per purchase. A purchase completed after it was recorded (matched with its
twin, so that it gained its shopper, card or line items; or cleared at another amount) is sent
again as a change, and may arrive twice: whatever has earned before goes through
`_earn_difference`, which evaluates the purchase as it now is and books only what differs from
what it already booked, per reason and rule, so nothing is earned twice and nothing is missed.

`earn_evaluate` is pure: the rule editor's live preview calls it with a made-up
purchase, so what the preview says is what ingest does.
"""

import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from loyalty.models import (
    Bucket,
    EarnRule,
    LedgerEntry,
    Offer,
    OfferAward,
    PartnerAgreement,
    PartnerAward,
    PartnerStatus,
    Program,
    ProgramKind,
    PurchaseEarning,
    Reason,
    RuleKind,
    Tier,
)
from loyalty.services import ledger
from loyalty.services.accounts import (
    ACCOUNT_UPSERT_SQL,
    program_absence_remember,
    program_absent_for,
    program_for,
)
from loyalty.services.offers import offers_apply
from loyalty.services.partners import partner_bonus_apply
from loyalty.services.rates import base_points, expiry_for, rounded
from loyalty.services.tiers import tier_upgrade
from merchants.models import Merchant
from profiles.models import LineItem, Purchase, PurchaseState

# Per merchant: the active program and its rules, as last loaded by this process. Every purchase
# checks the program's rules_version in the statement that writes the account, and reloads on a change.
_CACHE: dict[int, tuple[Program, "ProgramRules"]] = {}


@dataclass(frozen=True)
class ProgramRules:
    """What earning needs besides the program row, loaded once per rules_version."""

    rules: tuple[EarnRule, ...]
    tiers: tuple[Tier, ...]
    offers: tuple[Offer, ...]
    agreements: tuple[PartnerAgreement, ...]

    @property
    def needs_line_items(self) -> bool:
        return any(rule.kind in (RuleKind.CATEGORY, RuleKind.SKU) for rule in self.rules)

    @property
    def first_in_channel_rules(self) -> bool:
        return any(rule.kind == RuleKind.CHANNEL and rule.first_in_channel for rule in self.rules)


def _program_rules_load(program: Program) -> "ProgramRules":
    return ProgramRules(
        rules=tuple(EarnRule.objects.filter(program=program, is_active=True).order_by("pk")),
        tiers=tuple(Tier.objects.filter(program=program).order_by("threshold")),
        offers=tuple(Offer.objects.filter(program=program, is_active=True).order_by("pk")),
        agreements=tuple(
            PartnerAgreement.objects.filter(merchant_id=program.merchant_id, status=PartnerStatus.ACTIVE)
            .select_related("partner")
            .order_by("pk")
        ),
    )


def program_cached(merchant: Merchant, *, reload: bool = False) -> tuple[Program, "ProgramRules"] | None:
    """The merchant's active program and rules: from this process's cache, or loaded (and cached)."""
    cached = None if reload else _CACHE.get(merchant.pk)
    if cached is not None:
        return cached
    _CACHE.pop(merchant.pk, None)
    if not reload and program_absent_for(merchant):
        return None
    program = program_for(merchant)
    if program is None:
        program_absence_remember(merchant_id=merchant.pk)
        return None
    cached = (program, _program_rules_load(program))
    _CACHE[merchant.pk] = cached
    return cached


# Evaluation (pure)


@dataclass(frozen=True)
class Line:
    sku: str
    category: str
    quantity: int
    unit_price_minor: int

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class PurchaseFacts:
    amount_minor: int
    channel: str
    occurred_at: datetime
    store_id: int | None = None
    timezone: str = "UTC"
    lines: Sequence[Line] = ()
    # Channels the shopper had bought in before this purchase.
    earlier_channels: frozenset[str] = frozenset()
    tier: Tier | None = None
    # Points already earned per capped rule by this shopper (on other purchases than this one).
    earned_by_rule: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class EarnLine:
    reason: str
    points: int
    label: str
    rule: EarnRule | None = None


def _rule_applies_on(rule: EarnRule, local: datetime) -> bool:
    if rule.starts_on and local.date() < rule.starts_on:
        return False
    if rule.ends_on and local.date() > rule.ends_on:
        return False
    if rule.kind != RuleKind.TIME_WINDOW:
        return True
    if rule.weekdays and local.isoweekday() not in rule.weekdays:
        return False
    start, end, moment = rule.start_time, rule.end_time, local.time()
    assert start is not None and end is not None  # noqa: S101 - the model's constraint
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # across midnight


def _rule_base_minor(rule: EarnRule, facts: PurchaseFacts) -> int | None:
    """The spend the rule multiplies, or None if the rule does not apply to this purchase."""
    if facts.amount_minor < rule.minimum_spend_minor:
        return None
    if rule.kind == RuleKind.CATEGORY:
        wanted = rule.category.casefold()
        spend = sum(line.total_minor for line in facts.lines if line.category.casefold() == wanted)
        return spend or None
    if rule.kind == RuleKind.SKU:
        spend = sum(line.total_minor for line in facts.lines if line.sku == rule.sku)
        return spend or None
    if rule.kind == RuleKind.STORE:
        return facts.amount_minor if facts.store_id == rule.store_id else None
    if rule.kind == RuleKind.CHANNEL:
        if facts.channel != rule.channel:
            return None
        if rule.first_in_channel and rule.channel in facts.earlier_channels:
            return None
        return facts.amount_minor
    return facts.amount_minor  # time window (checked above) and minimum-spend bonus


def earn_evaluate(*, program: Program, rules: Sequence[EarnRule], facts: PurchaseFacts) -> list[EarnLine]:
    """The points a purchase earns, one line per reason. Nothing below the program's minimum spend."""
    if facts.amount_minor < program.minimum_spend_minor or facts.amount_minor <= 0:
        return []
    stamps = program.kind == ProgramKind.STAMPS
    base = 1 if stamps else rounded(base_points(program, facts.amount_minor), program.rounding)
    lines = [EarnLine(reason=Reason.EARN, points=base, label="Base rate")]
    local = facts.occurred_at.astimezone(zoneinfo.ZoneInfo(facts.timezone or "UTC"))
    for rule in rules:
        if not _rule_applies_on(rule, local):
            continue
        spend = _rule_base_minor(rule, facts)
        if spend is None:
            continue
        if stamps:
            extra = rounded(Decimal(1) * (rule.multiplier - 1), program.rounding)
        else:
            extra = rounded(base_points(program, spend, rule.multiplier - 1), program.rounding)
        extra += rule.bonus_points
        if rule.cap_points is not None:
            extra = max(0, min(extra, rule.cap_points - facts.earned_by_rule.get(rule.pk, 0)))
        if extra:
            lines.append(EarnLine(reason=Reason.RULE, points=extra, label=rule.name, rule=rule))
    extra = _tier_bonus(program, base, facts.tier)
    if facts.tier is not None and extra:
        lines.append(EarnLine(reason=Reason.TIER, points=extra, label=f"{facts.tier.name} tier"))
    return [line for line in lines if line.points > 0]


def _tier_bonus(program: Program, base: int, tier: Tier | None) -> int:
    if tier is None or tier.earn_multiplier <= 1:
        return 0
    return rounded(Decimal(base) * (tier.earn_multiplier - 1), program.rounding)


# Earning on ingest


# One round trip for everything earning reads: the account (created on the shopper's first purchase,
# and locked until commit), and only what the program's rules need: the shopper's earlier channels,
# the points they already earned from capped rules, the purchase's line items.
_FACTS_SQL = """
    WITH account AS ({upsert})
    SELECT account.id, account.tier_id, {channels} AS channels, {caps} AS caps, {lines} AS lines,
           {awarded} AS awarded
      FROM account
"""
_CHANNELS_SQL = f"""(
    SELECT coalesce(array_agg(DISTINCT channel), '{{}}') FROM {Purchase._meta.db_table}
     WHERE merchant_id = %(merchant)s AND shopper_id = %(shopper)s AND id <> %(purchase)s
)"""  # noqa: S608 - table names from the models; values are bound
_CAPS_SQL = """(
    SELECT coalesce(json_object_agg(rule_id, total), '{}') FROM (
        SELECT rule_id, sum(points) AS total FROM loyalty_ledgerentry
         WHERE rule_id = ANY(%(capped)s) AND account_id = account.id
           -- what this purchase booked before it was completed is its own, not another purchase's
           AND purchase_id IS DISTINCT FROM %(purchase)s
         GROUP BY rule_id) AS earned
)"""
_AWARDED_SQL = """(
    SELECT coalesce(array_agg(offer_id), '{}') FROM loyalty_offeraward
     WHERE shopper_id = %(shopper)s AND offer_id = ANY(%(offers)s)
)"""
_LINES_SQL = f"""(
    SELECT coalesce(json_agg(json_build_array(sku, category, quantity, unit_price_minor)), '[]')
      FROM {LineItem._meta.db_table} WHERE purchase_id = %(purchase)s
)"""  # noqa: S608 - table names from the models; values are bound


@dataclass(frozen=True)
class _Known:
    account_id: int
    tier_id: int | None
    earlier_channels: frozenset[str]
    earned_by_rule: dict[int, int]
    lines: tuple[Line, ...]
    # Offers this shopper already had (each is once per shopper).
    awarded_offers: frozenset[int]


def _known(program: Program, bundle: ProgramRules, purchase: Purchase, shopper_id: int, via: str) -> _Known | None:
    """None if the program was paused or changed since it was cached."""
    capped = [rule.pk for rule in bundle.rules if rule.cap_points is not None]
    sql = _FACTS_SQL.format(
        upsert=ACCOUNT_UPSERT_SQL,
        channels=_CHANNELS_SQL if bundle.first_in_channel_rules else "NULL",
        caps=_CAPS_SQL if capped else "NULL",
        lines=_LINES_SQL if bundle.needs_line_items else "NULL",
        awarded=_AWARDED_SQL if bundle.offers and purchase.card_id else "NULL",
    )
    params: dict[str, Any] = {
        "merchant": program.merchant_id,
        "program": program.pk,
        "version": program.rules_version,
        "shopper": shopper_id,
        "via": via,
        "moment": purchase.occurred_at,
        "purchase": purchase.pk,
        "capped": capped,
        "offers": [offer.pk for offer in bundle.offers],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    account_id, tier_id, channels, caps, lines, awarded = row
    return _Known(
        account_id=account_id,
        tier_id=tier_id,
        earlier_channels=frozenset(channels or ()),
        earned_by_rule={int(rule_id): int(total) for rule_id, total in (caps or {}).items()},
        lines=tuple(
            Line(sku=sku, category=category, quantity=quantity, unit_price_minor=price)
            for sku, category, quantity, price in (lines or ())
        ),
        awarded_offers=frozenset(awarded or ()),
    )


def purchase_earn(*, merchant: Merchant, purchase: Purchase) -> list[EarnLine]:
    """Apply the program's earn rules, card-linked offers and partner bonuses to a recorded purchase.

    Called inside the purchase's own transaction, when it is recorded and again whenever it is
    completed later (see profiles.signals): a purchase that has earned before earns only the
    difference (`_earn_difference`). Points of an authorised (not yet cleared) purchase are
    pending; `ledger.earnings_settle` makes them available, or takes them back.
    Two round trips for a purchase that earns (what the rules need, with the account and a check
    that the cached program is current; the writes), and no savepoint of its own (two more).
    """
    shopper_id = purchase.shopper_id
    if shopper_id is None:
        return []  # nobody to credit: most purchases of a batch leave here, so first
    if not connection.in_atomic_block:
        raise RuntimeError("purchase_earn runs inside the transaction that records the purchase.")
    if purchase.amount_minor - purchase.refunded_minor <= 0:
        return []  # refunded in full before it was known whose it was
    shopper = purchase.shopper
    via = shopper.joined_via if shopper is not None else ""
    cached = program_cached(merchant)  # None only after reading that there is no active program
    known = _known(*cached, purchase, shopper_id, via) if cached is not None else None
    if cached is not None and known is None:  # the program changed since it was cached: read it again
        cached = program_cached(merchant, reload=True)
        known = _known(*cached, purchase, shopper_id, via) if cached is not None else None
    if cached is None or known is None:
        return []  # no program, or it is paused
    program, bundle = cached
    store = purchase.store if purchase.store_id else None
    facts = PurchaseFacts(
        amount_minor=purchase.amount_minor,
        channel=purchase.channel,
        occurred_at=purchase.occurred_at,
        store_id=purchase.store_id,
        timezone=store.timezone if store is not None else merchant.timezone,
        lines=known.lines,
        earlier_channels=known.earlier_channels,
        tier=next((tier for tier in bundle.tiers if tier.pk == known.tier_id), None),
        earned_by_rule=known.earned_by_rule,
    )
    lines = earn_evaluate(program=program, rules=bundle.rules, facts=facts)
    bucket = Bucket.PENDING if purchase.state == PurchaseState.AUTHORISED else Bucket.AVAILABLE
    now = timezone.now()
    expires_at = expiry_for(program, purchase.occurred_at) if bucket == Bucket.AVAILABLE else None
    entries = [
        ledger.Entry(
            merchant_id=merchant.pk,
            account_id=known.account_id,
            bucket=bucket,
            points=line.points,
            reason=line.reason,
            # The purchase's spend counts toward tiers once, on its base line.
            qualifying_spend_minor=purchase.amount_minor if line.reason == Reason.EARN else 0,
            purchase_id=purchase.pk,
            rule_id=line.rule.pk if line.rule else None,
            note=line.label[:300],
            expires_at=expires_at,
            created_at=now,
        )
        for line in lines
    ]
    earning = ledger.Earning(
        merchant_id=merchant.pk,
        purchase_id=purchase.pk,
        account_id=known.account_id,
        amount_minor=purchase.amount_minor,
        # Earned on the whole amount: a refund made before (a purchase that earns only once it is
        # matched with its twin) is then taken back by settlement, like one made after.
        refunded_minor=0,
        points=sum(line.points for line in lines),
        bucket=bucket,
    )
    if not ledger.earning_post(earning=earning, entries=entries):
        # It has earned before: it was completed since (matched with its twin, cleared at another
        # amount), or this is the same purchase again.
        return _earn_difference(merchant, program, bundle, purchase, known, facts)
    if bundle.tiers:
        tier_upgrade(program=program, account_id=known.account_id, current_tier_id=known.tier_id, tiers=bundle.tiers)
    if bundle.offers and purchase.card_id:
        offers_apply(
            program=program,
            offers=bundle.offers,
            purchase=purchase,
            account_id=known.account_id,
            already_awarded=known.awarded_offers,
        )
    if bundle.agreements and purchase.card_id:
        partner_bonus_apply(agreements=bundle.agreements, purchase=purchase)
    if purchase.refunded_minor:
        ledger.earning_settle(merchant=merchant, purchase=purchase, program=program)
    return lines


# Earning again: a purchase completed after it earned

# The reasons a purchase's own earning books, one total per (reason, rule). Offers are once per
# shopper and are looked up on their own; clearing and refund entries are settlement's.
_EARNED_REASONS = (Reason.EARN, Reason.RULE, Reason.TIER)
_Key = tuple[str, int | None]


def _booked(merchant: Merchant, purchase: Purchase) -> dict[_Key, int]:
    totals = (
        LedgerEntry.objects.filter(merchant=merchant, purchase_id=purchase.pk, reason__in=_EARNED_REASONS)
        .order_by()
        .values("reason", "rule_id")
        .annotate(total=Sum("points"))
        .values_list("reason", "rule_id", "total")
    )
    return {(reason, rule_id): int(total) for reason, rule_id, total in totals}


def _tier_first_earned(
    program: Program, tiers: Sequence[Tier], *, base: int, bonus: int, current: Tier | None
) -> tuple[bool, Tier | None]:
    """(known, tier): the tier a purchase that already earned was evaluated at.

    The shopper's tier now may be the one this very purchase lifted them into; evaluated again, the
    purchase keeps the tier bonus it had. Told by what it booked: of the tiers (and none) whose
    multiplier turns its booked base points into its booked tier bonus, the current tier if it is
    one of them, else the highest below it. Not known when none of them does (a tier's multiplier
    was changed since): its tier bonus is then left as it is.
    """
    if base <= 0:
        return True, current  # nothing booked to tell by: as if it earned for the first time
    candidates = [tier for tier in (None, *tiers) if _tier_bonus(program, base, tier) == bonus]
    if not candidates:
        return False, None
    if current in candidates:
        return True, current
    ranked = [None, *tiers]  # by threshold, so a candidate's place is its rank
    below = [tier for tier in candidates if ranked.index(tier) < ranked.index(current)]
    return True, (below or candidates)[-1]


def _earn_difference(
    merchant: Merchant, program: Program, bundle: ProgramRules, purchase: Purchase, known: _Known, facts: PurchaseFacts
) -> list[EarnLine]:
    """Book what the purchase as it now is earns beyond what it booked before; nothing for a retry.

    Each (reason, rule) moves by its difference, in the bucket the purchase's points are in (pending
    until settlement clears them), and the earning row follows, so settlement then takes back a
    refund's share of the whole. A rule no longer active keeps what it gave: its terms held when the
    purchase earned. Offers the purchase now qualifies for, and partner bonuses it has not had, are
    added; the purchase is then settled at once (a new clearing amount, an earlier refund).
    Call holding the account (as `purchase_earn` does): the earning row is locked after it.
    """
    earning = PurchaseEarning.objects.select_for_update().filter(merchant=merchant, purchase_id=purchase.pk).first()
    if earning is None or not earning.is_open:
        return []  # refunded in full, or cleared longer ago than refunds are taken back: settled for good
    booked = _booked(merchant, purchase)
    tier_known, tier = _tier_first_earned(
        program,
        bundle.tiers,
        base=booked.get((Reason.EARN, None), 0),
        bonus=booked.get((Reason.TIER, None), 0),
        current=facts.tier,
    )
    due: dict[_Key, int] = defaultdict(int)
    labels: dict[str, str] = {Reason.EARN: "Base rate", Reason.TIER: "Tier bonus"}
    for line in earn_evaluate(program=program, rules=bundle.rules, facts=replace(facts, tier=tier)):
        due[(line.reason, line.rule.pk if line.rule else None)] += line.points
        labels.setdefault(line.reason, line.label)
    active_rules = {rule.pk: rule for rule in bundle.rules}
    kept = {key for key in booked if key[0] == Reason.RULE and key[1] not in active_rules}
    if not tier_known:
        kept.add((Reason.TIER, None))
    differences = []
    for key in sorted(due.keys() | booked.keys(), key=lambda key: (key[0], key[1] or 0)):
        reason, rule_id = key
        points = due.get(key, 0) - booked.get(key, 0)
        if key in kept or not points:
            continue
        rule = active_rules.get(rule_id) if rule_id is not None else None
        label = rule.name if rule is not None else labels[reason]
        differences.append(EarnLine(reason=reason, points=points, label=label, rule=rule))
    now = timezone.now()
    expires_at = expiry_for(program, purchase.occurred_at) if earning.bucket == Bucket.AVAILABLE else None
    ledger.entries_post(
        entries=[
            ledger.Entry(
                merchant_id=merchant.pk,
                account_id=earning.account_id,
                bucket=earning.bucket,
                points=line.points,
                reason=line.reason,
                purchase_id=purchase.pk,
                rule_id=line.rule.pk if line.rule else None,
                note=line.label[:300],
                expires_at=expires_at if line.points > 0 else None,
                created_at=now,
            )
            for line in differences
        ]
    )
    change = sum(line.points for line in differences)
    if change or earning.earned_amount_minor != purchase.amount_minor:
        earning.points_earned += change
        earning.points_held += change
        earning.earned_amount_minor = purchase.amount_minor
        earning.save(update_fields=["points_earned", "points_held", "earned_amount_minor"])
    awarded: list[OfferAward] = []
    if bundle.offers and purchase.card_id:
        awarded = offers_apply(
            program=program,
            offers=bundle.offers,
            purchase=purchase,
            account_id=earning.account_id,
            already_awarded=known.awarded_offers,
            bucket=earning.bucket,
        )
    if bundle.agreements and purchase.card_id:
        had = set(
            PartnerAward.objects.filter(merchant=merchant, purchase=purchase).values_list("agreement_id", flat=True)
        )
        agreements = [agreement for agreement in bundle.agreements if agreement.pk not in had]
        if agreements:
            partner_bonus_apply(agreements=agreements, purchase=purchase)
    if bundle.tiers and (change or awarded):
        tier_upgrade(program=program, account_id=known.account_id, current_tier_id=known.tier_id, tiers=bundle.tiers)
    ledger.earning_settle(merchant=merchant, purchase=purchase, program=program)
    return differences
