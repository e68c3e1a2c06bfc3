"""What each export holds: its header, the rows of one period and store, and how a row reads in CSV.

Every kind reads one ORM query over a server-side cursor (`.iterator(chunk_size=…)`), so memory stays
flat however many rows the period holds (benchmarks/export_csv.py compares it with COPY TO STDOUT).

Reading the filters:
- the period is whole days in the merchant's time zone, both ends included; it applies to when a
  purchase happened, a shopper joined, a consent was decided, points moved, a message was decided;
- the store is where a purchase happened (purchases; ledger entries of purchases made there) or the
  shopper's home store (shoppers, consents, messages).

Times are ISO 8601 with the merchant's offset; amounts are in major units beside their currency.
Erased shoppers export as erased: no name, contact, birthday or recipient, only their anonymous id.
No card number is ever stored, so none can leave: purchases carry the card's brand and last four.
"""

import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from campaigns.models import OutboxMessage
from core.templatetags.money import minor_digits
from exports.models import ExportJob, ExportKind
from loyalty.models import LedgerEntry
from merchants.models import Merchant, Store
from profiles.consent_wording import CONSENT_QUESTIONS, WORDING_VERSION
from profiles.models import ConsentEvent, ContactKind, Purchase, Shopper, ShopperStatus

# Rows fetched per round trip of the server-side cursor.
CHUNK_ROWS = 5_000


@dataclass(frozen=True)
class ExportFilters:
    kind: str
    date_from: date
    date_to: date
    store: Store | None = None

    def describe(self) -> dict[str, Any]:
        """The filters as the audit log keeps them."""
        return {
            "kind": self.kind,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "store": self.store.name if self.store else "all stores",
            "store_id": self.store.pk if self.store else None,
        }

    def filename(self) -> str:
        store = f"-store{self.store.pk}" if self.store else ""
        return f"{self.kind}-{self.date_from:%Y%m%d}-{self.date_to:%Y%m%d}{store}"


@dataclass(frozen=True)
class _Kind:
    header: tuple[str, ...]
    queryset: Callable[[Merchant, ExportFilters, datetime, datetime], QuerySet[Any]]
    row: Callable[[tuple[Any, ...], "_Format"], Sequence[Any]]


class _Format:
    """Times in the merchant's zone with their offset, amounts in major units."""

    def __init__(self, merchant: Merchant) -> None:
        self.zone = zoneinfo.ZoneInfo(merchant.timezone)

    def time(self, value: datetime | None) -> str:
        return value.astimezone(self.zone).isoformat() if value else ""

    @staticmethod
    def amount(minor: int | None, currency: str) -> Decimal | str:
        if minor is None:
            return ""
        return Decimal(minor).scaleb(-minor_digits(currency))

    @staticmethod
    def text(value: Any) -> Any:
        return "" if value is None else value


