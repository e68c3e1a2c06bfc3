import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from profiles.models import Card, ContactPoint, JoinedVia, Purchase, PurchaseSource, Shopper
from profiles.services.shoppers import card_fingerprint
from tests.factories import MerchantFactory


class ShopperFactory(DjangoModelFactory):
    class Meta:
        model = Shopper

    merchant = factory.SubFactory(MerchantFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    joined_via = JoinedVia.API


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = ContactPoint

    shopper = factory.SubFactory(ShopperFactory)
    merchant = factory.SelfAttribute("shopper.merchant")
    kind = "email"
    value = factory.Sequence(lambda n: f"shopper{n}@example.com")
    is_verified = True


class CardFactory(DjangoModelFactory):
    class Meta:
        model = Card

    shopper = factory.SubFactory(ShopperFactory)
    merchant = factory.SelfAttribute("shopper.merchant")
    token = factory.Sequence(lambda n: f"card_tok_{n:06d}")
    fingerprint = factory.LazyAttribute(lambda card: card_fingerprint(card.token))
    scheme = "visa"
    first_six = "411111"
    last_four = factory.Sequence(lambda n: f"{n % 10000:04d}")
    linked_via = JoinedVia.CHECKOUT


class PurchaseFactory(DjangoModelFactory):
    class Meta:
        model = Purchase

    merchant = factory.SubFactory(MerchantFactory)
    channel = "online"
    amount_minor = 2500
    currency = "EUR"
    occurred_at = factory.LazyFunction(timezone.now)
    source = PurchaseSource.API
    external_id = factory.Sequence(lambda n: f"order-{n}")
