"""The guard rails a message passes at send time, read for a whole batch of messages at once.

Consent is the latest ledger event per (shopper, channel, purpose), as `profiles.selectors.consents_current`
reads it for one shopper; the contact is the confirmed one `profiles.selectors.contact_for_message` picks.
Both are read here for many shoppers in one query each, so a broadcast's batch costs a fixed number of
queries, not some per message.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from campaigns.models import Campaign
from profiles.models import ConsentChannel, ConsentEvent, ContactKind, ContactPoint, ErasedContact, Shopper
from profiles.services.shoppers import contact_hmac

CONTACT_KIND: dict[str, str] = {ConsentChannel.EMAIL: ContactKind.EMAIL, ConsentChannel.SMS: ContactKind.PHONE}


def reachable(shoppers: QuerySet[Shopper], *, channel: str, purpose: str) -> QuerySet[Shopper]:
    """Shoppers who may be messaged on the channel for the purpose now: consent granted and a confirmed contact.

    Used when shoppers enter a campaign, so the holdout is drawn among shoppers the campaign could reach;
    the sender checks again at send time.
    """
    latest = (
        ConsentEvent.objects.filter(shopper=OuterRef("pk"), channel=channel, purpose=purpose)
        .order_by("-occurred_at", "-pk")
        .values("is_granted")[:1]
    )
    contact = ContactPoint.objects.filter(shopper=OuterRef("pk"), kind=CONTACT_KIND[channel], is_verified=True)
    return shoppers.annotate(consent_now=Subquery(latest)).filter(consent_now=True).filter(Exists(contact))


def consent_granted(*, shopper_ids: Sequence[int], channel: str, purpose: str) -> set[int]:
    """Of these shoppers, those whose latest consent event for the channel and purpose grants it."""
    if not shopper_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT shopper_id FROM (
                SELECT DISTINCT ON (shopper_id) shopper_id, is_granted
                  FROM profiles_consentevent
                 WHERE shopper_id = ANY(%(ids)s) AND channel = %(channel)s AND purpose = %(purpose)s
                 ORDER BY shopper_id, occurred_at DESC, id DESC
            ) AS latest WHERE is_granted
            """,
            {"ids": list(shopper_ids), "channel": channel, "purpose": purpose},
        )
        return {row[0] for row in cursor.fetchall()}


def contacts(*, shopper_ids: Sequence[int], channel: str) -> dict[int, str]:
    """The confirmed address (email) or number (SMS) of each shopper that has one: the latest confirmed."""
    if not shopper_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ON (shopper_id) shopper_id, value
              FROM profiles_contactpoint
             WHERE shopper_id = ANY(%(ids)s) AND kind = %(kind)s AND is_verified
             ORDER BY shopper_id, verified_at DESC NULLS LAST, id DESC
            """,
            {"ids": list(shopper_ids), "kind": CONTACT_KIND[channel]},
        )
        return dict(cursor.fetchall())


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


def recent_message_counts(*, shopper_ids: Sequence[int], since: datetime, excluding: Sequence[int]) -> dict[int, int]:
    """Messages of any campaign handed over (or being handed over) to each shopper since `since`."""
    if not shopper_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT shopper_id, count(*) FROM campaigns_outboxmessage
             WHERE shopper_id = ANY(%(ids)s) AND NOT (id = ANY(%(excluding)s))
               AND (   (status = 'sent' AND sent_at >= %(since)s)
                    OR (status = 'sending' AND claimed_at >= %(since)s))
             GROUP BY shopper_id
            """,
            {"ids": list(shopper_ids), "since": since, "excluding": list(excluding)},
        )
        return dict(cursor.fetchall())


def shopper_timezones(*, shopper_ids: Sequence[int], merchant_timezone: str) -> dict[int, str]:
    """Each shopper's timezone: their home store's, else the merchant's."""
    rows = Shopper.objects.filter(pk__in=list(shopper_ids)).values_list("pk", "home_store__timezone")
    return {pk: zone or merchant_timezone for pk, zone in rows}


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
    offer = campaign.offer
    return offer is None or offer.valid_from <= now < offer.valid_until
