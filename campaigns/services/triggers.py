"""Triggered campaigns: real-time on purchase, lifecycle scans, and visits at a store.

Each finds who entered which campaign, with a dedupe key naming the occasion (the purchase, the lapse,
the birthday's year, the visit), and hands them to `entries_create`: one assignment and at most one
message per (campaign, shopper, key), however often the scan or task runs.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils import timezone

from campaigns.models import Assignment, Campaign, CampaignKind, CampaignStatus, Trigger, TriggerCursor
from campaigns.segments.selectors import audience_queryset
from campaigns.services import guards
from campaigns.services.assignment import Entry, entries_create
from loyalty.selectors import points_expiring
from profiles.models import Channel, Purchase, ShopperRollup, Visit

VISIT_CURSOR = "visits"
VISIT_SCAN_LIMIT = 5000
# A visit reported later than this is no longer a moment to message the shopper at the store.
VISIT_MAX_AGE = timedelta(hours=1)
DEFAULT_COOLDOWN_HOURS = 24
PURCHASE_MAX_AGE = timedelta(days=1)
DEFAULT_EXPIRY_NOTICE_DAYS = 14
SCAN_CHUNK = 1000


def _live(campaign: Campaign, now: datetime) -> bool:
    return campaign.status == CampaignStatus.ACTIVE and (campaign.ends_at is None or campaign.ends_at > now)


def _eligible(campaign: Campaign, shopper_ids: list[int]) -> set[int]:
    """Of these shoppers, those in the campaign's audience whom it may reach (consent and a confirmed contact)."""
    if not shopper_ids:
        return set()
    audience = audience_queryset(merchant=campaign.merchant, segment=campaign.segment, snapshot=campaign.snapshot)
    reachable = guards.reachable(
        audience.filter(pk__in=shopper_ids), channel=campaign.channel, purpose=campaign.purpose
    )
    return set(reachable.values_list("pk", flat=True))


# Real time


def _first_in_channel(purchase: Purchase, channel: str, other: str) -> bool:
    """The shopper's first purchase in `channel`, after buying only in `other` before.

    The rollup's counts rule most purchases out with one read; the purchases themselves decide the rest
    (a second purchase may have been counted before this task ran).
    """
    if purchase.channel != channel:
        return False
    rollup = ShopperRollup.objects.filter(merchant=purchase.merchant_id, shopper=purchase.shopper_id).first()
    if rollup is None:
        return False
    count_here, count_other = (
        (rollup.in_store_count, rollup.online_count)
        if channel == Channel.IN_STORE
        else (rollup.online_count, rollup.in_store_count)
    )
    if count_other < 1 or count_here < 1:
        return False
    earlier = Purchase.objects.filter(merchant_id=purchase.merchant_id, shopper=purchase.shopper_id).filter(
        Q(occurred_at__lt=purchase.occurred_at) | Q(occurred_at=purchase.occurred_at, pk__lt=purchase.pk)
    )
    return not earlier.filter(channel=channel).exists() and earlier.filter(channel=other).exists()


def _purchase_fires(campaign: Campaign, purchase: Purchase) -> tuple[bool, str]:
    """(fires, dedupe key)."""
    key = f"purchase:{purchase.pk}"
    if campaign.trigger in (Trigger.THANK_YOU, Trigger.FEEDBACK_REQUEST):
        return True, key
    if campaign.trigger == Trigger.SPEND_OVER:
        return purchase.amount_minor >= int(campaign.trigger_params.get("amount_minor", 0)), key
    if campaign.trigger == Trigger.FIRST_IN_STORE:
        return _first_in_channel(purchase, Channel.IN_STORE, Channel.ONLINE), "first_in_store"
    if campaign.trigger == Trigger.FIRST_ONLINE:
        return _first_in_channel(purchase, Channel.ONLINE, Channel.IN_STORE), "first_online"
    return False, key


