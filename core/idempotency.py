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

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_input import TOO_DEEP, document, too_deeply_nested
from core.errors import ApplicationError, ConflictError
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)


class IdempotencyMismatch(ApplicationError):
    status_code = 422
    default_code = "idempotency_key_reused"


def _request_hash(request: Request) -> str:
    """Canonical JSON, so key order and whitespace do not make two equal bodies differ. Read from the raw
    body (msgspec, without DRF's parser: the views decode the body themselves), written as json.dumps
    writes it, so a hash stored before is still the hash of the same body. A body that is not JSON is
    hashed as sent (its view refuses it); one nested too deeply to read is refused here, with a 400."""
    raw = request.body
    try:
        body = json.dumps(document(raw or b"{}"), sort_keys=True, separators=(",", ":"), default=str)
    except ApplicationError as error:
        if error.code == TOO_DEEP:
            raise
        body = raw.decode("utf-8", "replace")
    except RecursionError:  # read, but too deep for json to write out again
        raise too_deeply_nested() from None
    except (TypeError, ValueError):
        body = raw.decode("utf-8", "replace")
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _try_lock(merchant_id: int, key: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"idempotency:{merchant_id}:{key}"]
        )
        return bool(cursor.fetchone()[0])


# Lean SQL on IdempotencyRecord's table: every API write passes here, and the ORM's own
# cost (compiling the query, building the instance) would exceed the queries'.
_TABLE = IdempotencyRecord._meta.db_table
_STORED_SQL = f"""
    SELECT request_hash, response_status, response_body::text FROM {_TABLE}
     WHERE merchant_id = %s AND key = %s AND created_at > %s
"""  # noqa: S608 - the table name comes from the model; values are bound
# We hold the key's lock and saw no live record: a clash can only be a record past the replay window.
_STORE_SQL = f"""
    INSERT INTO {_TABLE} (merchant_id, key, request_hash, response_status, response_body, created_at)
    VALUES (%s, %s, %s, %s, %s::jsonb, %s)
    ON CONFLICT ON CONSTRAINT idempotency_key_unique DO UPDATE SET
        request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,
        response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at
"""  # noqa: S608 - the table name comes from the model; values are bound


def _stored_response(merchant_id: int, key: str) -> tuple[str, int, Any] | None:
    """(request hash, status, body) of the first response under this key, if within the replay window."""
    with connection.cursor() as cursor:
        cursor.execute(_STORED_SQL, [merchant_id, key, timezone.now() - RETENTION])
        row = cursor.fetchone()
    if row is None:
        return None
    request_hash, status, body = row
    stored = json.loads(body)
    if isinstance(stored, str):  # a body jsonb could not hold as it is (see _storable)
        stored = json.loads(stored)
    return request_hash, status, stored


def _storable(body: str) -> str:
    """`body` (JSON text) as jsonb can hold it. jsonb holds no null character, and a response may echo
    one a client sent (a value in a batch row's error): such a body is stored as one JSON string holding
    its text, escapes and all, and read back by _stored_response. No response is a bare string."""
    return json.dumps(body) if "\\u0000" in body else body


def _store_response(merchant_id: int, key: str, request_hash: str, response: Response) -> None:
    body = _storable(json.dumps(response.data, cls=DjangoJSONEncoder))
    with connection.cursor() as cursor:
        cursor.execute(_STORE_SQL, [merchant_id, key, request_hash, response.status_code, body, timezone.now()])


def idempotent(handler: Callable[..., Response] | None = None, *, required: bool = False) -> Any:
    """Decorate an APIView write method (post/put/patch/delete): `@idempotent`, or
    `@idempotent(required=True)` on a write that moves money or points, which a client must
    be able to retry without doing it twice (refused with 400 `idempotency_key_required`)."""
    if handler is None:
        return lambda method: _idempotent(method, required=required)
    return _idempotent(handler, required=required)


def _idempotent(handler: Callable[..., Response], *, required: bool) -> Callable[..., Response]:
    @wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key and required:
            raise ApplicationError(
                f"Send an {HEADER} (any unique string, e.g. a UUID): this write moves value, and the key lets "
                "a retry return the first answer instead of doing it twice.",
                code="idempotency_key_required",
                field=f"headers.{HEADER}",
            )
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
            stored = _stored_response(merchant.pk, key)
            if stored is not None:
                stored_hash, stored_status, stored_body = stored
                if stored_hash != request_hash:
                    raise IdempotencyMismatch(
                        f"This {HEADER} was already used with a different request. Use a new key for a new request."
                    )
                return Response(stored_body, status=stored_status, headers={"Idempotent-Replayed": "true"})
            response = handler(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                _store_response(merchant.pk, key, request_hash, response)
            return response

    return wrapper
