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
        422: "Idempotency-Key already used with a different body",
        429: "Too many requests for this key; see Retry-After",
    }
    return {code: OpenApiResponse(response=ErrorSerializer, description=descriptions[code]) for code in statuses}


def idempotency_header(*, required: bool = False) -> Any:
    """The `Idempotency-Key` header as the OpenAPI document shows it."""
    from drf_spectacular.utils import OpenApiParameter

    description = "Any unique string (a UUID). Retrying with the same key and body returns the first response."
    if required:
        description = "Required on this write, which moves value. " + description
    return OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=required, description=description)
