import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.defaults import bad_request as bad_request_page
from django.views.defaults import page_not_found
from django.views.defaults import server_error as server_error_page

from core.errors import error_body, json_not_found

# How long a client is asked to wait when the database is away (a restart takes seconds).
RETRY_AFTER_SECONDS = 5


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get the API's error body; people get the 404 page."""
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refused before any view: a body over the limit is a 413 naming it; API
    clients get the API's JSON error body, people a page."""
    is_api = request.path.startswith("/api/")
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The body is larger than the limit of {limit} bytes; send less at once (split a batch)."
        if is_api:
            return JsonResponse(error_body("body_too_large", message), status=413)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
    if is_api:
        return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)
    return bad_request_page(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After when the database is away (down, restarting, or it dropped this process's
    connection), wherever the request met it; any other failure is a 500. API clients get the API's
    JSON error body, people a page; nothing here touches the database or the session.

    Django then discards a connection that saw such an error at the end of the request, so the
    next request connects afresh: what lets per-request health checks stay off."""
    database_away = isinstance(sys.exc_info()[1], OperationalError | InterfaceError)
    is_api = request.path.startswith("/api/")
    response: HttpResponse
    if database_away and is_api:
        message = "The service is briefly unavailable; retry after the delay given."
        response = JsonResponse(error_body("database_unavailable", message), status=503)
    elif database_away:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    elif is_api:
        body = error_body("server_error", "Something went wrong on our side; it was logged.")
        response = JsonResponse(body, status=500)
    else:
        return server_error_page(request)
    if database_away:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
