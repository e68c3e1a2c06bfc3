"""The sender: claims due outbox rows, checks the guard rails, renders, hands over, records what was sent.

Exactly-once effect, with tasks that run at least once and workers that may be killed at any instruction:

1. Claim. One statement moves due rows `queued → sending` (`FOR UPDATE SKIP LOCKED`, so two senders never take
   the same row), stamps `claimed_by` (a token unique to this claim) and `claimed_at` (the lease) and commits.
   Every later write of the sender names its token, so a sender whose lease ran out cannot touch a row that
   the sweep released and another sender claimed since.
2. Guard rails, read for the whole batch: current consent for the campaign's channel and purpose, a
   confirmed contact, erased-contact suppression, the live offer, quiet hours in the shopper's timezone
   (the row goes back to `queued` with `not_before` at their end) and the frequency cap across all
   campaigns. Rows that fail are `suppressed` with the reason, before anything is handed over.
3. Render, then hand over. Rows are marked `handing` and committed before their messages go to the channel,
   and marked `sent` (with `sent_at` and what was sent) as the channel takes them, committed without waiting
   for the disk (a killed worker loses nothing the server received). The grain is the channel's
   (`campaigns.channels`): a text is marked, handed over and recorded on its own, its mark waiting for the
   disk; emails are marked per batch and recorded per 50 or within 50 ms (`RECORD_WITHIN`), whichever comes
   first, since an interrupted email goes again under its own Message-ID whether or not its hand-off had
   begun (a statement per email cost three quarters of the broadcast rate; see `EmailChannel.record_group`).
4. Lease. While it works the sender renews `claimed_at` of its rows every `HEARTBEAT` (15 s); a claim not
   renewed for `CLAIM_LEASE` (45 s) belongs to a dead worker. `outbox_release_stale` (every minute) then:
   - re-queues rows still `sending`: their hand-off never started, nothing reached the channel;
   - rows left `handing` (the message in flight; for email also those handed over but not yet recorded, and
     those of the batch not yet handed over): re-queues email, handed over again under the same `Message-ID`
     (the channel's own idempotency), and marks texts `failed`, reason `interrupted`: Twilio's Messages API
     has no idempotency key, so a text that may have gone out is never sent again; handing texts over one at
     a time makes that at most the one in flight.
   A row that has been claimed `MAX_ATTEMPTS` times and still dies with its worker is marked `interrupted`.
   A sender that was not dead but stalled past its lease (a hand-off that hung) learns at its next renewal
   which rows are still its own, and hands over only those.

Only when the channel could not be reached at all (`ChannelUnavailable`: nothing was handed over) do rows go
back to `queued`, with a backoff.
"""

import contextlib
import os
import secrets
import socket
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.utils import formataddr, parseaddr
from functools import lru_cache
from time import monotonic

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from campaigns.channels import ChannelUnavailable, Delivery, EmailChannel, Outgoing, SmsChannel, channel_for
from campaigns.channels import resends_uncertain as channel_resends_uncertain
from campaigns.models import (
    Campaign,
    CampaignSettings,
    CampaignStatus,
    MessageTemplate,
    OutboxMessage,
    OutboxStatus,
    Variant,
)
from campaigns.offers.services import coupon_issue
from campaigns.services import guards, holdout, rendering
from campaigns.signals import message_sent
from core.errors import ApplicationError
from core.instances import stored_instance
from loyalty.models import Account
from merchants.models import AuditEvent, Merchant, User
from profiles import links as profile_links
from profiles.models import ConsentChannel, ConsentPurpose, Shopper, ShopperStatus
from profiles.services.shoppers import normalize_phone

logger = structlog.get_logger(__name__)

BATCH_SIZE = 500
MAX_ATTEMPTS = 5
# A live sender renews the lease of its claimed rows this often; a lease not renewed for CLAIM_LEASE belongs to
# a worker that died (three missed renewals; no single hand-off may block longer: Twilio's timeout is 10 s).
HEARTBEAT = timedelta(seconds=15)
CLAIM_LEASE = timedelta(seconds=45)
# A hand-off is recorded within this long (or with the channel's `record_group` of them, whichever comes first):
# a kill leaves unrecorded only what the channel took in the last moments, whatever the channel's speed.
RECORD_WITHIN = timedelta(milliseconds=50)
# Scheduled: a recurring broadcast between runs still sends what its last run queued.
SENDABLE_CAMPAIGN_STATUSES = (CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED, CampaignStatus.COMPLETED)

