"""Demo loyalty data: a program with rules, tiers, rewards and offers for each demo merchant, a
partner agreement between them, and the demo history's purchases earned as if they had been ingested.

`manage.py seed_demo` calls `demo_programs_seed` after the demo history is loaded. Running it again
changes nothing.

The demo history is loaded with COPY, which sends no signal; its purchases earn their base points
here in one INSERT … SELECT per merchant (rules and offers apply to purchases from now on).
"""

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.models import Account, EarnRule, PartnerAgreement, PartnerStatus, Program, Reward, RuleKind, Tier
from loyalty.services import expiry, ledger, redeem, tiers
from loyalty.services import program as program_services
from loyalty.services.accounts import program_absence_forget
from merchants.models import Merchant

DEMO_PROGRAMS: dict[str, dict[str, Any]] = {
    "northwind": {
        "program": {"name": "Northwind Rewards", "points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1,
                    "expiry_policy": "days_after_earning", "expiry_days": 365},
        "rules": [
            {"name": "Shoes × 2", "kind": RuleKind.CATEGORY, "category": "Shoes", "multiplier": 2},
            {"name": "First online purchase +250", "kind": RuleKind.CHANNEL, "channel": "online",
             "first_in_channel": True, "bonus_points": 250},
            {"name": "First in-store purchase +150", "kind": RuleKind.CHANNEL, "channel": "in_store",
             "first_in_channel": True, "bonus_points": 150},
            {"name": "Happy hours Thu–Fri 16–20 × 2", "kind": RuleKind.TIME_WINDOW, "multiplier": 2,
             "weekdays": [4, 5], "start_time": time(16), "end_time": time(20)},
            {"name": "Spend 150, get 100", "kind": RuleKind.SPEND_BONUS, "minimum_spend_minor": 15000,
             "bonus_points": 100, "cap_points": 500},
        ],
        "tiers": [
            {"name": "Silver", "threshold": 30000, "earn_multiplier": Decimal("1.25")},
            {"name": "Gold", "threshold": 80000, "earn_multiplier": Decimal("1.5"), "benefits": "Free alterations"},
        ],
        "rewards": [
            {"name": "5 EUR off", "kind": "amount_off", "points_cost": 500, "amount_off_minor": 500},
            {"name": "15 % off one item", "kind": "percent_off", "points_cost": 1200, "percent_off": 15},
            {"name": "Free socks", "kind": "free_item", "points_cost": 800, "free_item_sku": "NW-ACC-20"},
        ],
        "offers": [
            {"name": "Spend 100 at the Harbour Outlet, get 500 points", "store": "Harbour Outlet",
             "minimum_spend_minor": 10000, "reward_points": 500, "budget_minor": 50000},
        ],
    },
    "blue-bean": {
        "program": {"name": "Bean Stamps", "kind": "stamps", "point_value_minor": 35, "minimum_spend_minor": 250},
        "rules": [
            {"name": "Early bird double stamp", "kind": RuleKind.TIME_WINDOW, "multiplier": 2,
             "start_time": time(7), "end_time": time(9)},
        ],
        "tiers": [],
        "rewards": [{"name": "Free coffee", "kind": "free_item", "points_cost": 10, "free_item_sku": "BB-COF"}],
        "offers": [
            {"name": "Spend 10, get a 2 EUR credit", "minimum_spend_minor": 1000, "reward_credit_minor": 200,
             "budget_minor": 20000},
        ],
    },
}  # fmt: skip

_BACKFILL_SQL = """
    WITH earned AS (
        SELECT purchase.id AS purchase_id, account.id AS account_id, purchase.occurred_at,
               purchase.amount_minor, purchase.refunded_minor,
               CASE WHEN %(stamps)s THEN 1
                    ELSE floor((purchase.amount_minor - purchase.refunded_minor) * %(per)s / %(unit)s)::bigint END
                 AS points
          FROM profiles_purchase AS purchase
          JOIN loyalty_account AS account ON account.shopper_id = purchase.shopper_id
         WHERE purchase.merchant_id = %(merchant)s AND purchase.refunded_minor < purchase.amount_minor
           AND purchase.amount_minor >= %(minimum)s
           AND NOT EXISTS (SELECT 1 FROM loyalty_purchaseearning AS e WHERE e.purchase_id = purchase.id)
    ),
    earnings AS (
        INSERT INTO loyalty_purchaseearning
            (merchant_id, purchase_id, account_id, earned_amount_minor, points_earned, points_held, bucket,
             seen_amount_minor, seen_refunded_minor, is_open, created_at)
        SELECT %(merchant)s, purchase_id, account_id, amount_minor - refunded_minor, points, points, 'available',
               amount_minor, refunded_minor, true, occurred_at
          FROM earned
    )
    INSERT INTO loyalty_ledgerentry
        (merchant_id, account_id, bucket, points, reason, qualifying_spend_minor, purchase_id, note, expires_at,
         created_at)
    SELECT %(merchant)s, account_id, 'available', points, 'earn', amount_minor - refunded_minor, purchase_id,
           'Base rate', CASE WHEN %(expiry_days)s::int IS NULL THEN NULL
                             ELSE occurred_at + make_interval(days => %(expiry_days)s::int) END,
           occurred_at
      FROM earned WHERE points > 0
"""

