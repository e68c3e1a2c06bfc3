"""The loyalty setup `ingest_single --loyalty` measures: ten active earn rules and two card-linked offers.

Every rule kind appears, including the ones that cost a query when they exist (category and SKU rules
read the line items, first-in-channel rules the shopper's channels, capped rules the points earned).
"""

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone


def bench_program_seed(*, merchant: Any, store_ids: list[int]) -> None:
    from loyalty.models import RuleKind
    from loyalty.services import program as program_services
    from merchants.models import Store

    program = program_services.program_create(merchant=merchant, actor=None, name="Bench Rewards")
    first, second = (Store.objects.for_merchant(merchant).get(pk=pk) for pk in store_ids[:2])
    rules: list[dict[str, Any]] = [
        {"name": "Shoes x2", "kind": RuleKind.CATEGORY, "category": "Shoes", "multiplier": Decimal(2)},
        {"name": "Tops x1.5", "kind": RuleKind.CATEGORY, "category": "Tops", "multiplier": Decimal("1.5")},
        {"name": "Tee +10", "kind": RuleKind.SKU, "sku": "NW-TEE-01", "bonus_points": 10},
        {"name": "Store 1 x2", "kind": RuleKind.STORE, "store": first, "multiplier": Decimal(2)},
        {"name": "Store 2 +20", "kind": RuleKind.STORE, "store": second, "bonus_points": 20},
        {"name": "First online +250", "kind": RuleKind.CHANNEL, "channel": "online", "first_in_channel": True,
         "bonus_points": 250},
        {"name": "First in store +100", "kind": RuleKind.CHANNEL, "channel": "in_store", "first_in_channel": True,
         "bonus_points": 100},
        {"name": "Evenings x2", "kind": RuleKind.TIME_WINDOW, "multiplier": Decimal(2), "start_time": time(16),
         "end_time": time(20)},
        {"name": "Weekend x1.5", "kind": RuleKind.TIME_WINDOW, "multiplier": Decimal("1.5"), "weekdays": [6, 7],
         "start_time": time(0), "end_time": time(23, 59)},
        {"name": "Spend 100 +50", "kind": RuleKind.SPEND_BONUS, "minimum_spend_minor": 10000, "bonus_points": 50,
         "cap_points": 500},
    ]  # fmt: skip
    for rule in rules:
        program_services.rule_save(program=program, actor=None, **rule)
    now = timezone.now()
    for offer in (
        {"name": "Spend 50 at store 1", "store": first, "minimum_spend_minor": 5000, "reward_points": 200},
        {"name": "Spend 80, 5 EUR credit", "store": None, "minimum_spend_minor": 8000, "reward_credit_minor": 500},
    ):
        program_services.offer_create(
            program=program,
            actor=None,
            starts_at=now - timedelta(days=2),
            ends_at=now + timedelta(days=30),
            budget_minor=10**12,
            **offer,
        )
