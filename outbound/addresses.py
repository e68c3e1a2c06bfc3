"""Where a webhook may go: never to this machine or a private network (SSRF), unless the setting allows it."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import ApplicationError


def url_check(url: str, *, field: str = "url") -> None:
    """Refuse a URL that is not http(s), or whose host resolves to an address that is not public."""
    parts = urlsplit(url)
    allow_private = settings.OUTBOUND_WEBHOOKS_ALLOW_PRIVATE
    if parts.scheme not in (("https", "http") if allow_private else ("https",)) or not parts.hostname:
        raise ApplicationError("Give an https:// address.", code="invalid_url", field=field)
    if parts.username or parts.password:
        raise ApplicationError("Leave user names and passwords out of the address.", code="invalid_url", field=field)
    if allow_private:
        return
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (socket.gaierror, UnicodeError):
        raise ApplicationError(
            f"The host {parts.hostname} cannot be found.", code="unresolvable_host", field=field
        ) from None
    for address in resolved:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise ApplicationError(
                "This address leads to a private network or this machine; give a public one.",
                code="private_address",
                field=field,
            )
