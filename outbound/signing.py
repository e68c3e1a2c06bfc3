"""Standard Webhooks signatures (standardwebhooks.com): the scheme README's "Webhooks to your systems" documents.

    webhook-id:        the event's id (the same on every retry, so a receiver can drop repeats)
    webhook-timestamp: Unix seconds when this attempt was signed
    webhook-signature: "v1,<base64 HMAC-SHA256 of '<id>.<timestamp>.<body>'>", one per live secret, space-separated

The HMAC key is the secret after its `whsec_` prefix, base64-decoded.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def headers(*, secrets_live: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body) for secret in secrets_live
        ),
    }
