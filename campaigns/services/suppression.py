"""What comes back from the channels: STOP replies, bounces and complaints withdraw consent in the ledger.

Each writes `withdrawn` consent events through profiles' consent service (only where consent is granted
now, so a repeated webhook adds nothing), with the source and the provider in `source_ref`.

- An SMS STOP reply withdraws SMS consent (every purpose) of each shopper whose confirmed number sent it:
  the carrier blocks the sender's number for that phone whichever merchant sends next.
- A complaint (or the ESP's own unsubscribe) withdraws email consent of the messaged shopper.
- A hard bounce marks the message bounced and withdraws email consent of every shopper with that
  address: it cannot receive mail.

Each is written with its own source (bounce, complaint; the ESP's unsubscribe as an unsubscribe link),
with "<kind> via <esp>" in `source_ref`.
"""

from django.db import transaction

from campaigns.models import OutboxMessage, OutboxStatus
from core.errors import ApplicationError
from profiles import selectors as profile_selectors
from profiles.models import (
    ConsentChannel,
    ConsentEvent,
    ConsentSource,
    ContactKind,
    ContactPoint,
    Shopper,
    ShopperStatus,
)
from profiles.services.shoppers import ConsentInput, ConsentOrigin, consent_record, normalize_email, normalize_phone

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"}


def _withdraw(shopper: Shopper, *, channel: str, source: str, reference: str) -> list[ConsentEvent]:
    Shopper.objects.select_for_update().filter(merchant=shopper.merchant_id, pk=shopper.pk).first()
    granted = [
        event.purpose
        for event in profile_selectors.consents_current(merchant=shopper.merchant, shopper=shopper)
        if event.channel == channel and event.is_granted
    ]
    if not granted:
        return []
    return consent_record(
        shopper=shopper,
        consents=[ConsentInput(channel=channel, purpose=purpose, is_granted=False) for purpose in granted],
        origin=ConsentOrigin(source=source, reference=reference),
    )


def _shoppers_with(kind: str, value: str) -> list[Shopper]:
    """The shoppers, of every merchant, with this confirmed contact: a provider's report names no merchant."""
    ids = ContactPoint.all_merchants.filter(kind=kind, value=value, is_verified=True).values_list(
        "shopper_id", flat=True
    )
    return list(
        Shopper.all_merchants.select_related("merchant")
        .filter(pk__in=list(ids), status=ShopperStatus.ACTIVE)
        .order_by("pk")
    )


def is_stop_reply(body: str) -> bool:
    return body.strip().strip(".!").upper() in STOP_WORDS


@transaction.atomic
def sms_stop_record(*, from_number: str, body: str, provider: str) -> list[ConsentEvent]:
    """An inbound SMS: a STOP word withdraws SMS consent of the shoppers with that confirmed number."""
    if not is_stop_reply(body):
        return []
    try:
        number = normalize_phone(from_number, field_name="From")
    except ApplicationError:
        return []
    events: list[ConsentEvent] = []
    for shopper in _shoppers_with(ContactKind.PHONE, number):
        events += _withdraw(shopper, channel=ConsentChannel.SMS, source=ConsentSource.STOP_REPLY, reference=provider)
    return events


@transaction.atomic
def email_feedback_record(*, event_type: str, message_id: str, recipient: str, esp: str) -> list[ConsentEvent]:
    """An ESP's tracking event: "bounced" or "complained" (and the ESP's "unsubscribed") withdraw email consent."""
    if event_type not in ("bounced", "complained", "unsubscribed"):
        return []
    message = (  # the ESP's message id is unique across merchants
        OutboxMessage.all_merchants.select_related("shopper__merchant")
        .filter(channel=ConsentChannel.EMAIL, provider_id=message_id)
        .first()
        if message_id
        else None
    )
    try:
        address = normalize_email(recipient) if recipient else ""
    except ApplicationError:
        address = ""
    if event_type == "bounced":
        if message is not None:
            OutboxMessage.objects.filter(merchant=message.merchant_id, pk=message.pk).update(
                status=OutboxStatus.BOUNCED, reason="bounced"
            )
        shoppers = _shoppers_with(ContactKind.EMAIL, address or (message.to if message else ""))
        reference, source = f"bounce via {esp}", ConsentSource.BOUNCE
    else:
        shoppers = [message.shopper] if message is not None else _shoppers_with(ContactKind.EMAIL, address)
        complained = event_type == "complained"
        reference = f"{'complaint' if complained else 'unsubscribe'} via {esp}"
        source = ConsentSource.COMPLAINT if complained else ConsentSource.UNSUBSCRIBE_LINK
    events: list[ConsentEvent] = []
    for shopper in shoppers:
        events += _withdraw(shopper, channel=ConsentChannel.EMAIL, source=source, reference=reference)
    return events
