"""Shopper-facing campaign pages. (Scaffold: the feedback and offers work builds them.)"""

from django.http import Http404, HttpRequest, HttpResponse


def feedback(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404


def offer(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404
