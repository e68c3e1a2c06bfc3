from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from campaigns.models import (
    Assignment,
    AssignmentGroup,
    Campaign,
    CampaignKind,
    MessageTemplate,
    Offer,
    OfferKind,
    OutboxMessage,
    Segment,
    Variant,
)
from tests.factories import MerchantFactory
from tests.profiles.factories import ShopperFactory


class SegmentFactory(DjangoModelFactory):
    class Meta:
        model = Segment

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(lambda: {"match": "all", "conditions": []})


class CampaignFactory(DjangoModelFactory):
    class Meta:
        model = Campaign

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    kind = CampaignKind.BROADCAST


class VariantFactory(DjangoModelFactory):
    class Meta:
        model = Variant

    campaign = factory.SubFactory(CampaignFactory)
    merchant = factory.SelfAttribute("campaign.merchant")
    key = "A"
    weight = 100


class TemplateFactory(DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    variant = factory.SubFactory(VariantFactory)
    merchant = factory.SelfAttribute("variant.merchant")
    language = "en"
    subject = "Hello {{ first_name }}"
    body = "Hello {{ first_name }}, see you soon."


class OfferFactory(DjangoModelFactory):
    class Meta:
        model = Offer

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Offer {n}")
    kind = OfferKind.COUPON
    amount_off_minor = 500
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))


class AssignmentFactory(DjangoModelFactory):
    class Meta:
        model = Assignment

    campaign = factory.SubFactory(CampaignFactory)
    merchant = factory.SelfAttribute("campaign.merchant")
    shopper = factory.SubFactory(ShopperFactory, merchant=factory.SelfAttribute("..merchant"))
    dedupe_key = "broadcast"
    group = AssignmentGroup.TREATMENT
    assigned_at = factory.LazyFunction(timezone.now)


class OutboxMessageFactory(DjangoModelFactory):
    class Meta:
        model = OutboxMessage

    assignment = factory.SubFactory(AssignmentFactory)
    merchant = factory.SelfAttribute("assignment.merchant")
    campaign = factory.SelfAttribute("assignment.campaign")
    shopper = factory.SelfAttribute("assignment.shopper")
    dedupe_key = factory.SelfAttribute("assignment.dedupe_key")
    channel = "email"
    not_before = factory.LazyFunction(timezone.now)
    created_at = factory.LazyFunction(timezone.now)
