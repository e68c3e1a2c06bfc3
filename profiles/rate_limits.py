"""Rate limits for the public shopper pages, on Django's cache (CACHE_URL).

DRF's SimpleRateThrottle does the counting (a sliding window of request times per
key) and knows how long to wait; here it is keyed by what we name — a kiosk, a
client address, a phone number — instead of by DRF request, and it can check
without counting, so a submission refused for another reason is not charged.
"""

import math

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.errors import ApplicationError


class RateLimited(ApplicationError):
    status_code = 429
    default_code = "rate_limited"

    def __init__(self, *, retry_after: int) -> None:
        super().__init__("Too many attempts. Please try again later.")
        self.retry_after = retry_after


class RateLimit(SimpleRateThrottle):
    def __init__(self, *, scope: str, ident: str) -> None:
        self.scope = scope
        self.ident = ident
        self.rate = settings.SHOPPER_RATE_LIMITS[scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self._counting = True

    def get_cache_key(self, request: object, view: object) -> str:
        return self.cache_format % {"scope": f"shopper_{self.scope}", "ident": self.ident}

    def throttle_success(self) -> bool:
        if self._counting:
            return super().throttle_success()
        return True

    def _check(self, *, counting: bool) -> None:
        self._counting = counting
        if not self.allow_request(None, None):  # type: ignore[arg-type]
            raise RateLimited(retry_after=max(1, math.ceil(self.wait() or 1)))

    def hit(self) -> None:
        """Count one attempt; RateLimited (nothing counted) when the limit is reached."""
        self._check(counting=True)

    def peek(self) -> None:
        """RateLimited if one more attempt would be refused; counts nothing."""
        self._check(counting=False)


def client_address(request) -> str:  # type: ignore[no-untyped-def]
    """The client's address. X-Forwarded-For is believed only as far as DRF's NUM_PROXIES says proxies
    stand in front (unset: not at all), so a client cannot dodge its limit by sending the header."""
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [address.strip() for address in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))]
    return str(request.META.get("REMOTE_ADDR", ""))
