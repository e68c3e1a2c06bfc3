"""The one small interface every payment provider's adapter follows, and the event it produces.

An adapter is pure code: it reads one webhook request (headers, raw body, the URL it was sent
to) and says whether the provider signed it and which events it carries, in Storeloop's terms.
It stores nothing and looks nothing up; the webhook view, the event log and the purchase
services decide what each event does.

A request goes through `receive()` in this order, so that nothing reads a body that holds a
card number, and nothing trusts a body before its signature is checked:

1. the body is decoded as JSON (`PayloadError` otherwise);
2. any string in it that looks like a card number refuses the whole request (`CardNumberError`);
3. the adapter verifies the provider's signature over the raw body (`SignatureError`);
4. the adapter maps the document to `ProviderEvent`s (`PayloadError`, with the field's path).
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.currencies import ISO_4217
from core.pan import contains_card_number
from core.templatetags.money import minor_digits

Headers = Mapping[str, str]
Document = dict[str, Any]


class Kind(StrEnum):
    AUTH = "auth"  # an authorisation: the money is held, not yet taken
    CAPTURE = "capture"  # a capture or clearing: the final amount, which may differ from the authorisation
    REFUND = "refund"
    VOID = "void"  # an authorisation cancelled before capture
    CHARGEBACK = "chargeback"
    CARD_SEEN = "card_seen"  # a card linked or read without a purchase
    IGNORED = "ignored"  # accepted and logged, never acted on; `reason` says why


class Channel(StrEnum):
    IN_STORE = "in_store"
    ONLINE = "online"


class ProviderError(Exception):
    """A request an adapter refuses. `reason` is safe to log and to show on the event log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureError(ProviderError):
    """The request is not signed by the provider with one of the connection's secrets, or not recently."""

    def __init__(self, reason: str, code: str = "invalid_signature") -> None:
        super().__init__(reason)
        self.code = code


class PayloadError(ProviderError):
    """The body is not the provider's JSON; `path` names the field (`data.object.amount`, `body`)."""

    def __init__(self, reason: str, path: str = "body") -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


class CardNumberError(PayloadError):
    """A field holds what looks like a card number: the request is refused whole and never stored."""

    def __init__(self, path: str) -> None:
        super().__init__("looks like a card number; card numbers are never accepted", path)


@dataclass(frozen=True, slots=True)
class CardIdentity:
    """One name a provider gives a card, valid within `scope` (never a card number).

    `kind` is what the provider calls it: `fingerprint` (Stripe, Square), `alias` and `par`
    (Adyen; a payment account reference is the card network's and holds across providers),
    `card_id` (Fidel, valid across one program). Two identities name the same card only when
    provider, scope, kind and value are all equal.
    """

    provider: str
    scope: str
    kind: str
    value: str
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    wallet: str = ""


@dataclass(frozen=True, slots=True)
class CustomerHints:
    """What a provider without card identities (Shopify) tells about the shopper, to match on."""

    customer_id: str = ""
    email: str = ""
    is_email_verified: bool | None = None
    phone: str = ""
    accepts_marketing: bool | None = None