def purchase_triggers_evaluate(*, purchase_id: int, now: datetime | None = None) -> list[int]:
    """The merchant's live real-time campaigns this purchase starts; the outbox ids queued."""
    now = now or timezone.now()
    # A task: the purchase, of whichever merchant, is fetched again by id.
    purchase = Purchase.all_merchants.filter(pk=purchase_id).first()
    # An imported or late-arriving old purchase is history, not a moment to write to the shopper.
    if purchase is None or purchase.shopper_id is None or purchase.occurred_at < now - PURCHASE_MAX_AGE:
        return []
    campaigns = [
        campaign
        for campaign in Campaign.objects.filter(
            merchant_id=purchase.merchant_id, kind=CampaignKind.REALTIME, status=CampaignStatus.ACTIVE
        )
        .select_related("merchant", "segment", "snapshot")
        .prefetch_related("variants")
        if _live(campaign, now)
    ]
    if not campaigns:
        return []
    made: list[int] = []
    with transaction.atomic():
        for campaign in campaigns:
            fires, key = _purchase_fires(campaign, purchase)
            if fires and _eligible(campaign, [purchase.shopper_id]):
                made += entries_create(
                    campaign=campaign,
                    entries=[Entry(purchase.shopper_id, key)],
                    now=now,
                    variants=sorted(campaign.variants.all(), key=lambda variant: variant.key),
                )
    return made


# Lifecycle


def _local_today(campaign: Campaign, now: datetime) -> date:
    return now.astimezone(ZoneInfo(campaign.merchant.timezone)).date()


def _lifecycle_entries(campaign: Campaign, now: datetime) -> list[Entry]:
    audience = audience_queryset(merchant=campaign.merchant, segment=campaign.segment, snapshot=campaign.snapshot)
    params = campaign.trigger_params
    if campaign.trigger == Trigger.WIN_BACK:
        cutoff = now - timedelta(days=int(params["days_lapsed"]))
        lapsed = audience.filter(rollup__last_purchase_at__lte=cutoff).values_list("pk", "rollup__last_purchase_at")
        # One message per lapse: a shopper who comes back and lapses again is a new occasion.
        return [Entry(pk, f"win_back:{last:%Y-%m-%d}") for pk, last in lapsed]
    if campaign.trigger == Trigger.BIRTHDAY:
        target = _local_today(campaign, now) + timedelta(days=int(params.get("days_before", 0)))
        days = [target.day]
        if target.month == 2 and target.day == 28 and not _is_leap(target.year):
            days.append(29)  # born on 29 February: celebrated on the 28th in other years
        born = audience.filter(birthday__month=target.month, birthday__day__in=days).values_list("pk", flat=True)
        return [Entry(pk, f"birthday:{target.year}") for pk in born]
    if campaign.trigger == Trigger.JOIN_ANNIVERSARY:
        today = _local_today(campaign, now)
        zone = ZoneInfo(campaign.merchant.timezone)
        joined = (
            audience.annotate(
                joined_month=ExtractMonth("created_at", tzinfo=zone), joined_day=ExtractDay("created_at", tzinfo=zone)
            )
            .filter(joined_month=today.month, joined_day=today.day, created_at__lt=now - timedelta(days=300))
            .values_list("pk", flat=True)
        )
        return [Entry(pk, f"anniversary:{today.year}") for pk in joined]
    if campaign.trigger == Trigger.POINTS_EXPIRING:
        within = int(params.get("days_before", DEFAULT_EXPIRY_NOTICE_DAYS))
        expiring = points_expiring(merchant=campaign.merchant, within_days=within)
        in_audience = set(audience.filter(pk__in=[item.shopper_id for item in expiring]).values_list("pk", flat=True))
        return [
            Entry(item.shopper_id, f"points_expiring:{(item.expires_at or now):%Y-%m-%d}")
            for item in expiring
            if item.shopper_id in in_audience and item.points > 0
        ]
    return []


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def lifecycle_scan(*, now: datetime | None = None) -> list[int]:
    """Every live lifecycle campaign's new entries, of every merchant; the outbox ids queued. Safe to run as often
    as wanted."""
    now = now or timezone.now()
    made: list[int] = []
    campaigns = Campaign.all_merchants.filter(kind=CampaignKind.LIFECYCLE, status=CampaignStatus.ACTIVE).select_related(
        "merchant", "segment", "snapshot"
    )
    for campaign in campaigns.order_by("pk"):
        if not _live(campaign, now):
            continue
        entries = _lifecycle_entries(campaign, now)
        for start in range(0, len(entries), SCAN_CHUNK):
            chunk = entries[start : start + SCAN_CHUNK]
            reachable = _eligible(campaign, [entry.shopper_id for entry in chunk])
            made += entries_create(
                campaign=campaign, entries=[entry for entry in chunk if entry.shopper_id in reachable], now=now
            )
    return made


