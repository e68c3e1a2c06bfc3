"""The guard rails a message passes at send time, read for a whole batch of messages at once.

Consent is the latest ledger event per (shopper, channel, purpose), as `profiles.selectors.consents_current`
reads it for one shopper; the contact is the confirmed one `profiles.selectors.contact_for_message` picks.
Here they are read, with the timezone and the recent messages, for a whole batch in one query, so a
broadcast's batch costs a fixed number of queries, not some per message.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from campaigns.models import Campaign
from campaigns.offers.selectors import offer_worth_sending
from merchants.models import Store
from profiles.models import ConsentChannel, ConsentEvent, ContactKind, ContactPoint, ErasedContact, Shopper
from profiles.services.shoppers import contact_hmac

CONTACT_KIND: dict[str, str] = {ConsentChannel.EMAIL: ContactKind.EMAIL, ConsentChannel.SMS: ContactKind.PHONE}


def reachable(
    shoppers: QuerySet[Shopper], *, channel: str, purpose: str, as_of: datetime | None = None
) -> QuerySet[Shopper]:
    """Shoppers who may be messaged on the channel for the purpose now (or at `as_of`): consent granted
    and a confirmed contact.

    Used when shoppers enter a campaign, so the holdout is drawn among shoppers the campaign could reach;
    the sender checks again at send time.
    """
    events = ConsentEvent.objects.filter(shopper=OuterRef("pk"), channel=channel, purpose=purpose)
    contact = ContactPoint.objects.filter(shopper=OuterRef("pk"), kind=CONTACT_KIND[channel], is_verified=True)
    if as_of is not None:
        events = events.filter(occurred_at__lte=as_of)
        contact = contact.filter(verified_at__lte=as_of)
    latest = events.order_by("-occurred_at", "-pk").values("is_granted")[:1]
    return shoppers.annotate(consent_now=Subquery(latest)).filter(consent_now=True).filter(Exists(contact))


@dataclass(frozen=True)
class ShopperFacts:
    """What the guard rails read about one shopper at send time."""

    is_consenting: bool
    contact: str | None
    timezone: str | None  # the home store's, if any
    recent_messages: int


_FACTS_SQL = f"""
SELECT shopper.id,
       coalesce((SELECT consent.is_granted FROM {ConsentEvent._meta.db_table} AS consent
                  WHERE consent.shopper_id = shopper.id AND consent.channel = %(channel)s
                    AND consent.purpose = %(purpose)s
                  ORDER BY consent.occurred_at DESC, consent.id DESC LIMIT 1), false),
       (SELECT contact.value FROM {ContactPoint._meta.db_table} AS contact
         WHERE contact.shopper_id = shopper.id AND contact.kind = %(kind)s AND contact.is_verified
         ORDER BY contact.verified_at DESC NULLS LAST, contact.id DESC LIMIT 1),
       store.timezone,
       (SELECT count(*) FROM campaigns_outboxmessage AS message
         WHERE message.shopper_id = shopper.id AND NOT (message.id = ANY(%(excluding)s))
           AND (   (message.status = 'sent' AND message.sent_at >= %(since)s)
                OR (message.status IN ('sending', 'handing') AND message.claimed_at >= %(since)s)))
  FROM {Shopper._meta.db_table} AS shopper
  LEFT JOIN {Store._meta.db_table} AS store ON store.id = shopper.home_store_id
 WHERE shopper.id = ANY(%(ids)s)
"""  # noqa: S608 - table names from the models; values are bound


def shopper_facts(
    *, shopper_ids: Sequence[int], channel: str, purpose: str, since: datetime, excluding: Sequence[int]
) -> dict[int, ShopperFacts]:
    """Consent now (the latest ledger event), the confirmed contact, the home store's timezone, and the messages
    of any campaign handed over (or being handed over) since `since`: for many shoppers in one query."""
    if not shopper_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _FACTS_SQL,
            {
                "ids": list(shopper_ids),
                "channel": channel,
                "purpose": purpose,
                "kind": CONTACT_KIND[channel],
                "since": since,
                "excluding": list(excluding),
            },
        )
        return {row[0]: ShopperFacts(*row[1:]) for row in cursor.fetchall()}


def erased(*, merchant_id: int, channel: str, values: Iterable[str]) -> set[str]:
    """Addresses or numbers of erased shoppers (kept as HMACs so that they are never messaged again)."""
    kind = CONTACT_KIND[channel]
    by_hmac = {contact_hmac(kind, value): value for value in values}
    if not by_hmac:
        return set()
    found = ErasedContact.objects.filter(merchant_id=merchant_id, kind=kind, value_hmac__in=list(by_hmac)).values_list(
        "value_hmac", flat=True
    )
    return {by_hmac[value_hmac] for value_hmac in found}


def quiet_hours_end(*, now: datetime, zone: str, start: time, end: time) -> datetime | None:
    """If `now` falls in the quiet hours [start, end) of the zone's local clock, the moment they end; else None.

    The hours may wrap midnight (21:00-09:00). Equal start and end mean no quiet hours.
    """
    if start == end:
        return None
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    wraps = start > end
    inside = (clock >= start or clock < end) if wraps else (start <= clock < end)
    if not inside:
        return None
    day = local.date()
    if wraps and clock >= start:
        day += timedelta(days=1)
    ending = datetime.combine(day, end, tzinfo=tz)
    if ending <= now:  # a clock change moved the wall time
        ending = datetime.combine(day + timedelta(days=1), end, tzinfo=tz)
    return ending


def offer_is_live(*, campaign: Campaign, now: datetime) -> bool:
    """The offers' own rule (campaigns.offers.selectors), so the sender and every surface agree."""
    return campaign.offer is None or offer_worth_sending(campaign.offer, at=now)