def period_bounds(merchant: Merchant, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[the first day's midnight, the midnight after the last day) in the merchant's time zone."""
    zone = zoneinfo.ZoneInfo(merchant.timezone)
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


# Purchases with line items: one row per line item, the purchase's columns repeated; a purchase without
# items once. The LEFT JOIN of the reverse relation gives exactly that.

_PURCHASE_FIELDS = (
    "public_id",
    "occurred_at",
    "store__name",
    "channel",
    "state",
    "source",
    "external_id",
    "currency",
    "amount_minor",
    "refunded_minor",
    "shopper__public_id",
    "card__scheme",
    "card__last_four",
    "line_items__sku",
    "line_items__name",
    "line_items__category",
    "line_items__quantity",
    "line_items__unit_price_minor",
)


def _purchases(merchant: Merchant, filters: ExportFilters, start: datetime, end: datetime) -> QuerySet[Any]:
    purchases = Purchase.objects.for_merchant(merchant).filter(occurred_at__gte=start, occurred_at__lt=end)
    if filters.store is not None:
        purchases = purchases.filter(store=filters.store)
    return purchases.order_by("occurred_at", "pk", "line_items__pk").values_list(*_PURCHASE_FIELDS)


def _purchase_row(row: tuple[Any, ...], f: _Format) -> Sequence[Any]:
    (public_id, occurred_at, store, channel, state, source, external_id, currency, amount, refunded, shopper_id,
     scheme, last_four, sku, name, category, quantity, unit_price) = row  # fmt: skip
    has_item = name is not None
    return [
        public_id,
        f.time(occurred_at),
        f.text(store),
        channel,
        state,
        source,
        external_id,
        currency,
        f.amount(amount, currency),
        f.amount(refunded, currency),
        f.amount(amount - refunded, currency),
        f.text(shopper_id),
        f.text(scheme),
        f.text(last_four),
        f.text(sku),
        f.text(name),
        f.text(category),
        quantity if has_item else "",
        f.amount(unit_price, currency),
        f.amount(quantity * unit_price, currency) if has_item else "",
    ]


PURCHASES = _Kind(
    header=(
        "purchase_id",
        "occurred_at",
        "store",
        "channel",
        "state",
        "source",
        "external_id",
        "currency",
        "amount",
        "refunded",
        "net",
        "shopper_id",
        "card_brand",
        "card_last_four",
        "item_sku",
        "item_name",
        "item_category",
        "item_quantity",
        "item_unit_price",
        "item_total",
    ),
    queryset=_purchases,
    row=_purchase_row,
)


# Shoppers who joined in the period: contacts, preferences, lifecycle stage (from the scores segments use).


def _shoppers(merchant: Merchant, filters: ExportFilters, start: datetime, end: datetime) -> QuerySet[Any]:
    shoppers = Shopper.objects.for_merchant(merchant).filter(created_at__gte=start, created_at__lt=end)
    if filters.store is not None:
        shoppers = shoppers.filter(home_store=filters.store)
    return (
        shoppers.annotate(
            emails=ArrayAgg("contacts__value", filter=Q(contacts__kind=ContactKind.EMAIL), distinct=True, default=None),
            phones=ArrayAgg("contacts__value", filter=Q(contacts__kind=ContactKind.PHONE), distinct=True, default=None),
        )
        .order_by("created_at", "pk")
        .values_list(
            "public_id",
            "status",
            "first_name",
            "last_name",
            "birthday",
            "language",
            "home_store__name",
            "joined_via",
            "created_at",
            "emails",
            "phones",
            "preferences__sizes",
            "preferences__colours",
            "preferences__brands",
            "preferences__styles",
            "preferences__favourite_categories",
            "score__lifecycle_stage",
            "merged_into__public_id",
            "erased_at",
        )
    )


def _joined(values: Iterable[str] | None) -> str:
    return "; ".join(sorted(values)) if values else ""


def _shopper_row(row: tuple[Any, ...], f: _Format) -> Sequence[Any]:
    (public_id, status, first_name, last_name, birthday, language, home_store, joined_via, created_at, emails,
     phones, sizes, colours, brands, styles, categories, stage, merged_into, erased_at) = row  # fmt: skip
    if erased_at is not None or status == ShopperStatus.ERASED:
        # What identified them is gone from the profile; the export says so rather than leaving blanks to guess at.
        erased = [public_id, ShopperStatus.ERASED.value, "", "", "", "", f.text(home_store), joined_via]
        return [*erased, f.time(created_at)] + [""] * 9
    return [
        public_id,
        status,
        first_name,
        last_name,
        birthday.isoformat() if birthday else "",
        language,
        f.text(home_store),
        joined_via,
        f.time(created_at),
        _joined(emails),
        _joined(phones),
        _joined(sizes),
        _joined(colours),
        _joined(brands),
        _joined(styles),
        _joined(categories),
        f.text(stage),
        f.text(merged_into),
    ]


SHOPPERS = _Kind(
    header=(
        "shopper_id",
        "status",
        "first_name",
        "last_name",
        "birthday",
        "language",
        "home_store",
        "joined_via",
        "joined_at",
        "emails",
        "phones",
        "sizes",
        "colours",
        "brands",
        "styles",
        "favourite_categories",
        "lifecycle_stage",
        "merged_into",
    ),
    queryset=_shoppers,
    row=_shopper_row,
)


# Consents: every decision of the ledger, with where it was made and the wording shown (the proof).

_WORDING = {(question.channel, question.purpose): question.wording for question in CONSENT_QUESTIONS}


def _consents(merchant: Merchant, filters: ExportFilters, start: datetime, end: datetime) -> QuerySet[Any]:
    events = ConsentEvent.objects.for_merchant(merchant).filter(occurred_at__gte=start, occurred_at__lt=end)
    if filters.store is not None:
        events = events.filter(shopper__home_store=filters.store)
    return events.order_by("occurred_at", "pk").values_list(
        "pk",
        "shopper__public_id",
        "shopper__status",
        "channel",
        "purpose",
        "is_granted",
        "occurred_at",
        "source",
        "source_ref",
        "wording_version",
        "created_at",
        "shopper__merchant__name",
    )


def _consent_row(row: tuple[Any, ...], f: _Format) -> Sequence[Any]:
    (event_id, shopper_id, status, channel, purpose, is_granted, occurred_at, source, source_ref, wording_version,
     recorded_at, merchant_name) = row  # fmt: skip
    wording = _WORDING.get((channel, purpose)) if wording_version == WORDING_VERSION else None
    return [
        event_id,
        shopper_id,
        status,
        channel,
        purpose,
        "granted" if is_granted else "withdrawn",
        f.time(occurred_at),
        source,
        source_ref,
        wording_version,
        str(wording) % {"merchant": merchant_name} if wording else "",
        f.time(recorded_at),
    ]


CONSENTS = _Kind(
    header=(
        "event_id",
        "shopper_id",
        "shopper_status",
        "channel",
        "purpose",
        "decision",
        "decided_at",
        "source",
        "source_reference",
        "wording_version",
        "wording",
        "recorded_at",
    ),
    queryset=_consents,
    row=_consent_row,
)


# Ledger: every movement of points, and why.


def _ledger(merchant: Merchant, filters: ExportFilters, start: datetime, end: datetime) -> QuerySet[Any]:
    entries = LedgerEntry.objects.for_merchant(merchant).filter(created_at__gte=start, created_at__lt=end)
    if filters.store is not None:
        entries = entries.filter(purchase__store=filters.store)
    return entries.order_by("created_at", "pk").values_list(
        "pk",
        "created_at",
        "account__shopper__public_id",
        "bucket",
        "points",
        "reason",
        "qualifying_spend_minor",
        "purchase__public_id",
        "purchase__store__name",
        "rule__name",
        "offer__name",
        "actor__email",
        "note",
        "expires_at",
    )


def _ledger_row_for(currency: str) -> Callable[[tuple[Any, ...], _Format], Sequence[Any]]:
    def row(values: tuple[Any, ...], f: _Format) -> Sequence[Any]:
        (entry_id, created_at, shopper_id, bucket, points, reason, spend, purchase_id, store, rule, offer, actor,
         note, expires_at) = values  # fmt: skip
        return [
            entry_id,
            f.time(created_at),
            shopper_id,
            bucket,
            points,
            reason,
            f.amount(spend, currency),
            currency,
            f.text(purchase_id),
            f.text(store),
            f.text(rule),
            f.text(offer),
            f.text(actor),
            note,
            f.time(expires_at),
        ]

    return row


LEDGER_HEADER = (
    "entry_id",
    "created_at",
    "shopper_id",
    "bucket",
    "points",
    "reason",
    "qualifying_spend",
    "currency",
    "purchase_id",
    "store",
    "rule",
    "offer",
    "staff",
    "note",
    "expires_at",
)


# Messages: every message decided for a shopper, with its channel, campaign, status and times.


def _messages(merchant: Merchant, filters: ExportFilters, start: datetime, end: datetime) -> QuerySet[Any]:
    messages = OutboxMessage.objects.for_merchant(merchant).filter(created_at__gte=start, created_at__lt=end)
    if filters.store is not None:
        messages = messages.filter(shopper__home_store=filters.store)
    return messages.order_by("created_at", "pk").values_list(
        "pk",
        "created_at",
        "sent_at",
        "shopper__public_id",
        "shopper__erased_at",
        "channel",
        "campaign__name",
        "variant__key",
        "status",
        "reason",
        "to",
        "subject",
    )


def _message_row(row: tuple[Any, ...], f: _Format) -> Sequence[Any]:
    message_id, created_at, sent_at, shopper_id, erased_at, channel, campaign, variant, state, reason, to, subject = row
    erased = erased_at is not None
    return [
        message_id,
        f.time(created_at),
        f.time(sent_at),
        shopper_id,
        channel,
        campaign,
        f.text(variant),
        state,
        reason,
        "" if erased else to,
        "" if erased else subject,
    ]


MESSAGES = _Kind(
    header=(
        "message_id",
        "decided_at",
        "sent_at",
        "shopper_id",
        "channel",
        "campaign",
        "variant",
        "status",
        "reason",
        "recipient",
        "subject",
    ),
    queryset=_messages,
    row=_message_row,
)


def _kind(merchant: Merchant, kind: str) -> _Kind:
    if kind == ExportKind.LEDGER:
        return _Kind(header=LEDGER_HEADER, queryset=_ledger, row=_ledger_row_for(merchant.currency))
    return {
        ExportKind.PURCHASES: PURCHASES,
        ExportKind.SHOPPERS: SHOPPERS,
        ExportKind.CONSENTS: CONSENTS,
        ExportKind.MESSAGES: MESSAGES,
    }[ExportKind(kind)]


def export_queryset(*, merchant: Merchant, filters: ExportFilters) -> QuerySet[Any]:
    """The values the export reads, one tuple per CSV row, in order."""
    start, end = period_bounds(merchant, filters.date_from, filters.date_to)
    return _kind(merchant, filters.kind).queryset(merchant, filters, start, end)


def export_row_count(*, merchant: Merchant, filters: ExportFilters, limit: int | None = None) -> int:
    """How many rows the export has; with `limit`, counting stops past it (the answer is then `limit + 1`)."""
    rows = export_queryset(merchant=merchant, filters=filters)
    return (rows[: limit + 1] if limit is not None else rows).count()


def export_rows(*, merchant: Merchant, filters: ExportFilters) -> Iterator[Sequence[Any]]:
    """The header, then every row of the export, read through a server-side cursor."""
    kind = _kind(merchant, filters.kind)
    fmt = _Format(merchant)
    yield kind.header
    for values in export_queryset(merchant=merchant, filters=filters).iterator(chunk_size=CHUNK_ROWS):
        yield kind.row(values, fmt)


def export_job_list(*, merchant: Merchant, limit: int = 20) -> QuerySet[ExportJob]:
    return ExportJob.objects.for_merchant(merchant).select_related("store", "requested_by")[:limit]


def export_job_get(*, merchant: Merchant, job_id: int) -> ExportJob:
    return get_object_or_404(ExportJob.objects.for_merchant(merchant).select_related("store"), pk=job_id)
