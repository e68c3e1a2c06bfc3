"""Processing a stored provider event: it becomes a purchase, a change of one, or a card recognised.

Run by the worker, once per event, in its own transaction; safe to run again (a processed event
is left alone, and every money movement has a natural key). Events of one transaction are
processed one at a time (an advisory lock on the transaction's key), whatever order the
provider delivers them in:

- an authorisation records a purchase, authorised (its points pending);
- a capture or clearing records it cleared, or clears the authorised one, with the final amount;
- a refund or chargeback takes back its amount (Stripe's running total: the increase), each refund
  once by its own id; one that arrives before its purchase waits for it;
- a void (an authorisation cancelled, or one never captured within the source's expiry) takes the
  whole authorised amount back, so its pending points lapse;
- an unknown location keeps the event, listed for mapping; mapping it replays the event.

A purchase reported by a provider is known by `<provider>:<transaction id>` (its natural key), so
a provider's retry, a replay, or an authorisation arriving after its own clearing never records
a second purchase.
"""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import msgspec
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import ApplicationError
from core.templatetags.money import minor_digits
from merchants.models import Merchant, Store
from payments.models import REPLAYABLE, EventStatus, LocationMapping, PaymentEvent, PaymentSource, Provider
from payments.providers.base import Channel, Kind, ProviderEvent
from payments.services.sources import location_seen
from profiles.models import Card, CardIdentityVia, Purchase, PurchaseSource, PurchaseState, Shopper
from profiles.models import Channel as PurchaseChannel
from profiles.services import cards, purchases, shoppers

logger = logging.getLogger(__name__)

# An unlinked refund (Fidel's without `originalTransactionId`) is matched to the card's latest purchase at
# the same store within this long, with enough left to refund.
UNLINKED_REFUND_WINDOW = timedelta(days=120)


class Unmapped(Exception):
    def __init__(self, detail: str, location_id: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.location_id = location_id


class Waiting(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Outcome:
    status: str
    detail: str
    purchase: Purchase | None = None


def _money(amount_minor: int, currency: str) -> str:
    """An amount as staff read it in the event log: 6.47 EUR, 1200 JPY."""
    digits = minor_digits(currency)
    return f"{Decimal(amount_minor).scaleb(-digits):.{digits}f} {currency}"


def natural_key(provider: str, transaction_id: str) -> str:
    """How a provider's transaction is known among the merchant's purchases. Our own feed's ids stand alone,
    as they always have."""
    if provider == Provider.GENERIC:
        return transaction_id[:100]
    return f"{provider}:{transaction_id}"[:100]


def _occurred_at(data: ProviderEvent, store: Store | None, merchant: Merchant) -> datetime:
    """The event's time; a wall-clock time without a zone is read in the store's zone (else the merchant's)."""
    if data.occurred_at is not None:
        return data.occurred_at
    if data.local_time:
        zone = zoneinfo.ZoneInfo(store.timezone if store is not None else merchant.timezone)
        return datetime.fromisoformat(data.local_time).replace(tzinfo=zone)
    return timezone.now()


def _lock_transaction(merchant_id: int, key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"payment:{merchant_id}:{key}"])


def _finish(event: PaymentEvent, outcome: Outcome) -> PaymentEvent:
    event.status, event.detail, event.purchase = outcome.status, outcome.detail[:300], outcome.purchase
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "detail", "purchase", "processed_at", "attempts"])
    return event


def event_process(*, event_id: int, replay: bool = False) -> PaymentEvent | None:
    """Process one stored event (of any merchant, by id). A replay also takes failed, unmapped, waiting
    and held events; otherwise only new ones. None when there was nothing to do."""
    statuses = [EventStatus.RECEIVED, *REPLAYABLE] if replay else [EventStatus.RECEIVED]
    with transaction.atomic():
        event = (
            PaymentEvent.all_merchants.select_for_update(of=("self",), skip_locked=not replay)
            .select_related("source", "source__merchant", "source__default_store")
            .filter(pk=event_id, status__in=statuses)
            .first()
        )
        if event is None:
            return None
        source = event.source
        if source.is_paused:
            return _finish(event, Outcome(EventStatus.PAUSED, "held while the source is paused"))
        event.attempts += 1
        data = msgspec.convert(event.data, ProviderEvent)
        try:
            with transaction.atomic():
                outcome = _apply(source, source.merchant, data)
        except Unmapped as unmapped:
            if unmapped.location_id:  # listed for mapping (what _apply wrote was rolled back)
                location_seen(source=source, location_id=unmapped.location_id)
            outcome = Outcome(EventStatus.UNMAPPED, unmapped.detail)
        except Waiting as waiting:
            outcome = Outcome(EventStatus.WAITING, waiting.detail)
        except ApplicationError as error:
            outcome = Outcome(EventStatus.FAILED, f"{error.code}: {error.message}")
        finished = _finish(event, outcome)
        if outcome.status == EventStatus.PROCESSED and data.kind in (Kind.AUTH, Kind.CAPTURE):
            _wake_waiting(source, data.transaction_id)
    return finished


