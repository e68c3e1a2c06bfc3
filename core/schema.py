"""OpenAPI helpers every app's endpoints share."""

from typing import Any


def error_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI responses for these error statuses, all with the one error body."""
    from drf_spectacular.utils import OpenApiResponse

    from core.serializers import ErrorSerializer

    descriptions = {
        400: "Invalid input; `fields` says which",
        401: "Missing, invalid, revoked or expired API key",
        403: "The key lacks the scope this endpoint needs (`missing_scope`)",
        404: "No such object (or another merchant's)",
        409: "Conflicts with what is stored, or the same Idempotency-Key is still being processed",
        413: "The body is over the size limit (`body_too_large`, naming it)",
        415: "The body is not JSON (`unsupported_media_type`)",
        422: "Idempotency-Key already used with a different body",
        429: "Too many requests for this key; see Retry-After",
        503: "The database is briefly away (`database_unavailable`); retry after Retry-After",
    }
    return {code: OpenApiResponse(response=ErrorSerializer, description=descriptions[code]) for code in statuses}


def idempotency_header(*, required: bool = False) -> Any:
    """The `Idempotency-Key` header as the OpenAPI document shows it."""
    from drf_spectacular.utils import OpenApiParameter

    description = "Any unique string (a UUID). Retrying with the same key and body returns the first response."
    if required:
        description = "Required on this write, which moves value. " + description
    return OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=required, description=description)


# What the plumbing answers before any view, on every operation: the card-number guard reads headers and the
# query of every request (400), every write's body (400, 413, 415), and the database may be away (503).
_EVERY_OPERATION = {
    "400": "A card number in a header or the query (`card_number_rejected`), or input the operation refuses",
    "503": "The database is briefly away (`database_unavailable`); retry after Retry-After",
}
_EVERY_WRITE = {
    "400": "A card number anywhere in the request (`card_number_rejected`), a body that cannot be read "
    "(`parse_error`, `too_deeply_nested`, `null_character`), or input the operation refuses",
    "413": "The body is over the size limit (`body_too_large`, naming it)",
    "415": "The body is not JSON (`unsupported_media_type`)",
    "503": "The database is briefly away (`database_unavailable`); retry after Retry-After",
}


def add_plumbing_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: each operation also lists the errors the shared plumbing gives
    (core.card_numbers, the body limit, config.views' 503), so the document names every answer a client
    can get. An operation's own description of a status is kept."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            common = _EVERY_WRITE if method in ("post", "put", "patch") else _EVERY_OPERATION
            for status, description in common.items():
                operation["responses"].setdefault(status, {"content": error, "description": description})
    return result