_CLAIM_SQL = """
UPDATE campaigns_outboxmessage AS message
   SET status = 'sending', claimed_by = %(claimed_by)s, claimed_at = %(now)s, attempts = message.attempts + 1
 WHERE message.id IN (
        SELECT candidate.id FROM campaigns_outboxmessage AS candidate
          JOIN campaigns_campaign AS campaign ON campaign.id = candidate.campaign_id
         WHERE candidate.status = 'queued' AND candidate.not_before <= %(now)s
           AND campaign.status IN ('active', 'scheduled', 'completed')
           {only}
         ORDER BY candidate.not_before, candidate.id
         LIMIT %(limit)s
           FOR UPDATE OF candidate SKIP LOCKED)
RETURNING message.id
"""


@dataclass
class SendReport:
    sent: int = 0
    suppressed: int = 0
    deferred: int = 0
    failed: int = 0
    requeued: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.suppressed + self.deferred + self.failed + self.requeued


def claim_token() -> str:
    """A token for one claim: which worker process (for people reading the table) and a random part."""
    return f"{socket.gethostname()[:32]}/{os.getpid()}/{secrets.token_hex(6)}"


def outbox_claim(*, message_ids: Sequence[int] | None = None, limit: int = BATCH_SIZE, claimed_by: str) -> list[int]:
    """Move due queued rows to `sending` under `claimed_by` and commit; the ids claimed. Call outside a transaction."""
    only = "AND candidate.id = ANY(%(ids)s)" if message_ids is not None else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(only=only),
            {"now": timezone.now(), "limit": limit, "ids": list(message_ids or []), "claimed_by": claimed_by},
        )
        return sorted(row[0] for row in cursor.fetchall())


