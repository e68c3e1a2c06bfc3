"""Whether a merchant has any active real-time campaign, cached: the purchase receiver asks on every purchase.

Kept in Django's cache for REQUEST_CACHE_SECONDS like the API keys (merchants/request_cache.py) and the
loyalty program's absence (loyalty/services/accounts.py), so a merchant without real-time campaigns pays
one cache read per purchase and no query. Launching, pausing, resuming, cancelling or completing a
campaign drops the entry: at once with a shared cache, else within those seconds.

On top, the answer is kept in this process for a second, by merchant id: a batch of 1,000 purchases
then reads the cache once, not 1,000 times (with a network cache, a round trip each). Dropping the
entry drops it here at once; another process sees the change at most that second later.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from campaigns.models import Campaign, CampaignKind, CampaignStatus


def _entry(merchant_id: int) -> str:
    return f"storeloop:campaigns:realtime:{merchant_id}"


_MEMO_SECONDS = 1.0
_memo: dict[int, tuple[float, bool]] = {}


def realtime_campaigns_exist(*, merchant_id: int) -> bool:
    seconds = settings.REQUEST_CACHE_SECONDS
    if not seconds:
        return _query(merchant_id)
    until, exists = _memo.get(merchant_id, (0.0, False))
    if until > time.monotonic():
        return exists
    cached = cache.get(_entry(merchant_id))
    if cached is None:
        exists = _query(merchant_id)
        cache.set(_entry(merchant_id), int(exists), seconds)
    else:
        exists = bool(cached)
    _memo[merchant_id] = (time.monotonic() + _MEMO_SECONDS, exists)
    return exists


def _query(merchant_id: int) -> bool:
    return Campaign.objects.filter(
        merchant_id=merchant_id, kind=CampaignKind.REALTIME, status=CampaignStatus.ACTIVE
    ).exists()


def realtime_campaigns_forget(*, merchant_id: int) -> None:
    entry = _entry(merchant_id)

    def forget() -> None:
        _memo.pop(merchant_id, None)
        cache.delete(entry)

    forget()
    # A purchase that read the old state before our commit may have cached it again meanwhile.
    transaction.on_commit(forget)
