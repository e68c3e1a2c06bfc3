from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from loyalty.models import EarnRule, Offer, Program, Reward, RuleKind, Tier
from tests.factories import MerchantFactory


class ProgramFactory(DjangoModelFactory):
    class Meta:
        model = Program

    merchant = factory.SubFactory(MerchantFactory)
    name = "Northwind Rewards"
    points_per_unit = 1
    unit_minor = 100


class RuleFactory(DjangoModelFactory):
    class Meta:
        model = EarnRule

    program = factory.SubFactory(ProgramFactory)
    merchant = factory.SelfAttribute("program.merchant")
    name = factory.Sequence(lambda n: f"Rule {n}")
    kind = RuleKind.SPEND_BONUS
    bonus_points = 0
    multiplier = 1


class TierFactory(DjangoModelFactory):
    class Meta:
        model = Tier

    program = factory.SubFactory(ProgramFactory)
    merchant = factory.SelfAttribute("program.merchant")
    name = factory.Sequence(lambda n: f"Tier {n}")
    threshold = 10_000
    earn_multiplier = 1


class RewardFactory(DjangoModelFactory):
    class Meta:
        model = Reward

    program = factory.SubFactory(ProgramFactory)
    merchant = factory.SelfAttribute("program.merchant")
    name = "5 EUR off"
    kind = "amount_off"
    amount_off_minor = 500
    points_cost = 100


class OfferFactory(DjangoModelFactory):
    class Meta:
        model = Offer

    program = factory.SubFactory(ProgramFactory)
    merchant = factory.SelfAttribute("program.merchant")
    name = "Spend 50, get 200"
    minimum_spend_minor = 5000
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    reward_points = 200
    budget_minor = 100_000

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Through the service, which spreads the budget over its slots."""
        from loyalty.services.program import offer_create

        kwargs.pop("merchant", None)
        return offer_create(actor=None, **kwargs)