class _Lease:
    """The sender's claim on its rows, renewed every HEARTBEAT while it works.

    A sender that stalled past CLAIM_LEASE (a hand-off that hung) may have had rows released by the sweep and
    claimed by another sender: after each renewal it hands over only the rows the renewal found still its own.
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self.renewed = monotonic()
        self.held: set[int] | None = None  # None: every row of the claim (no renewal came late)

    def renew_if_due(self) -> None:
        since = monotonic() - self.renewed
        if since < HEARTBEAT.total_seconds():
            return
        with connection.cursor() as cursor:
            cursor.execute(_RENEW_SQL, {"claimed_by": self.token, "now": timezone.now()})
            held = {row[0] for row in cursor.fetchall()}
        if since >= (CLAIM_LEASE - HEARTBEAT).total_seconds():  # late: the sweep may have released rows
            self.held = held if self.held is None else self.held & held
        self.renewed = monotonic()

    def holds(self, message_id: int) -> bool:
        return self.held is None or message_id in self.held

    def rows(self, ids: Sequence[int], status: str = OutboxStatus.SENDING):  # type: ignore[no-untyped-def]
        """These rows, if this claim still holds them in `status`."""
        return OutboxMessage.all_merchants.filter(pk__in=ids, status=status, claimed_by=self.token)


def _settings_for(merchant: Merchant) -> CampaignSettings:
    try:
        found: CampaignSettings | None = merchant.campaign_settings  # read with the merchant where possible
    except CampaignSettings.DoesNotExist:
        found = None
    if found is None:
        found = CampaignSettings(merchant=merchant)
        # Unsaved defaults are the strings the model declares ("21:00").
        for name in ("quiet_hours_start", "quiet_hours_end"):
            value = getattr(found, name)
            setattr(found, name, value if isinstance(value, time) else time.fromisoformat(str(value)))
    return found


@dataclass
class _Decision:
    status: str = OutboxStatus.SENDING
    reason: str = ""
    not_before: datetime | None = None


def outbox_send(*, message_ids: Sequence[int] | None = None, limit: int = BATCH_SIZE) -> SendReport:
    """Claim up to `limit` due messages (of `message_ids` if given), check, render and hand them over."""
    report = SendReport()
    lease = _Lease(claim_token())
    claimed = outbox_claim(message_ids=message_ids, limit=limit, claimed_by=lease.token)
    if not claimed:
        return report
    # The sender serves every merchant: a claim takes whatever is due. Only what the checks and the message
    # need: a broadcast batch loads hundreds of rows.
    messages = list(
        OutboxMessage.all_merchants.filter(pk__in=claimed)
        .select_related("shopper")
        .only(
            "campaign_id",
            "shopper_id",
            "variant_id",
            "merchant_id",
            "status",
            "shopper__merchant_id",
            "shopper__public_id",
            "shopper__first_name",
            "shopper__last_name",
            "shopper__language",
            "shopper__status",
        )
        .order_by("pk")
    )
    by_campaign: dict[int, list[OutboxMessage]] = defaultdict(list)
    for message in messages:
        by_campaign[message.campaign_id].append(message)
    campaigns = Campaign.all_merchants.select_related("merchant__campaign_settings", "offer").in_bulk(list(by_campaign))
    settings_by_merchant: dict[int, CampaignSettings] = {}
    for campaign_id, campaign_messages in by_campaign.items():
        campaign = campaigns[campaign_id]
        for message in campaign_messages:
            message.campaign = campaign
        if campaign.merchant_id not in settings_by_merchant:
            settings_by_merchant[campaign.merchant_id] = _settings_for(campaign.merchant)
        lease.renew_if_due()
        _send_campaign_batch(campaign, campaign_messages, settings_by_merchant[campaign.merchant_id], lease, report)
    return report


def _send_campaign_batch(
    campaign: Campaign,
    messages: list[OutboxMessage],
    campaign_settings: CampaignSettings,
    lease: _Lease,
    report: SendReport,
) -> None:
    now = timezone.now()
    decisions = _guard(campaign, messages, campaign_settings, now)
    _record_decisions(messages, decisions, lease, report)
    passing = [message for message in messages if decisions[message.pk].status == OutboxStatus.SENDING]
    if not passing:
        return
    outgoing, rendered_by_id, coupons, failed = _render(campaign, passing, now)
    if failed:
        _finish_failed(failed, lease, reason="render_error")
        report.failed += len(failed)
    if not outgoing:
        return
    channel = channel_for(
        campaign.channel, from_email=_from_email(campaign_settings), reply_to=campaign_settings.reply_to
    )
    not_handed = _hand_over(campaign.merchant, channel, outgoing, rendered_by_id, coupons, lease, report)
    if not_handed:
        report.requeued += _requeue(not_handed, lease, now=now)


def _hand_over(
    merchant: Merchant,
    channel: EmailChannel | SmsChannel,
    outgoing: list[Outgoing],
    rendered_by_id: dict[int, rendering.RenderedMessage],
    coupons: dict[int, int],
    lease: _Lease,
    report: SendReport,
) -> list[int]:
    """Mark each group `handing` (committed), hand its messages over one by one, record them as they go.

    Returns the ids not handed over because the channel could not be reached (none when all went).
    """
    handed = 0  # outgoing[:handed] are with the channel (or refused by it)
    unrecorded: list[tuple[Delivery, Outgoing]] = []
    oldest_unrecorded = 0.0

    def record() -> None:
        _record_deliveries(merchant, unrecorded, rendered_by_id, coupons, lease, report)
        unrecorded.clear()
        lease.renew_if_due()

    try:
        with channel.opened(), _commits_without_waiting_for_disk():
            for start in range(0, len(outgoing), channel.handoff_group):
                group = outgoing[start : start + channel.handoff_group]
                marked = _mark_handing(
                    [item.message_id for item in group], lease, durable=not channel.resends_uncertain
                )
                for item in group:
                    lease.renew_if_due()
                    if item.message_id in marked and lease.holds(item.message_id):  # else no longer ours
                        if not unrecorded:
                            oldest_unrecorded = monotonic()
                        unrecorded.append((channel.hand_over(item), item))
                        if (
                            len(unrecorded) >= channel.record_group
                            or monotonic() - oldest_unrecorded >= RECORD_WITHIN.total_seconds()
                        ):
                            record()
                    handed += 1
                record()
    except ChannelUnavailable as error:
        logger.warning("campaign_channel_unavailable", channel=type(channel).__name__, error=str(error))
        record()
        return [item.message_id for item in outgoing[handed:]]
    return []


def _from_email(campaign_settings: CampaignSettings) -> str | None:
    if not campaign_settings.sender_name:
        return None
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((campaign_settings.sender_name, address))


def _guard(
    campaign: Campaign, messages: list[OutboxMessage], campaign_settings: CampaignSettings, now: datetime
) -> dict[int, _Decision]:
    decisions = {message.pk: _Decision() for message in messages}
    shopper_ids = sorted({message.shopper_id for message in messages})
    if campaign.status not in SENDABLE_CAMPAIGN_STATUSES:
        # Paused (or cancelled) between the claim and now: leave paused messages for later.
        status = OutboxStatus.QUEUED if campaign.status == CampaignStatus.PAUSED else OutboxStatus.SUPPRESSED
        return {
            pk: _Decision(status=status, reason="" if status == OutboxStatus.QUEUED else "cancelled")
            for pk in decisions
        }
    offer_live = guards.offer_is_live(campaign=campaign, now=now)
    facts = guards.shopper_facts(
        shopper_ids=shopper_ids,
        channel=campaign.channel,
        purpose=campaign.purpose,
        since=now - timedelta(days=campaign_settings.frequency_cap_days),
        excluding=[message.pk for message in messages],
    )
    erased = guards.erased(
        merchant_id=campaign.merchant_id,
        channel=campaign.channel,
        values={fact.contact for fact in facts.values() if fact.contact},
    )
    recent = {shopper_id: fact.recent_messages for shopper_id, fact in facts.items()}
    nothing = guards.ShopperFacts(is_consenting=False, contact=None, timezone=None, recent_messages=0)
    # Queued before the shopper was drawn into the program holdout: marketing still skips them at send time.
    held_out = (
        holdout.held_out_shopper_ids(merchant_id=campaign.merchant_id, shopper_ids=shopper_ids, at=now)
        if campaign.purpose == ConsentPurpose.MARKETING
        else set()
    )
    for message in messages:
        decision = decisions[message.pk]
        fact = facts.get(message.shopper_id, nothing)
        contact = fact.contact
        if message.shopper.status != ShopperStatus.ACTIVE:
            decision.status, decision.reason = OutboxStatus.SUPPRESSED, "shopper_inactive"
        elif message.shopper_id in held_out:
            decision.status, decision.reason = OutboxStatus.SUPPRESSED, holdout.HELD_OUT_REASON
        elif not fact.is_consenting:
            decision.status, decision.reason = OutboxStatus.SUPPRESSED, "no_consent"
        elif contact is None:
            decision.status, decision.reason = OutboxStatus.SUPPRESSED, "no_contact"
        elif contact in erased:
            decision.status, decision.reason = OutboxStatus.SUPPRESSED, "suppressed"
        elif not offer_live:
            decision.status, decision.reason = OutboxStatus.SUPPRESSED, "expired"
        elif quiet_end := guards.quiet_hours_end(
            now=now,
            zone=fact.timezone or campaign.merchant.timezone,
            start=campaign_settings.quiet_hours_start,
            end=campaign_settings.quiet_hours_end,
        ):
            decision.status, decision.not_before = OutboxStatus.QUEUED, quiet_end
        elif recent.get(message.shopper_id, 0) >= campaign_settings.frequency_cap_messages:
            decision.status, decision.reason = OutboxStatus.SUPPRESSED, "frequency_cap"
        else:
            # Counts toward the cap for the shopper's next message in this same batch.
            recent[message.shopper_id] = recent.get(message.shopper_id, 0) + 1
            message.to = contact
    return decisions


def _record_decisions(
    messages: list[OutboxMessage], decisions: dict[int, _Decision], lease: _Lease, report: SendReport
) -> None:
    suppressed: dict[str, list[int]] = defaultdict(list)
    deferred: list[tuple[int, datetime | None]] = []
    for message in messages:
        decision = decisions[message.pk]
        if decision.status == OutboxStatus.SUPPRESSED:
            suppressed[decision.reason].append(message.pk)
        elif decision.status == OutboxStatus.QUEUED:
            deferred.append((message.pk, decision.not_before))
    for reason, ids in suppressed.items():
        lease.rows(ids).update(status=OutboxStatus.SUPPRESSED, reason=reason)
        report.suppressed += len(ids)
    # Shoppers of one timezone share the end of their quiet hours: one update per moment.
    by_moment: dict[datetime | None, list[int]] = defaultdict(list)
    for pk, not_before in deferred:
        by_moment[not_before].append(pk)
    for not_before, ids in by_moment.items():
        changes: dict[str, object] = {"status": OutboxStatus.QUEUED, "claimed_by": "", "claimed_at": None}
        if not_before is not None:
            changes["not_before"] = not_before
        lease.rows(ids).update(**changes)
        report.deferred += len(ids)


def _render(
    campaign: Campaign, messages: list[OutboxMessage], now: datetime
) -> tuple[list[Outgoing], dict[int, rendering.RenderedMessage], dict[int, int], list[int]]:
    variant_ids = sorted({message.variant_id for message in messages if message.variant_id})
    templates = rendering.variant_templates(merchant=campaign.merchant, variant_ids=variant_ids)
    balances = dict(
        Account.objects.for_merchant(campaign.merchant)
        .filter(shopper_id__in=[message.shopper_id for message in messages])
        .values_list("shopper_id", "points_balance")
    )
    outgoing: list[Outgoing] = []
    rendered_by_id: dict[int, rendering.RenderedMessage] = {}
    coupons: dict[int, int] = {}
    failed: list[int] = []
    for message in messages:
        shopper = message.shopper
        template = rendering.template_pick(
            templates=templates.get(message.variant_id or 0, {}),
            language=shopper.language,
            default_language=campaign.merchant.default_language,
        )
        if template is None:
            failed.append(message.pk)
            continue
        try:
            rendered = _render_one(campaign, message, shopper, template, balances, coupons, now)
        except Exception:
            logger.exception("campaign_render_failed", campaign=campaign.pk, message=message.pk)
            failed.append(message.pk)
            continue
        rendered_by_id[message.pk] = rendered
        outgoing.append(Outgoing(message.pk, message.to, rendered.subject, rendered.body, rendered.headers))
    return outgoing, rendered_by_id, coupons, failed


def _render_one(
    campaign: Campaign,
    message: OutboxMessage,
    shopper: Shopper,
    template: MessageTemplate,
    balances: dict[int, int],
    coupons: dict[int, int],
    now: datetime,
) -> rendering.RenderedMessage:
    coupon_code = ""
    if campaign.offer is not None and campaign.offer.kind == "coupon":
        coupon = coupon_issue(offer=campaign.offer, shopper=shopper, at=now)
        coupons[message.pk] = coupon.pk
        coupon_code = coupon.code
    shopper.merchant = campaign.merchant
    unsubscribe_url = _link(
        "shopper_pages:unsubscribe",
        profile_links.unsubscribe_token(shopper, channel=campaign.channel, purpose=campaign.purpose),
    )
    headers = (
        # RFC 8058, as profiles.links.list_unsubscribe_headers writes them (with the URL signed once here).
        {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        if campaign.channel == ConsentChannel.EMAIL
        else {}
    )
    preference_centre_url = _link(
        "shopper_pages:preferences", profile_links.preference_centre_token(shopper), language=template.language
    )
    return rendering.message_render(
        campaign=campaign,
        template=template,
        context=rendering.message_context(
            campaign=campaign,
            shopper=shopper,
            message_id=message.pk,
            language=template.language,
            points_balance=balances.get(shopper.pk, 0),
            coupon_code=coupon_code,
        ),
        unsubscribe_url=unsubscribe_url,
        preference_centre_url=preference_centre_url,
        headers=headers,
    )


@lru_cache(maxsize=8)
def _path_around_token(url_name: str) -> tuple[str, str]:
    """The URL's path before and after its token: reversed once, not once per message."""
    marker = "TOKEN0MARKER"
    path = reverse(url_name, kwargs={"token": marker})
    before, after = path.split(marker)
    return before, after


