"""Broadcast runs: a due campaign's run is claimed once, its audience cut into chunks, each chunk written once.

The beat task `start_due_broadcasts` calls `broadcast_runs_start` every minute (and launch calls it at
once for a campaign due now). The claim is the insert of the CampaignRun row (unique per campaign and
run key): two beat processes, or the task run twice, start one run. The run fixes the chunks (ranges
of shopper ids of the reachable audience); a chunk task writes its assignments and outbox rows with
`entries_create` and marks its index done in the same transaction, then sends. Chunks lost with a
worker are sent again by `broadcast_runs_resume`; writing one twice changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import BROADCAST_KINDS, Campaign, CampaignKind, CampaignRun, CampaignStatus
from campaigns.segments.selectors import audience_queryset
from campaigns.services import guards
from campaigns.services.assignment import Entry, campaign_variants, entries_create
from campaigns.services.launch import campaign_complete

CHUNK_SIZE = 1000
# A run whose chunks are not all written after this long lost a task: its missing chunks are sent again.
RESUME_AFTER = timedelta(minutes=5)

_CLAIM_SQL = """
INSERT INTO campaigns_campaignrun
    (merchant_id, campaign_id, dedupe_key, started_at, audience_count, chunk_bounds, chunks_done)
VALUES (%(merchant)s, %(campaign)s, %(key)s, %(now)s, 0, '[]'::jsonb, '{}')
ON CONFLICT (campaign_id, dedupe_key) DO NOTHING
RETURNING id
"""

_CHUNK_DONE_SQL = """
UPDATE campaigns_campaignrun
   SET chunks_done = array_append(chunks_done, %(index)s),
       finished_at = CASE WHEN cardinality(chunks_done) + 1 >= jsonb_array_length(chunk_bounds) THEN %(now)s END
 WHERE id = %(run)s AND NOT (%(index)s = ANY(chunks_done))
RETURNING finished_at
"""


def run_key(campaign: Campaign, moment: datetime) -> str:
    if campaign.kind == CampaignKind.RECURRING:
        return f"run:{moment:%Y-%m-%dT%H:%M}"
    return "broadcast"


def broadcast_audience(campaign: Campaign):  # type: ignore[no-untyped-def]
    shoppers = audience_queryset(merchant=campaign.merchant, segment=campaign.segment, snapshot=campaign.snapshot)
    return guards.reachable(shoppers, channel=campaign.channel, purpose=campaign.purpose)


@dataclass(frozen=True)
class StartedRun:
    run_id: int
    chunks: int


@transaction.atomic
def broadcast_run_start(*, campaign: Campaign, now: datetime | None = None) -> StartedRun | None:
    """Claim the campaign's due run and fix its chunks; None if it is not due or another process claimed it."""
    now = now or timezone.now()
    campaign = (
        Campaign.objects.select_for_update()
        .select_related("merchant")
        .get(merchant=campaign.merchant_id, pk=campaign.pk)
    )
    if (
        campaign.kind not in BROADCAST_KINDS
        or campaign.status != CampaignStatus.SCHEDULED
        or campaign.next_run_at is None
        or campaign.next_run_at > now
    ):
        return None
    due_at = campaign.next_run_at
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {"merchant": campaign.merchant_id, "campaign": campaign.pk, "key": run_key(campaign, due_at), "now": now},
        )
        claimed = cursor.fetchone()
    if campaign.kind == CampaignKind.RECURRING and campaign.repeat_every_days:
        following = due_at + timedelta(days=campaign.repeat_every_days)
        while following <= now:  # after downtime: the next run is in the future, missed ones are not caught up
            following += timedelta(days=campaign.repeat_every_days)
        if campaign.ends_at and following >= campaign.ends_at:
            Campaign.objects.filter(merchant=campaign.merchant_id, pk=campaign.pk).update(
                status=CampaignStatus.ACTIVE, next_run_at=None
            )
        else:
            Campaign.objects.filter(merchant=campaign.merchant_id, pk=campaign.pk).update(next_run_at=following)
    else:
        Campaign.objects.filter(merchant=campaign.merchant_id, pk=campaign.pk).update(
            status=CampaignStatus.ACTIVE, next_run_at=None
        )
    if claimed is None:
        return None
    ids = list(broadcast_audience(campaign).order_by("pk").values_list("pk", flat=True))
    bounds = [[ids[start], ids[min(start + CHUNK_SIZE, len(ids)) - 1]] for start in range(0, len(ids), CHUNK_SIZE)]
    CampaignRun.objects.filter(merchant=campaign.merchant_id, pk=claimed[0]).update(
        audience_count=len(ids), chunk_bounds=bounds, finished_at=None if bounds else now
    )
    if not bounds:
        campaign.refresh_from_db(fields=["status", "next_run_at"])
        _run_finished(campaign)
    return StartedRun(run_id=claimed[0], chunks=len(bounds))


def broadcast_runs_start(*, now: datetime | None = None) -> list[StartedRun]:
    """Start the due broadcast runs of every merchant."""
    now = now or timezone.now()
    due = Campaign.all_merchants.filter(
        kind__in=BROADCAST_KINDS, status=CampaignStatus.SCHEDULED, next_run_at__lte=now
    ).order_by("next_run_at", "pk")
    started = []
    for campaign in due:
        run = broadcast_run_start(campaign=campaign, now=now)
        if run is not None:
            started.append(run)
    return started


def _run_finished(campaign: Campaign) -> None:
    if campaign.kind != CampaignKind.RECURRING or campaign.next_run_at is None:
        campaign_complete(campaign=campaign)


@transaction.atomic
def broadcast_chunk_write(*, run_id: int, index: int) -> list[int]:
    """Write one chunk's assignments and outbox rows; the outbox ids made (none if already written or paused)."""
    run = CampaignRun.all_merchants.select_related("campaign__merchant").filter(pk=run_id).first()
    if run is None or index in run.chunks_done or index >= len(run.chunk_bounds):
        return []
    campaign = run.campaign
    if campaign.status not in (CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED):
        return []  # paused: the resume sweep writes it later; cancelled: never
    first, last = run.chunk_bounds[index]
    shopper_ids = broadcast_audience(campaign).filter(pk__gte=first, pk__lte=last).values_list("pk", flat=True)
    made = entries_create(
        campaign=campaign,
        entries=[Entry(shopper_id, run.dedupe_key) for shopper_id in shopper_ids],
        variants=campaign_variants(campaign),
    )
    with connection.cursor() as cursor:
        cursor.execute(_CHUNK_DONE_SQL, {"run": run.pk, "index": index, "now": timezone.now()})
        row = cursor.fetchone()
    if row is not None and row[0] is not None:
        campaign.refresh_from_db(fields=["status", "next_run_at"])
        _run_finished(campaign)
    return made


def broadcast_runs_resume(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """(run id, chunk index) of every chunk a run (of any merchant) started long enough ago still lacks, to send
    again."""
    now = now or timezone.now()
    missing: list[tuple[int, int]] = []
    runs = CampaignRun.all_merchants.filter(
        finished_at=None,
        started_at__lt=now - RESUME_AFTER,
        campaign__status__in=(CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED),
    ).order_by("pk")
    for run in runs:
        done = set(run.chunks_done)
        missing.extend((run.pk, index) for index in range(len(run.chunk_bounds)) if index not in done)
    return missing