def _wake_waiting(source: PaymentSource, transaction_id: str) -> None:
    """Refunds and voids that arrived before this purchase: queue them now that it exists."""
    waiting = list(
        PaymentEvent.objects.filter(merchant_id=source.merchant_id)
        .filter(source=source, status=EventStatus.WAITING)
        .filter(Q(original_transaction_id=transaction_id) | Q(transaction_id=transaction_id))
        .values_list("pk", flat=True)
    )
    if waiting:
        from payments.tasks import replay_payment_events

        transaction.on_commit(lambda: replay_payment_events.delay(waiting))


def events_requeue(*, source: PaymentSource, statuses: list[str] | None = None, location_id: str | None = None) -> int:
    """Queue a source's replayable events again (after a fix, a mapping, a resume), oldest first."""
    events = PaymentEvent.objects.filter(merchant_id=source.merchant_id).filter(
        source=source, status__in=statuses or list(REPLAYABLE)
    )
    if location_id is not None:
        events = events.filter(location_id=location_id)
    ids = list(events.order_by("received_at", "pk").values_list("pk", flat=True))
    if ids:
        from payments.tasks import replay_payment_events

        transaction.on_commit(lambda: replay_payment_events.delay(ids))
    return len(ids)


def events_replay(*, source: PaymentSource, event_ids: list[int]) -> int:
    """Queue these events of `source` again, those that may be replayed (failed, unmapped, waiting, held, and
    received ones whose task was lost: processing an event twice does nothing the second time)."""
    ids = list(
        PaymentEvent.objects.filter(merchant_id=source.merchant_id, source=source, pk__in=event_ids)
        .filter(status__in=[EventStatus.RECEIVED, *REPLAYABLE])
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )
    if ids:
        from payments.tasks import replay_payment_events

        transaction.on_commit(lambda: replay_payment_events.delay(ids))
    return len(ids)


# --- what each kind of event does -----------------------------------------------------------------


def _apply(source: PaymentSource, merchant: Merchant, data: ProviderEvent) -> Outcome:
    if data.kind == Kind.IGNORED:
        return Outcome(EventStatus.IGNORED, data.reason or "not an event Storeloop uses")
    if data.kind == Kind.CARD_SEEN:
        return _card_seen(merchant, data)
    if not data.transaction_id:
        raise ApplicationError("The event names no transaction.", code="invalid", field="transaction_id")
    if data.kind in (Kind.AUTH, Kind.CAPTURE):
        _lock_transaction(merchant.pk, natural_key(data.provider, data.transaction_id))
        return _payment(source, merchant, data)
    original = data.original_transaction_id or (data.transaction_id if data.kind == Kind.VOID else "")
    if original:
        _lock_transaction(merchant.pk, natural_key(data.provider, original))
    if data.kind == Kind.VOID:
        return _void(merchant, data, original)
    return _refund(source, merchant, data, original)


def _identities(data: ProviderEvent) -> list[cards.ProviderCardId]:
    return [cards.ProviderCardId(card.provider, card.scope, card.kind, card.value) for card in data.cards]


def _card_for(merchant: Merchant, data: ProviderEvent) -> Card | None:
    """The linked card the event's identities name; identities named with it in the same payment join it."""
    identities = _identities(data)
    card = cards.card_by_identities(merchant=merchant, identities=identities)
    if card is not None and len(identities) > 1:
        cards.identities_attach(card=card, identities=identities, via=CardIdentityVia.SAME_PAYMENT)
    return card