def _link(url_name: str, token: str, *, language: str | None = None) -> str:
    """What profiles.links builds for these pages (absolute, on SITE_URL), for a token signed by profiles.links."""
    before, after = _path_around_token(url_name)
    return profile_links.absolute_url(f"{before}{token}{after}", language)


_RENEW_SQL = """
UPDATE campaigns_outboxmessage SET claimed_at = %(now)s
 WHERE claimed_by = %(claimed_by)s AND status IN ('sending', 'handing')
RETURNING id
"""

_HANDING_SQL = """
UPDATE campaigns_outboxmessage SET status = 'handing', claimed_at = %(now)s
 WHERE id = ANY(%(ids)s) AND status = 'sending' AND claimed_by = %(claimed_by)s
RETURNING id
"""

_SENT_SQL = """
UPDATE campaigns_outboxmessage AS message
   SET status = CASE WHEN done.error = '' THEN 'sent' ELSE 'failed' END,
       reason = CASE WHEN done.error = '' THEN '' ELSE 'handoff_error' END,
       sent_at = CASE WHEN done.error = '' THEN done.handed_at END,
       "to" = done.recipient, subject = done.subject, body = done.body,
       provider_id = done.provider_id, coupon_id = done.coupon_id
  FROM unnest(%(ids)s::bigint[], %(handed)s::timestamptz[], %(recipients)s::text[], %(subjects)s::text[],
              %(bodies)s::text[], %(providers)s::text[], %(coupons)s::bigint[], %(errors)s::text[])
       AS done(id, handed_at, recipient, subject, body, provider_id, coupon_id, error)
 WHERE message.id = done.id AND message.status = 'handing' AND message.claimed_by = %(claimed_by)s
RETURNING message.id, message.merchant_id, message.shopper_id, message.campaign_id, message.channel, message.status
"""
_SENT_FIELDS = ("id", "merchant_id", "shopper_id", "campaign_id", "channel", "status")


