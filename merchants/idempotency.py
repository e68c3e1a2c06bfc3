"""`Idempotency-Key` on every API write.

The same key with the same body returns the first (successful) response; the
same key with another body is a 422; a second request while the first is still
running is a 409. The check, the write and the stored response share one
transaction, so a response is stored exactly when its write committed.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from merchants.errors import ApplicationError, ConflictError
from merchants.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)


class IdempotencyMismatch(ApplicationError):
    status_code = 422
    default_code = "idempotency_key_reused"


def _request_hash(request: Request) -> str:
    # Canonical JSON, so key order and whitespace do not make two equal bodies differ.
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = request.body.decode("utf-8", "replace")
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _try_lock(merchant_id: int, key: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"idempotency:{merchant_id}:{key}"]
        )
        return bool(cursor.fetchone()[0])


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate an APIView write method (post/put/patch/delete)."""

    @wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ApplicationError(
                f"{HEADER} may be at most {MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key"
            )
        merchant = request.merchant  # type: ignore[attr-defined]
        request_hash = _request_hash(request)
        with transaction.atomic():
            if not _try_lock(merchant.pk, key):
                raise ConflictError(
                    f"A request with this {HEADER} is still being processed; retry shortly.",
                    code="idempotency_in_progress",
                )
            record = IdempotencyRecord.objects.for_merchant(merchant).filter(key=key).first()
            if record is not None and record.created_at <= timezone.now() - RETENTION:
                record.delete()  # past the replay window: the key is free again
                record = None
            if record is not None:
                if record.request_hash != request_hash:
                    raise IdempotencyMismatch(
                        f"This {HEADER} was already used with a different request. Use a new key for a new request."
                    )
                return Response(
                    record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"}
                )
            response = handler(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                # We hold the key's lock and saw no record: a plain insert cannot clash.
                IdempotencyRecord.objects.create(
                    merchant=merchant,
                    key=key,
                    request_hash=request_hash,
                    response_status=response.status_code,
                    response_body=response.data,
                )
            return response

    return wrapper