def _card_seen(merchant: Merchant, data: ProviderEvent) -> Outcome:
    card = _card_for(merchant, data)
    if card is None:
        return Outcome(EventStatus.IGNORED, "a card no shopper has linked here")
    return Outcome(EventStatus.PROCESSED, "card recognised")


def _store_for(source: PaymentSource, merchant: Merchant, data: ProviderEvent) -> Store | None:
    """The store a payment happened in; Unmapped if the provider names a location nobody has mapped."""
    if data.location_id:
        mapping = location_seen(source=source, location_id=data.location_id)
        if mapping.store_id is not None:
            return Store.objects.for_merchant(merchant).get(pk=mapping.store_id)
        # A store may carry the id itself (Settings → Stores → location ids), as the generic feed reads it.
        store = Store.objects.for_merchant(merchant).filter(network_location_ids__contains=[data.location_id]).first()
        if store is not None:
            LocationMapping.objects.for_merchant(merchant).filter(pk=mapping.pk).update(store=store)
            return store
        if data.channel == Channel.ONLINE:
            return None  # a card-not-present payment is recorded online meanwhile; the location stays listed
        raise Unmapped(
            f"Location {data.location_id} is not mapped to a store yet: map it under Settings → Payment sources, "
            "and the event is processed.",
            location_id=data.location_id,
        )
    if data.channel == Channel.ONLINE:
        return None
    if source.default_store is not None:
        return source.default_store
    if data.channel == Channel.IN_STORE:
        raise Unmapped("An in-store payment without a location: choose the source's default store, and replay.")
    return None


def _customer_shopper(merchant: Merchant, data: ProviderEvent) -> Shopper | None:
    """A provider without card identities (Shopify) names its customer: matched on a verified email, then phone."""
    hints = data.customer
    if hints is None:
        return None
    email = ""
    if hints.email and hints.is_email_verified is not False:
        try:
            email = shoppers.normalize_email(hints.email)
        except ApplicationError:
            email = ""
    phone = ""
    if hints.phone:
        try:
            phone = shoppers.normalize_phone(hints.phone)
        except ApplicationError:
            phone = ""
    shopper, _ = shoppers.shopper_find(merchant=merchant, email=email or None, phone=phone or None)
    return shopper


def _payment(source: PaymentSource, merchant: Merchant, data: ProviderEvent) -> Outcome:
    key = natural_key(data.provider, data.transaction_id)
    existing = (
        Purchase.objects.for_merchant(merchant)
        .select_for_update(of=("self",))
        .select_related("merchant")
        .filter(network_transaction_id=key)
        .first()
    )
    if existing is not None:
        if existing.card_id is None:
            card = _card_for(merchant, data)
            if card is not None:
                purchases.purchase_identify(purchase=existing, card=card)
        return _settle_existing(existing, data)
    if data.amount_minor is None or data.amount_minor <= 0:
        return Outcome(EventStatus.IGNORED, "a payment of no amount")
    store = _store_for(source, merchant, data)
    card = _card_for(merchant, data)
    shopper = None if card is not None else _customer_shopper(merchant, data)
    result = purchases.purchase_record(
        merchant=merchant,
        data=purchases.PurchaseInput(
            external_id=key,
            network_transaction_id=key,
            amount_minor=data.amount_minor,
            currency=data.currency,
            occurred_at=_occurred_at(data, store, merchant),
            # The provider's word decides (card present or not); a store without it means in store. An online
            # payment at a mapped location keeps the store, as an online order collected there does.
            channel=PurchaseChannel.ONLINE
            if data.channel == Channel.ONLINE or store is None
            else PurchaseChannel.IN_STORE,
            store=store,
            shopper=shopper,
            card_token=card.token if card is not None else None,
            source=PurchaseSource.NETWORK,
            state=PurchaseState.AUTHORISED if data.kind == Kind.AUTH else PurchaseState.CLEARED,
            line_items=tuple(
                purchases.LineItemInput(
                    name=item.name or item.sku or "item",
                    unit_price_minor=item.unit_price_minor,
                    quantity=item.quantity,
                    sku=item.sku,
                    category=item.category,
                )
                for item in data.line_items
            ),
        ),
    )
    what = "authorisation" if data.kind == Kind.AUTH else "capture"
    if result.basket_matched:
        what += ", matched a checkout basket"
    if result.purchase.shopper_id is None:
        what += "; no linked card or known customer, so no shopper"
    return Outcome(EventStatus.PROCESSED, what, result.purchase)