@contextlib.contextmanager
def _commits_without_waiting_for_disk() -> Iterator[None]:
    """Commits of this connection do not wait for the disk, except those that say so (`_mark_handing` of texts).

    Why: the `sent` mark is one statement per few emails or per text; waiting for the disk on each would cap
    a worker at the disk's flush rate, and losing one (only a crash of the database server can) leaves its
    rows `handing`, which the sweep resolves without a second message reaching anyone.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        # A broken connection is replaced, and a new one starts with the server's default.
        with contextlib.suppress(Exception), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _mark_handing(ids: list[int], lease: _Lease, *, durable: bool) -> set[int]:
    """Mark these rows `handing` and commit: from here on they are never re-queued as if never handed over.

    `durable`: wait for the disk. A channel that never resends an interrupted message needs it (were the mark
    lost with the database server, the row would read `sending` and go again); for one that resends under the
    message's own id (email) `sending` and `handing` end the same way, so the mark need not wait.
    The ids this claim still held (all of them, unless the lease ran out and the sweep released some).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if durable:
            cursor.execute("SET LOCAL synchronous_commit = on")
        cursor.execute(_HANDING_SQL, {"ids": ids, "claimed_by": lease.token, "now": timezone.now()})
        return {row[0] for row in cursor.fetchall()}


