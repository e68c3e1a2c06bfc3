"""What every API request reads, kept briefly in Django's cache: the API key with its merchant, and stores by id.

Without it each request spends two database round trips before doing any work.
Entries live at most REQUEST_CACHE_SECONDS and are dropped (now and again after the
commit) by every service that changes them: revoking a key, a merchant's settings
or network feed, a store. With a shared cache (CACHE_URL on Redis) a change is seen
by every process at once; with a per-process cache (the default locmem) other
processes see it within REQUEST_CACHE_SECONDS.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from merchants.models import Merchant, MerchantAPIKey, Store


def _seconds() -> int:
    return settings.REQUEST_CACHE_SECONDS


def _key_entry(prefix: str) -> str:
    return f"storeloop:api-key:{prefix}"


def _store_entry(merchant_id: int, store_id: int) -> str:
    return f"storeloop:store:{merchant_id}:{store_id}"


def _forget(*entries: str) -> None:
    cache.delete_many(entries)
    # A request that read the old row before our commit may have cached it again meanwhile.
    transaction.on_commit(lambda: cache.delete_many(entries))


def api_key_for_prefix(prefix: str) -> MerchantAPIKey | None:
    """The key with this prefix and its merchant, or None. Unknown prefixes are not cached."""
    api_key = cache.get(_key_entry(prefix)) if _seconds() else None
    if api_key is None:
        # The key says which merchant the request is for: it is looked up among every merchant's keys.
        api_key = MerchantAPIKey.all_merchants.select_related("merchant").filter(prefix=prefix).first()
        if api_key is not None and _seconds():
            cache.set(_key_entry(prefix), api_key, _seconds())
    return api_key


def api_key_remember(api_key: MerchantAPIKey) -> None:
    """Store a key whose state we just changed ourselves (its last use)."""
    if _seconds():
        cache.set(_key_entry(api_key.prefix), api_key, _seconds())


def api_key_forget(*, prefixes: list[str]) -> None:
    if prefixes:
        _forget(*(_key_entry(prefix) for prefix in prefixes))


def merchant_forget(*, merchant: Merchant) -> None:
    """Drop the cached keys of this merchant: each carries the merchant's row."""
    api_key_forget(prefixes=list(MerchantAPIKey.objects.filter(merchant=merchant).values_list("prefix", flat=True)))


def store_for_merchant(*, merchant: Merchant, store_id: int) -> Store | None:
    """The merchant's store with this id, or None (another merchant's store is None too). Misses are not cached."""
    store = cache.get(_store_entry(merchant.pk, store_id)) if _seconds() else None
    if store is None:
        store = Store.objects.for_merchant(merchant).filter(pk=store_id).first()
        if store is not None and _seconds():
            cache.set(_store_entry(merchant.pk, store_id), store, _seconds())
    return store


def store_forget(*, store: Store) -> None:
    _forget(_store_entry(store.merchant_id, store.pk))