def _settle_existing(purchase: Purchase, data: ProviderEvent) -> Outcome:
    """An authorisation or capture of a payment already recorded."""
    if data.kind == Kind.AUTH:
        return Outcome(EventStatus.PROCESSED, "authorisation of a payment already recorded", purchase)
    if purchase.state == PurchaseState.REFUNDED and purchase.refunded_minor >= purchase.amount_minor:
        return Outcome(EventStatus.IGNORED, "a capture of a payment already voided or refunded", purchase)
    amount = data.amount_minor if data.amount_minor and data.amount_minor > 0 else purchase.amount_minor
    amount = max(amount, purchase.refunded_minor)  # never below what was already refunded
    previous = purchase.amount_minor
    clears = purchase.state == PurchaseState.AUTHORISED
    if amount == previous and not clears:
        return Outcome(EventStatus.PROCESSED, "capture of a payment already captured", purchase)
    purchases.purchase_change_value(
        purchase=purchase,
        amount_minor=amount if amount != previous else None,
        state=PurchaseState.CLEARED if clears else None,
    )
    currency = purchase.currency
    detail = (
        "capture"
        if amount == previous
        else f"capture, final amount {_money(amount, currency)} (authorised {_money(previous, currency)})"
    )
    return Outcome(EventStatus.PROCESSED, detail, purchase)


def _original(merchant: Merchant, provider: str, original: str) -> Purchase | None:
    return (
        Purchase.objects.for_merchant(merchant)
        .select_for_update(of=("self",))
        .filter(network_transaction_id=natural_key(provider, original))
        .first()
    )


def _already_counted(source: PaymentSource, data: ProviderEvent) -> bool:
    """A refund is counted once by its own id, whichever event (created, updated, clearing) carried it."""
    return (
        PaymentEvent.objects.filter(merchant_id=source.merchant_id)
        .filter(
            source=source,
            kind__in=[Kind.REFUND.value, Kind.CHARGEBACK.value],
            transaction_id=data.transaction_id[:100],
            status=EventStatus.PROCESSED,
        )
        .exclude(event_id=data.event_id[:200])
        .exists()
    )


def _unlinked_refund_target(merchant: Merchant, data: ProviderEvent, amount: int) -> Purchase | None:
    """The purchase a refund without its original's id most likely takes back: the same card's latest at
    the same location, recent, with at least this much left."""
    card = cards.card_by_identities(merchant=merchant, identities=_identities(data))
    if card is None:
        return None
    since = (data.occurred_at or timezone.now()) - UNLINKED_REFUND_WINDOW
    candidates = Purchase.objects.for_merchant(merchant).filter(
        card=card,
        source=PurchaseSource.NETWORK,
        occurred_at__gte=since,
        **({} if data.provider == Provider.GENERIC else {"network_transaction_id__startswith": f"{data.provider}:"}),
    )
    for purchase in candidates.select_for_update(of=("self",)).order_by("-occurred_at", "-pk")[:20]:
        if purchase.amount_minor - purchase.refunded_minor >= amount:
            return purchase
    return None


def _refund(source: PaymentSource, merchant: Merchant, data: ProviderEvent, original_id: str) -> Outcome:
    what = "chargeback" if data.kind == Kind.CHARGEBACK else "refund"
    if _already_counted(source, data):
        return Outcome(EventStatus.PROCESSED, f"{what} already counted from an earlier event")
    if original_id:
        original = _original(merchant, data.provider, original_id)
        if original is None:
            raise Waiting(f"The {what}'s payment {original_id} has not arrived yet; it is applied when it does.")
    else:
        amount_hint = data.amount_minor or 0
        original = _unlinked_refund_target(merchant, data, amount_hint) if amount_hint else None
        if original is None:
            return Outcome(
                EventStatus.FAILED,
                f"The provider did not say which payment this {what} belongs to, and no purchase of the same card "
                "matches it.",
            )
        what += " (matched by card and amount)"
    remaining = original.amount_minor - original.refunded_minor
    if data.refunded_total_minor is not None:
        amount = data.refunded_total_minor - original.refunded_minor
        if amount <= 0:
            return Outcome(EventStatus.PROCESSED, f"{what} already counted", original)
    else:
        amount = data.amount_minor or 0
    if amount <= 0:
        return Outcome(EventStatus.IGNORED, f"a {what} of no amount", original)
    if remaining <= 0:
        return Outcome(EventStatus.PROCESSED, f"{what} of a payment with nothing left to refund", original)
    taken = min(amount, remaining)
    purchases.purchase_refund(merchant=merchant, purchase_id=original.pk, amount_minor=taken)
    currency = original.currency
    detail = (
        f"{what} of {_money(taken, currency)}"
        if taken == amount
        else f"{what} of {_money(amount, currency)}, capped at the {_money(taken, currency)} left"
    )
    original.refresh_from_db(fields=["refunded_minor", "state", "amount_minor"])
    return Outcome(EventStatus.PROCESSED, detail, original)


