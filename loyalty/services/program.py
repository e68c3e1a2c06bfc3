"""Setting up a program: its settings, earn rules, tiers, rewards and offers. Staff writes, audited."""

from typing import Any

from django.db import transaction

from core.errors import ApplicationError, NotFoundError, validated
from loyalty.models import EarnRule, Offer, OfferBudgetSlot, Program, Reward, Tier
from loyalty.services.accounts import program_absence_forget, rules_changed
from loyalty.services.rates import points_value_minor
from merchants.models import Merchant, Store, User
from merchants.services import audit_event_record

# Rows an offer's budget is spread over, so concurrent purchases rarely wait on each other for it.
BUDGET_SLOTS = 8


def _apply(instance: Any, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


def _check_store(merchant: Merchant, store: Store | None) -> None:
    if store is not None and store.merchant_id != merchant.pk:
        raise NotFoundError("No such store.", field="store")


@transaction.atomic
def program_create(*, merchant: Merchant, actor: User | None, **fields: Any) -> Program:
    if Program.objects.filter(merchant=merchant).exists():
        raise ApplicationError("This merchant already has a loyalty program.", code="duplicate")
    program = Program(merchant=merchant)
    _apply(program, fields)
    validated(program)
    program.save()
    program_absence_forget(merchant_id=merchant.pk)
    audit_event_record(merchant=merchant, actor=actor, action="loyalty.program_created", subject=program.name)
    return program


@transaction.atomic
def program_update(*, program: Program, actor: User | None, **fields: Any) -> Program:
    """Change settings. Rates apply to purchases from now on; points already earned keep their expiry date."""
    _apply(program, fields)
    validated(program)
    program.save()
    rules_changed(merchant_id=program.merchant_id)
    audit_event_record(
        merchant=program.merchant,
        actor=actor,
        action="loyalty.program_updated",
        subject=program.name,
        fields=sorted(fields),
    )
    return program


@transaction.atomic
def rule_save(*, program: Program, actor: User | None, rule: EarnRule | None = None, **fields: Any) -> EarnRule:
    """Create a rule, or change one; the next purchase is evaluated with it."""
    merchant = program.merchant
    _check_store(merchant, fields.get("store"))
    if rule is None:
        rule = EarnRule(merchant=merchant, program=program)
    elif rule.program_id != program.pk:
        raise NotFoundError("No such rule.")
    _apply(rule, fields)
    if rule.weekdays and any(day not in range(1, 8) for day in rule.weekdays):
        raise ApplicationError("Weekdays are 1 (Monday) to 7 (Sunday).", field="weekdays")
    validated(rule)
    is_new = rule.pk is None
    rule.save()
    rules_changed(merchant_id=merchant.pk)
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="loyalty.rule_created" if is_new else "loyalty.rule_updated",
        subject=rule.name,
    )
    return rule


@transaction.atomic
def tier_create(*, program: Program, actor: User | None, **fields: Any) -> Tier:
    tier = Tier(merchant=program.merchant, program=program)
    _apply(tier, fields)
    validated(tier)
    tier.save()
    rules_changed(merchant_id=program.merchant_id)
    audit_event_record(merchant=program.merchant, actor=actor, action="loyalty.tier_created", subject=tier.name)
    return tier


@transaction.atomic
def reward_create(*, program: Program, actor: User | None, **fields: Any) -> Reward:
    reward = Reward(merchant=program.merchant, program=program)
    _apply(reward, fields)
    if reward.available_from and reward.available_until and reward.available_until <= reward.available_from:
        raise ApplicationError("The reward must stop being available after it starts.", field="available_until")
    validated(reward)
    reward.save()
    audit_event_record(merchant=program.merchant, actor=actor, action="loyalty.reward_created", subject=reward.name)
    return reward


@transaction.atomic
def offer_create(*, program: Program, actor: User | None, **fields: Any) -> Offer:
    _check_store(program.merchant, fields.get("store"))
    offer = Offer(merchant=program.merchant, program=program)
    _apply(offer, fields)
    validated(offer)
    merchant = program.merchant
    offer.award_cost_minor = offer.reward_credit_minor + points_value_minor(program, offer.reward_points)
    awards = offer.budget_minor // max(offer.award_cost_minor, 1)
    if awards < 1:
        raise ApplicationError("The budget does not pay for a single award.", code="invalid", field="budget_minor")
    offer.save()
    slots = min(BUDGET_SLOTS, awards)
    OfferBudgetSlot.objects.bulk_create(
        OfferBudgetSlot(
            merchant=merchant, offer=offer, slot=slot, awards_left=awards // slots + (1 if slot < awards % slots else 0)
        )
        for slot in range(slots)
    )
    rules_changed(merchant_id=program.merchant_id)
    audit_event_record(merchant=program.merchant, actor=actor, action="loyalty.offer_created", subject=offer.name)
    return offer