@dataclass(frozen=True, slots=True)
class LineItem:
    sku: str
    name: str
    category: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One thing that happened at a provider, in Storeloop's terms.

    `event_id` de-duplicates deliveries (the same id may arrive again). `transaction_id` is
    the natural key of the money movement: for auth and capture the payment's id (so an
    authorisation and its capture land on one purchase); for a refund, void or chargeback its
    own id, with the payment's id in `original_transaction_id` when the provider knows it.
    Amounts are positive integers of minor units of `currency`, whatever the provider sends.
    `refunded_total_minor` is set where a provider reports refunds only as a running total
    (Stripe's `amount_refunded`): the refund's own amount is then the increase over the last
    total recorded for the payment, which only the caller can know.
    """

    provider: str
    event_id: str
    kind: Kind
    event_type: str = ""
    reason: str = ""
    transaction_id: str = ""
    original_transaction_id: str = ""
    amount_minor: int | None = None
    refunded_total_minor: int | None = None
    currency: str = ""
    occurred_at: datetime | None = None
    location_id: str = ""
    channel: Channel | None = None
    cards: tuple[CardIdentity, ...] = ()
    customer: CustomerHints | None = None
    line_items: tuple[LineItem, ...] = ()
    reference: str = ""
    # A wall-clock time the provider gave without an offset or a zone (our own feed's): read in the store's
    # zone once the store is known. `occurred_at` is None then.
    local_time: str = ""


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    status: int
    body: str
    content_type: str


JSON_RECEIVED = Acknowledgement(200, '{"received": true}', "application/json")


IdentifierTests = Mapping[str, Callable[[str], bool]]


class ProviderAdapter(Protocol):
    """What the webhook view needs from a provider. One instance serves one connection.

    `account` is the provider account the connection belongs to (a Stripe account id, a
    Square merchant id…); it scopes card identities when the payload does not name one.
    """

    provider: ClassVar[str]
    identifier_fields: ClassVar[IdentifierTests]
    # What the provider expects back for a request whose signature does not verify.
    signature_failure_status: ClassVar[int]
    # Headers (lower case) that hold the provider's own long numbers (Fidel's millisecond timestamp).
    identifier_headers: ClassVar[frozenset[str]]
    # Whether the signature covers the webhook URL (Square, Fidel): a mismatch may be a wrong URL, not a wrong secret.
    signs_url: ClassVar[bool]
    account: str

    def verify(self, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime) -> None:
        """Return if one of `secrets` (current first, then any still in their overlap window) signed
        this request within the provider's tolerance of `now`; raise `SignatureError` otherwise."""
        ...

    def parse(self, raw_body: bytes, headers: Headers) -> list[ProviderEvent]:
        """The events in a verified request; `PayloadError` if it is not the provider's JSON,
        `CardNumberError` if any string in it looks like a card number."""
        ...

    def events_from(self, document: Any, headers: Headers) -> list[ProviderEvent]:
        """`parse` on a body already decoded and checked for card numbers."""
        ...

    def acknowledgement(self) -> Acknowledgement:
        """The answer the provider expects once the request is accepted."""
        ...

    def sign(
        self, raw_body: bytes, *, url: str, secret: str, now: datetime, headers: Headers | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers the provider would send, signed as it signs: for the simulator, the
        benchmark and tests, so they send exactly what the provider does."""
        ...


class JsonWebhookAdapter:
    """What the five adapters share: decoding, the card-number check, a JSON acknowledgement."""

    provider: ClassVar[str]
    identifier_fields: ClassVar[IdentifierTests] = {}
    signature_failure_status: ClassVar[int] = 401
    identifier_headers: ClassVar[frozenset[str]] = frozenset()
    signs_url: ClassVar[bool] = False

    def __init__(self, account: str = "") -> None:
        self.account = account

    def verify(self, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime) -> None:
        raise NotImplementedError

    def parse(self, raw_body: bytes, headers: Headers) -> list[ProviderEvent]:
        document = load_json(raw_body)
        refuse_card_numbers(document, self.identifier_fields)
        return self.events_from(document, headers)

    def events_from(self, document: Any, headers: Headers) -> list[ProviderEvent]:
        raise NotImplementedError

    def acknowledgement(self) -> Acknowledgement:
        return JSON_RECEIVED

    def sign(
        self, raw_body: bytes, *, url: str, secret: str, now: datetime, headers: Headers | None = None
    ) -> tuple[bytes, dict[str, str]]:
        raise NotImplementedError


def receive(
    adapter: ProviderAdapter, *, headers: Headers, raw_body: bytes, url: str, secrets: Sequence[str], now: datetime
) -> list[ProviderEvent]:
    """Card-number check, signature, then parsing: the order every webhook view must keep."""
    refuse_card_numbers_in_headers(headers, adapter.identifier_headers)
    document = load_json(raw_body)
    refuse_card_numbers(document, adapter.identifier_fields)
    adapter.verify(headers, raw_body, url, secrets, now)
    return adapter.events_from(document, headers)


# --- reading the body ---------------------------------------------------------------------------


def refuse_card_numbers_in_headers(headers: Headers, identifier_headers: frozenset[str]) -> None:
    """`CardNumberError` for a header holding a card number, but for the provider's own all-digit identifiers."""
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "cookie" or not contains_card_number(value):
            continue
        if lowered in identifier_headers and value.isascii() and value.isdigit():
            continue
        raise CardNumberError(f"headers.{name}")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def load_json(raw_body: bytes) -> Any:
    """The decoded body; numbers with a fraction become Decimal so major-unit amounts stay exact."""
    try:
        # UTF-8 only, as every provider sends (json.loads would also guess UTF-16 and UTF-32 from bytes).
        return json.loads(raw_body.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PayloadError("is not JSON in UTF-8") from error


def _string_paths(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, string) for every key and string value of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            yield key_path, str(key)
            yield from _string_paths(item, key_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_paths(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path or "body", value


def _pattern_path(path: str) -> str:
    """`notificationItems[3].x` → `notificationItems[].x`, the form identifier exemptions are written in."""
    out = []
    inside = False
    for char in path:
        if char == "[":
            inside = True
            out.append("[]")
        elif char == "]":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)


def refuse_card_numbers(document: Any, provider_identifiers: IdentifierTests) -> None:
    """Raise `CardNumberError` for the first string in `document` that holds a card number.

    `provider_identifiers` maps a field (by path, list indexes written `[]`; a leading `*.`
    matches that key at any depth) to a test of the provider's own identifier format. A value
    of that field passing that test is the provider's reference, not a card number: Adyen's
    16-digit pspReference, Shopify's `gid://shopify/Order/…`, Fidel's 13-digit Mastercard
    sequence number. Anything else in those fields is checked like every other string.
    """
    for path, text in _string_paths(document, ""):
        if not contains_card_number(text):
            continue
        pattern = _pattern_path(path)
        is_identifier = provider_identifiers.get(pattern) or provider_identifiers.get("*." + pattern.rsplit(".", 1)[-1])
        if is_identifier is None or not is_identifier(text):
            raise CardNumberError(path)


def header(headers: Headers, name: str) -> str:
    """A header's value whatever the case of its name; empty when absent."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((item for key, item in headers.items() if key.lower() == lowered), None)
    return value or ""


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def as_object(value: Any, path: str) -> Document:
    if not isinstance(value, dict):
        raise PayloadError("must be an object", path)
    return value


def as_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError("must be a list", path)
    return value


def optional_child(document: Document, key: str, path: str) -> Document | None:
    value = document.get(key)
    return None if value is None else as_object(value, join(path, key))


def child(document: Document, key: str, path: str) -> Document:
    value = optional_child(document, key, path)
    if value is None:
        raise PayloadError("is required", join(path, key))
    return value


def text(document: Document, key: str, path: str, *, required: bool = True) -> str:
    """A string field; an absent or null optional one is ""."""
    value = document.get(key)
    if value is None or value == "":
        if required:
            raise PayloadError("is required", join(path, key))
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError("must be a string", join(path, key))
    return str(value)


def optional_integer(document: Document, key: str, path: str) -> int | None:
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError("must be an integer", join(path, key))
    return value


def integer(document: Document, key: str, path: str) -> int:
    value = optional_integer(document, key, path)
    if value is None:
        raise PayloadError("is required", join(path, key))
    return value


def boolean(document: Document, key: str, path: str) -> bool | None:
    """A JSON boolean, or the strings "true"/"false" some providers send instead."""
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PayloadError("must be true or false", join(path, key))


# --- money ----------------------------------------------------------------------------------------


def currency_code(document: Document, key: str, path: str) -> str:
    code = text(document, key, path).upper()
    if code not in ISO_4217:
        raise PayloadError("is not an ISO 4217 currency", join(path, key))
    return code


def minor_amount(document: Document, key: str, path: str) -> int:
    """An amount already in minor units (Stripe, Square, Adyen): a non-negative integer."""
    value = integer(document, key, path)
    if value < 0:
        raise PayloadError("must not be negative", join(path, key))
    return value


def major_to_minor(value: Any, currency: str, path: str) -> int:
    """A major-unit amount (Fidel's number, Shopify's decimal string) as integer minor units.

    The currency's own number of minor digits decides (JPY 0, EUR 2, KWD 3); an amount finer
    than that is refused rather than rounded, since rounding would change what was paid.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PayloadError("must be a number", path)
    try:
        amount = Decimal(value)
    except InvalidOperation as error:
        raise PayloadError("must be a decimal number", path) from error
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 15:
        raise PayloadError("is out of range", path)
    minor = amount.scaleb(minor_digits(currency))
    if minor != minor.to_integral_value():
        raise PayloadError(f"has more decimals than {currency} allows", path)
    return int(minor)


# --- time -----------------------------------------------------------------------------------------


def aware_utc(document: Document, key: str, path: str) -> datetime:
    """An ISO 8601 / RFC 3339 time with an offset, in UTC."""
    raw = text(document, key, path)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise PayloadError("is not an ISO 8601 time", join(path, key)) from error
    if moment.tzinfo is None:
        raise PayloadError("has no UTC offset", join(path, key))
    return moment.astimezone(UTC)


def local_to_utc(raw: str, zone_name: str, path: str, zone_path: str) -> datetime:
    """A wall-clock time without an offset, read in the IANA zone `zone_name`, in UTC.

    In the repeated hour when clocks go back the earlier reading is taken (fold=0); a time in
    the hour skipped when clocks go forward is read with the offset before the change.
    """
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise PayloadError("is not an ISO 8601 time", path) from error
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PayloadError("is not an IANA time zone", zone_path) from error
    return moment.replace(tzinfo=zone).astimezone(UTC)


def from_unix_seconds(document: Document, key: str, path: str) -> datetime:
    seconds = integer(document, key, path)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise PayloadError("is not a Unix time", join(path, key)) from error


# --- signatures -----------------------------------------------------------------------------------


def check_timestamp(raw: str, now: datetime, *, tolerance: timedelta, unit: timedelta, name: str) -> None:
    """`raw` (a count of `unit` since the Unix epoch) lies within `tolerance` of `now`, before or after.

    Only ASCII digits, and at most 20 of them, are read: a 400-digit stamp is a SignatureError,
    never an OverflowError, and "١٢٣" or "1_000" are not numbers here.
    """
    if not raw:
        raise SignatureError(f"missing {name}")
    if len(raw) > 20 or not raw.isascii() or not raw.isdigit():
        raise SignatureError(f"{name} is not a Unix time")
    sent_at_seconds = int(raw) * unit.total_seconds()
    age = now.timestamp() - sent_at_seconds
    if age > tolerance.total_seconds():
        raise SignatureError(
            f"{name} is older than the {int(tolerance.total_seconds())} s tolerance", code="stale_signature"
        )
    if -age > tolerance.total_seconds():
        raise SignatureError(
            f"{name} is more than {int(tolerance.total_seconds())} s in the future", code="stale_signature"
        )


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def matches_any(received: str, expected: Iterable[str]) -> bool:
    """Constant-time comparison against every candidate (one per secret); never stops at the first."""
    received_bytes = received.encode("utf-8", "surrogatepass")
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(received_bytes, candidate.encode("ascii"))
    return found


def require_secrets(secrets: Sequence[str]) -> None:
    if not any(secrets):
        raise SignatureError("the connection has no signing secret")


def hex_key(secret: str) -> bytes | None:
    try:
        return binascii.unhexlify(secret.strip())
    except (binascii.Error, ValueError):
        return None
