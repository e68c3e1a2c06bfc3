"""What every shopper page does alike: pick the language, render without caching, answer 429 and bad links."""

import math
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import add_never_cache_headers

from profiles.links import LinkError
from profiles.rate_limits import RateLimit, RateLimited, client_address

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


def shopper_language(request: HttpRequest, default: str | None) -> str:
    """The language the shopper picked (?lang= or the form's lang field), else the merchant's, else English."""
    chosen = request.POST.get("lang") or request.GET.get("lang")
    if chosen in LANGUAGE_CODES:
        return str(chosen)
    return default if default in LANGUAGE_CODES else settings.LANGUAGE_CODE


def _language_links(request: HttpRequest, current: str) -> list[dict[str, Any]]:
    return [
        {
            "code": code,
            "name": name,
            "url": f"{request.path}?{urlencode({'lang': code})}",
            "is_current": code == current,
            "is_bidi": translation.get_language_info(code)["bidi"],
        }
        for code, name in settings.LANGUAGES
    ]


def shopper_render(
    request: HttpRequest, template: str, context: dict[str, Any], *, language: str, status: int = 200
) -> HttpResponse:
    """Render in the shopper's language. Never cached: these pages show personal data on shared screens."""
    with translation.override(language):
        response = render(
            request,
            template,
            {**context, "language": language, "language_links": _language_links(request, language)},
            status=status,
        )
    response["Content-Language"] = language
    add_never_cache_headers(response)
    return response


def check_rate_limits(request: HttpRequest, *limits: RateLimit) -> None:
    """Count this request against each limit (the client's address always); RateLimited at the first one full."""
    for limit in (RateLimit(scope="ip", ident=client_address(request)), *limits):
        limit.hit()


def rate_limited_response(request: HttpRequest, error: RateLimited, *, language: str) -> HttpResponse:
    response = shopper_render(
        request,
        "shopper/rate_limited.html",
        {"minutes": max(1, math.ceil(error.retry_after / 60))},
        language=language,
        status=429,
    )
    response["Retry-After"] = str(error.retry_after)
    return response


def link_error_response(request: HttpRequest, error: LinkError, *, language: str) -> HttpResponse:
    is_expired = error.code == "link_expired"
    return shopper_render(
        request,
        "shopper/link_invalid.html",
        {"is_expired": is_expired},
        language=language,
        status=410 if is_expired else 404,
    )


def closed_response(request: HttpRequest) -> HttpResponse:
    """A revoked or unknown kiosk or portal: no merchant to take a language from."""
    return shopper_render(
        request, "shopper/closed.html", {}, language=shopper_language(request, settings.LANGUAGE_CODE), status=404
    )