def _record_deliveries(
    merchant: Merchant,
    deliveries: list[tuple[Delivery, Outgoing]],
    rendered_by_id: dict[int, rendering.RenderedMessage],
    coupons: dict[int, int],
    lease: _Lease,
    report: SendReport,
) -> None:
    if not deliveries:
        return
    columns: dict[str, list[object]] = {
        key: [] for key in ("ids", "handed", "recipients", "subjects", "bodies", "providers", "coupons", "errors")
    }
    for delivery, item in deliveries:
        rendered = rendered_by_id[delivery.message_id]
        columns["ids"].append(delivery.message_id)
        columns["handed"].append(delivery.handed_at)
        columns["recipients"].append(item.to)
        columns["subjects"].append(rendered.subject)
        columns["bodies"].append(rendered.body)
        columns["providers"].append(delivery.provider_id[:200])
        columns["coupons"].append(coupons.get(delivery.message_id))
        columns["errors"].append(delivery.error)
        if delivery.error:
            report.failed += 1
            logger.warning("campaign_handoff_failed", message=delivery.message_id, error=delivery.error)
        else:
            report.sent += 1
    with connection.cursor() as cursor:
        cursor.execute(_SENT_SQL, {"claimed_by": lease.token, **columns})
        marked = cursor.fetchall()
    _announce_sent(merchant, marked)


def _announce_sent(merchant: Merchant, marked: list[tuple[object, ...]]) -> None:
    """`message_sent` for each message the channel accepted, built from the row the mark returned."""
    for row in marked:
        fields = dict(zip(_SENT_FIELDS, row, strict=True))
        if fields["status"] != OutboxStatus.SENT:
            continue
        message = stored_instance(OutboxMessage, connection.alias, fields)
        message_sent.send(sender=OutboxMessage, merchant=merchant, message=message)