# Visits


@dataclass(frozen=True)
class VisitScan:
    visits: int
    message_ids: list[int]


@transaction.atomic
def visits_scan(*, now: datetime | None = None) -> VisitScan:
    """New visits of every merchant (by id, after the cursor) start the live location campaigns of their merchant,
    with a cooldown.

    The cursor row is locked for the scan and moves in the same transaction as the messages it queues,
    so each visit is read once; a second scan running meanwhile waits.
    """
    now = now or timezone.now()
    if not TriggerCursor.objects.filter(name=VISIT_CURSOR).exists():
        # The first scan starts after the visits too old to message anyone about (read once, not again).
        old = Visit.all_merchants.filter(occurred_at__lt=now - VISIT_MAX_AGE).aggregate(last=Max("pk"))["last"]
        TriggerCursor.objects.get_or_create(name=VISIT_CURSOR, defaults={"last_id": old or 0})
    cursor = TriggerCursor.objects.select_for_update().get(name=VISIT_CURSOR)
    visits = list(
        Visit.all_merchants.filter(pk__gt=cursor.last_id)
        .order_by("pk")
        .values("pk", "merchant_id", "shopper_id", "store_id", "occurred_at", "created_at")[:VISIT_SCAN_LIMIT]
    )
    if not visits:
        return VisitScan(visits=0, message_ids=[])
    cursor.last_id = visits[-1]["pk"]
    cursor.save(update_fields=["last_id", "updated_at"])
    campaigns_by_merchant: dict[int, list[Campaign]] = defaultdict(list)
    for campaign in Campaign.objects.filter(
        kind=CampaignKind.LOCATION,
        status=CampaignStatus.ACTIVE,
        merchant_id__in={visit["merchant_id"] for visit in visits},
    ).select_related("merchant", "segment", "snapshot"):
        if _live(campaign, now) and campaign.launched_at is not None:
            campaigns_by_merchant[campaign.merchant_id].append(campaign)
    made: list[int] = []
    for campaign in (campaign for campaigns in campaigns_by_merchant.values() for campaign in campaigns):
        launched_at = campaign.launched_at or now
        candidates = [
            visit
            for visit in visits
            if visit["merchant_id"] == campaign.merchant_id
            and visit["shopper_id"] is not None
            and (campaign.store_id is None or visit["store_id"] == campaign.store_id)
            and visit["occurred_at"] >= launched_at
            and visit["occurred_at"] >= now - VISIT_MAX_AGE
        ]
        if not candidates:
            continue
        cooldown = timedelta(hours=int(campaign.trigger_params.get("cooldown_hours", DEFAULT_COOLDOWN_HOURS)))
        shopper_ids = sorted({visit["shopper_id"] for visit in candidates})
        last_entry = dict(
            Assignment.objects.filter(campaign=campaign, shopper_id__in=shopper_ids, assigned_at__gte=now - cooldown)
            .order_by("shopper_id", "-assigned_at")
            .distinct("shopper_id")
            .values_list("shopper_id", "assigned_at")
        )
        reachable = _eligible(campaign, shopper_ids)
        entries = []
        for visit in candidates:
            shopper_id = visit["shopper_id"]
            if shopper_id not in reachable or shopper_id in last_entry:
                continue
            last_entry[shopper_id] = now  # the cooldown holds within this scan too
            entries.append(Entry(shopper_id, f"visit:{visit['pk']}"))
        made += entries_create(campaign=campaign, entries=entries, now=now)
    return VisitScan(visits=len(visits), message_ids=made)
