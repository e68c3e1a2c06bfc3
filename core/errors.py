"""Domain errors and how the API shows them.

Every service raises an `ApplicationError` (or a subclass) carrying a stable
code and a message a person can act on. The API turns it, and DRF's own
exceptions, into one body: {"error": {"code", "message", "fields"}}.
"""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = dict(fields or {})
        if field:
            self.fields.setdefault(field, []).append(message)


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def validated(instance: Any, *, exclude: list[str] | None = None) -> None:
    """Run the model's own validation (fields, constraints) and report failures as an ApplicationError."""
    try:
        instance.full_clean(exclude=exclude)
    except DjangoValidationError as error:
        fields = {
            field: [str(message) for message in messages]
            for field, messages in error.message_dict.items()
            if field != NON_FIELD_ERRORS
        }
        general = error.message_dict.get(NON_FIELD_ERRORS, [])
        message = " ".join(general) or " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in fields.items())
        raise ApplicationError(message, fields=fields) from error


def form_add_error(form: Any, error: ApplicationError) -> None:
    """Show a service's refusal on a page's form, beside the field it concerns (else above the form)."""
    placed = False
    for field, field_messages in error.fields.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item)]
    return [str(detail)]


def _field_messages(detail: Any, path: str = "") -> dict[str, list[str]]:
    """DRF's error detail as the API shows it: {dotted path: [messages]}, one flat level, however deep the
    field (`line_items.0.name`), as the OpenAPI document says (core.serializers.ErrorDetailSerializer)."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                if path:  # a nested serializer's own complaint concerns its field
                    fields.setdefault(path.removesuffix("."), []).extend(_flatten(value))
                continue
            for field, messages in _field_messages(value, f"{path}{key}.").items():
                fields.setdefault(field, []).extend(messages)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, item in enumerate(detail):
            for field, messages in _field_messages(item, f"{path}{index}.").items():
                fields.setdefault(field, []).extend(messages)
    elif path and detail not in ([], ""):
        fields[path.removesuffix(".")] = [
            str(message) for message in (detail if isinstance(detail, list) else [detail])
        ]
    return fields


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_messages(exc.detail)
        messages = _flatten(exc.detail)
        if isinstance(exc.detail, dict) and "non_field_errors" in exc.detail:
            message = " ".join(str(m) for m in exc.detail["non_field_errors"])
        elif len(messages) == 1:
            message = messages[0]
        else:
            message = "The request has invalid fields; see `fields`."
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = detail.code if hasattr(detail, "code") else exc.default_code
        response.data = error_body(str(code), " ".join(_flatten(detail)))
    return response


# Exempt from CSRF: an unknown API path is a 404 whatever the method, never the HTML CSRF page.
@csrf_exempt
def json_not_found(request, exception=None) -> JsonResponse:  # type: ignore[no-untyped-def]
    return JsonResponse(error_body("not_found", "No such resource."), status=404)