def _finish_failed(ids: list[int], lease: _Lease, *, reason: str) -> None:
    lease.rows(ids).update(status=OutboxStatus.FAILED, reason=reason)


def _requeue(ids: list[int], lease: _Lease, *, now: datetime) -> int:
    """Nothing of these was handed over: queue them again after a backoff, or give up after MAX_ATTEMPTS."""
    requeued = 0
    mine = OutboxMessage.all_merchants.filter(
        pk__in=ids, status__in=(OutboxStatus.SENDING, OutboxStatus.HANDING), claimed_by=lease.token
    )
    for message in mine.only("pk", "attempts", "status"):
        if message.attempts >= MAX_ATTEMPTS:
            lease.rows([message.pk], message.status).update(status=OutboxStatus.FAILED, reason="channel_unavailable")
            continue
        backoff = timedelta(seconds=min(3600, 30 * 2 ** (message.attempts - 1)))
        requeued += lease.rows([message.pk], message.status).update(
            status=OutboxStatus.QUEUED, claimed_by="", claimed_at=None, not_before=now + backoff
        )
    return requeued


@dataclass
class ReleasedClaims:
    requeued: int = 0  # never handed over, or email handed over again under the same Message-ID
    interrupted: int = 0  # texts that may have gone out: never sent again


def outbox_release_stale(*, now: datetime | None = None) -> ReleasedClaims:
    """Claims whose lease ran out (their worker died): re-queue what may be handed over, close the rest.

    Rows still `sending` never reached the channel; rows `handing` may have, and go again only on a channel
    that resends without a second message reaching the shopper (email, by its Message-ID). A row claimed
    MAX_ATTEMPTS times is closed too: it keeps dying with its worker.
    """
    now = now or timezone.now()
    stale = OutboxMessage.all_merchants.filter(
        status__in=(OutboxStatus.SENDING, OutboxStatus.HANDING), claimed_at__lt=now - CLAIM_LEASE
    )
    resending_channels = [channel for channel in ConsentChannel.values if channel_resends_uncertain(channel)]
    may_go_again = Q(status=OutboxStatus.SENDING) | Q(status=OutboxStatus.HANDING, channel__in=resending_channels)
    released = ReleasedClaims()
    released.requeued = stale.filter(may_go_again, attempts__lt=MAX_ATTEMPTS).update(
        status=OutboxStatus.QUEUED, claimed_by="", claimed_at=None
    )
    released.interrupted = stale.update(status=OutboxStatus.FAILED, reason="interrupted")
    return released


def outbox_due_ids(*, limit: int = 50_000) -> list[int]:
    """Queued rows of any merchant whose time has come, of campaigns that may send (for the periodic sweep)."""
    return list(
        OutboxMessage.all_merchants.filter(
            status=OutboxStatus.QUEUED,
            not_before__lte=timezone.now(),
            campaign__status__in=SENDABLE_CAMPAIGN_STATUSES,
        )
        .order_by("not_before", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def message_test_send(*, campaign: Campaign, variant: Variant, language: str, to: str, actor: User | None) -> Delivery:
    """Send the preview of a variant to one address or number (staff checking a draft); no outbox row, no consent.

    Raises ApplicationError when the address does not read or the channel cannot be reached.
    """
    if campaign.channel == ConsentChannel.SMS:
        to = normalize_phone(to, field_name="to")
    else:
        try:
            validate_email(to)
        except ValidationError as error:
            raise ApplicationError("Enter a valid email address.", code="invalid", field="to") from error
    rendered = rendering.message_preview(campaign=campaign, variant=variant, language=language)
    channel = channel_for(campaign.channel, reply_to=_settings_for(campaign.merchant).reply_to)
    try:
        (delivery,) = channel.deliver([Outgoing(0, to, f"[TEST] {rendered.subject}".strip(), rendered.body)])
    except ChannelUnavailable as error:
        raise ApplicationError("The channel could not be reached; try again.", code="channel_unavailable") from error
    if delivery.error:
        raise ApplicationError(f"The test message was refused: {delivery.error}", code="send_failed", field="to")
    AuditEvent.objects.create(
        merchant=campaign.merchant,
        actor=actor if actor is not None and actor.pk else None,
        action="campaign.test_send",
        subject=str(campaign.public_id),
        detail={"variant": variant.key, "language": language, "channel": campaign.channel},
    )
    return delivery
