"""Whether a merchant has any active real-time campaign, cached: the purchase receiver asks on every purchase.

Kept in Django's cache for REQUEST_CACHE_SECONDS like the API keys (merchants/request_cache.py) and the
loyalty program's absence (loyalty/services/accounts.py), so a merchant without real-time campaigns pays
one cache read per purchase and no query. Launching, pausing, resuming, cancelling or completing a
campaign drops the entry: at once with a shared cache, else within those seconds.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from campaigns.models import Campaign, CampaignKind, CampaignStatus


def _entry(merchant_id: int) -> str:
    return f"storeloop:campaigns:realtime:{merchant_id}"


def realtime_campaigns_exist(*, merchant_id: int) -> bool:
    seconds = settings.REQUEST_CACHE_SECONDS
    cached = cache.get(_entry(merchant_id)) if seconds else None
    if cached is not None:
        return bool(cached)
    exists = Campaign.objects.filter(
        merchant_id=merchant_id, kind=CampaignKind.REALTIME, status=CampaignStatus.ACTIVE
    ).exists()
    if seconds:
        cache.set(_entry(merchant_id), int(exists), seconds)
    return exists


def realtime_campaigns_forget(*, merchant_id: int) -> None:
    entry = _entry(merchant_id)
    cache.delete(entry)
    # A purchase that read the old state before our commit may have cached it again meanwhile.
    transaction.on_commit(lambda: cache.delete(entry))