def _void(merchant: Merchant, data: ProviderEvent, original_id: str) -> Outcome:
    original = _original(merchant, data.provider, original_id)
    if original is None:
        raise Waiting(f"The cancelled payment {original_id} has not arrived yet; it is voided when it does.")
    return purchase_void(merchant=merchant, purchase=original, reason="authorisation cancelled")


def purchase_void(*, merchant: Merchant, purchase: Purchase, reason: str) -> Outcome:
    """Take back the whole of an authorised purchase (call with it locked): its pending points lapse."""
    if purchase.state != PurchaseState.AUTHORISED:
        return Outcome(
            EventStatus.IGNORED,
            f"{reason}, but the payment was already {purchase.get_state_display().lower()}",
            purchase,
        )
    remaining = purchase.amount_minor - purchase.refunded_minor
    if remaining > 0:
        purchases.purchase_refund(merchant=merchant, purchase_id=purchase.pk, amount_minor=remaining)
    purchase.refresh_from_db(fields=["refunded_minor", "state", "amount_minor"])
    return Outcome(EventStatus.PROCESSED, f"void of {_money(remaining, purchase.currency)}: {reason}", purchase)


# --- authorisations never captured ------------------------------------------------------------------


def authorisations_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """Void every provider purchase still authorised past its source's expiry; each gets an event in the
    source's log saying so. Returns how many were voided."""
    now = now or timezone.now()
    voided = 0
    for source in PaymentSource.all_merchants.select_related("merchant").order_by("pk"):
        cutoff = now - timedelta(days=source.auth_expiry_days)
        stale = (
            PaymentEvent.objects.filter(merchant_id=source.merchant_id)
            .filter(
                source=source,
                kind=Kind.AUTH.value,
                status=EventStatus.PROCESSED,
                purchase__state=PurchaseState.AUTHORISED,
                purchase__occurred_at__lt=cutoff,
            )
            .values_list("purchase_id", "transaction_id")
            .distinct()[:limit]
        )
        for purchase_id, transaction_id in list(stale):
            voided += _expire_one(source, purchase_id, transaction_id, now)
    return voided


@transaction.atomic
def _expire_one(source: PaymentSource, purchase_id: int, transaction_id: str, now: datetime) -> int:
    merchant = source.merchant
    _lock_transaction(merchant.pk, natural_key(source.provider, transaction_id))
    purchase = (
        Purchase.objects.for_merchant(merchant)
        .select_for_update(of=("self",))
        .filter(pk=purchase_id, state=PurchaseState.AUTHORISED)
        .first()
    )
    if purchase is None:
        return 0
    reason = f"authorisation not captured within {source.auth_expiry_days} days"
    outcome = purchase_void(merchant=merchant, purchase=purchase, reason=reason)
    PaymentEvent.objects.create(
        merchant=merchant,
        source=source,
        event_id=f"expiry:{transaction_id}"[:200],
        event_type="authorisation.expired",
        kind=Kind.VOID.value,
        transaction_id=transaction_id,
        original_transaction_id=transaction_id,
        data=msgspec.to_builtins(
            ProviderEvent(source.provider, f"expiry:{transaction_id}", Kind.VOID, transaction_id=transaction_id)
        ),
        status=outcome.status,
        detail=outcome.detail,
        purchase=purchase,
        processed_at=now,
    )
    return 1
