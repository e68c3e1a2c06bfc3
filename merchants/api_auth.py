"""API authentication: `Authorization: Api-Key <prefix.secret>` sets request.merchant."""

from datetime import timedelta
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from merchants import request_cache
from merchants.http import APIRequest, StaffRequest
from merchants.models import MerchantAPIKey

# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class MerchantAPIKeyAuthentication(BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, MerchantAPIKey] | None:
        header = get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, key = header.partition(" ")
        key = key.strip()
        if keyword != self.keyword or not key:
            raise exceptions.AuthenticationFailed("Send the header as `Authorization: Api-Key <key>`.")
        prefix, _, _secret = key.partition(".")
        api_key = request_cache.api_key_for_prefix(prefix)
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed("This API key is not valid.")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        now = timezone.now()
        if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_RESOLUTION:
            MerchantAPIKey.objects.filter(merchant=api_key.merchant, pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
            request_cache.api_key_remember(api_key)
        cast(APIRequest, request).merchant = api_key.merchant
        cast(StaffRequest, request._request).merchant = api_key.merchant
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HasMerchantAPIKey(permissions.BasePermission):
    """A valid key, holding the scope the view names for this method (`required_scopes`)."""

    message = "Authenticate with `Authorization: Api-Key <key>`."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, MerchantAPIKey):
            return False
        required = getattr(view, "required_scopes", {}).get(request.method)
        if required and required not in request.auth.scopes:
            raise exceptions.PermissionDenied(f"This API key lacks the scope `{required}`.", code="missing_scope")
        return True


class APIKeyRateThrottle(throttling.SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, MerchantAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