_ACCOUNTS_SQL = """
    INSERT INTO loyalty_account
        (merchant_id, program_id, shopper_id, points_balance, points_pending, enrolled_at, enrolled_via,
         last_activity_at)
    SELECT %(merchant)s, %(program)s, shopper.id, 0, 0, rollup.first_purchase_at, shopper.joined_via,
           rollup.last_purchase_at
      FROM profiles_shopper AS shopper
      JOIN profiles_shopperrollup AS rollup ON rollup.shopper_id = shopper.id
     WHERE shopper.merchant_id = %(merchant)s AND shopper.status = 'active'
       AND rollup.first_purchase_at IS NOT NULL
       AND EXISTS (SELECT 1 FROM profiles_card AS card WHERE card.shopper_id = shopper.id)
    ON CONFLICT (shopper_id) DO NOTHING
"""


def _say(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(f"  {message}\n")


def demo_programs_seed(*, stdout: Any = None) -> None:
    for slug, spec in DEMO_PROGRAMS.items():
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None or Program.objects.filter(merchant=merchant).exists():
            continue
        with transaction.atomic():
            program = _program(merchant, spec)
            _backfill(merchant, program)
        _redeem_some(merchant)
        expiry.points_expire(merchant=merchant)
        ledger.ledger_months_rebuild(merchant=merchant)
        tiers.tiers_review(merchant=merchant)
        members = Account.objects.filter(merchant=merchant).count()
        _say(stdout, f"{merchant.name}: loyalty program “{program.name}” with {members:,} members")
    _partners(stdout)


def _program(merchant: Merchant, spec: dict[str, Any]) -> Program:
    program = Program.objects.create(merchant=merchant, **spec["program"])
    program_absence_forget(merchant_id=merchant.pk)
    stores = {store.name: store for store in merchant.stores.all()}
    for rule in spec["rules"]:
        EarnRule.objects.create(merchant=merchant, program=program, **rule)
    for tier in spec["tiers"]:
        Tier.objects.create(merchant=merchant, program=program, **tier)
    for reward in spec["rewards"]:
        Reward.objects.create(merchant=merchant, program=program, **reward)
    now = timezone.now()
    for offer in spec["offers"]:
        store = stores.get(offer.pop("store", None) or "")
        program_services.offer_create(
            program=program,
            actor=None,
            store=store,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=60),
            **offer,
        )
    return program


def _redeem_some(merchant: Merchant) -> None:
    """Every fourth member who can afford the cheapest reward has redeemed it, so the insights have a rate."""
    reward = Reward.objects.filter(merchant=merchant).order_by("points_cost").first()
    if reward is None:
        return
    accounts = Account.objects.filter(merchant=merchant, points_balance__gte=reward.points_cost).select_related(
        "shopper"
    )
    for number, account in enumerate(accounts.order_by("pk")):
        if number % 4 == 0:
            redeem.reward_redeem(merchant=merchant, shopper=account.shopper, reward=reward, order_reference="demo")


def _backfill(merchant: Merchant, program: Program) -> None:
    params = {
        "merchant": merchant.pk,
        "program": program.pk,
        "stamps": program.kind == "stamps",
        "per": program.points_per_unit,
        "unit": program.unit_minor,
        "minimum": program.minimum_spend_minor,
        "expiry_days": program.expiry_days if program.expiry_policy == "days_after_earning" else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNTS_SQL, params)
        cursor.execute(_BACKFILL_SQL, params)
        cursor.execute(
            "UPDATE loyalty_account AS account SET points_balance = sums.total"
            "  FROM (SELECT account_id, sum(points) AS total FROM loyalty_ledgerentry"
            "         WHERE merchant_id = %s GROUP BY account_id) AS sums"
            " WHERE account.id = sums.account_id",
            [merchant.pk],
        )
    Program.objects.filter(merchant=merchant, pk=program.pk).update(rules_version=F("rules_version") + 1)


def _partners(stdout: Any) -> None:
    northwind = Merchant.objects.filter(slug="northwind").first()
    coffee = Merchant.objects.filter(slug="blue-bean").first()
    if northwind is None or coffee is None:
        return
    _agreement, created = PartnerAgreement.objects.get_or_create(
        merchant=northwind,
        partner=coffee,
        defaults={"bonus_points_per_unit": 1, "unit_minor": 2500, "status": PartnerStatus.ACTIVE},
    )
    if created:
        Program.objects.filter(merchant=northwind).update(rules_version=F("rules_version") + 1)
        _say(stdout, "Northwind purchases earn Bean Stamps at Blue Bean (partner agreement)")
