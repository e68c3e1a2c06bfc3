from django.http import HttpRequest, HttpResponse
from django.views.defaults import page_not_found

from core.errors import json_not_found


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get the API's error body; people get the 404 page."""
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return page_not_found(request, exception)
