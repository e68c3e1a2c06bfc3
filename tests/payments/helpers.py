"""Posting a provider's documented payload to a source's webhook, signed as the provider signs it."""

import json
from typing import Any

from django.test import Client
from django.utils import timezone

from payments.api import webhook_url
from payments.models import PaymentSource
from payments.providers import adapter_for
from payments.services import sources
from tests.payments.fixtures import raw_payload

SECRETS = {
    "stripe": "whsec_test_northwind",
    "square": "square-signature-key",
    "fidel": "wh_test_fidel_secret",
    "adyen": "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
    "shopify": "shpss_test_secret",
    "generic": "generic-feed-secret",
}


def make_source(merchant, provider: str, *, store=None, account: str = "", **extra: Any) -> PaymentSource:
    return sources.source_create(
        merchant=merchant,
        data=sources.SourceInput(
            provider=provider,
            name=f"{provider} test",
            secret=SECRETS[provider],
            account=account,
            default_store=store,
            **extra,
        ),
    )


def signed_post(
    source: PaymentSource,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    secret: str | None = None,
    now=None,
    client: Client | None = None,
):
    adapter = adapter_for(source.provider, account=source.account)
    signed_body, signed_headers = adapter.sign(
        body,
        url=webhook_url(source),
        secret=secret or SECRETS[source.provider],
        now=now or timezone.now(),
        headers=headers or {},
    )
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in signed_headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    return (client or Client()).post(
        f"/api/v1/webhooks/{source.public_id}", data=signed_body, content_type="application/json", **extra
    )


def payload_with(provider: str, name: str, **changes: Any) -> bytes:
    """A stored payload with top-level changes (a new event id for a second delivery, say)."""
    document = json.loads(raw_payload(provider, name))
    document.update(changes)
    return json.dumps(document, indent=2).encode()
