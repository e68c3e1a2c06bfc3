import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error

from core.errors import error_body, json_not_found

# How long a client is asked to wait when the database is away.
RETRY_AFTER_SECONDS = 5


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get the API's error body; people get the 404 page."""
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After when the database is away (down, restarting, or it dropped this process's
    connection), wherever the request met it; any other failure is a 500 (JSON on the API).

    Django then discards a connection that saw such an error at the end of the request, so the
    next request connects afresh: what lets per-request health checks stay off."""
    error = sys.exc_info()[1]
    api = request.path.startswith("/api/")
    if isinstance(error, OperationalError | InterfaceError):
        message = "The service is briefly unavailable; try again shortly."
        response = (
            JsonResponse(error_body("database_unavailable", message), status=503)
            if api
            else HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if api:
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return django_server_error(request)
