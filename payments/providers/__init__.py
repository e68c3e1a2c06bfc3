"""One adapter per payment provider, behind the interface of `payments.providers.base`."""

from payments.providers.adyen import AdyenAdapter
from payments.providers.base import JsonWebhookAdapter, ProviderAdapter
from payments.providers.fidel import FidelAdapter
from payments.providers.generic import GenericAdapter
from payments.providers.shopify import ShopifyAdapter
from payments.providers.square import SquareAdapter
from payments.providers.stripe import StripeAdapter

ADAPTERS: dict[str, type[JsonWebhookAdapter]] = {
    adapter.provider: adapter
    for adapter in (StripeAdapter, SquareAdapter, FidelAdapter, AdyenAdapter, ShopifyAdapter, GenericAdapter)
}


def adapter_for(provider: str, *, account: str = "") -> ProviderAdapter:
    """The adapter of `provider` for one connection; KeyError for a provider without one."""
    return ADAPTERS[provider](account)
