"""Shoppers entering a campaign: the holdout and A/B draw, recorded with the outbox row in one statement.

An entry is (shopper, dedupe key). Each becomes one Assignment row (holdout or treatment, and the
variant) and, for the treatment group, one queued OutboxMessage, both inserted by a single SQL
statement with ON CONFLICT DO NOTHING: a task that runs twice, or two that overlap, write each
entry once, and only the statement that inserted the assignment queues its message.

The draw is deterministic: a hash of (campaign, shopper, dedupe key) mapped to [0, 1). It is as
good as random for splitting an audience, is recorded in the Assignment at once, and a repeated
run draws the same group (so no retry can move a shopper from holdout to treatment).
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import AssignmentGroup, Campaign, Variant
from campaigns.services import holdout
from profiles.models import ConsentPurpose

_ENTER_SQL = """
WITH entry AS (
    SELECT * FROM unnest(%(shoppers)s::bigint[], %(keys)s::text[], %(groups)s::text[], %(variants)s::bigint[])
        AS input(shopper_id, dedupe_key, assignment_group, variant_id)
), assigned AS (
    INSERT INTO campaigns_assignment
        (merchant_id, campaign_id, shopper_id, dedupe_key, "group", variant_id, assigned_at)
    SELECT %(merchant)s, %(campaign)s, shopper_id, dedupe_key, assignment_group, variant_id, %(now)s FROM entry
    ON CONFLICT (campaign_id, shopper_id, dedupe_key) DO NOTHING
    RETURNING id, shopper_id, dedupe_key, "group", variant_id
)
INSERT INTO campaigns_outboxmessage
    (merchant_id, campaign_id, shopper_id, dedupe_key, assignment_id, variant_id, coupon_id, channel, status,
     reason, not_before, attempts, "to", subject, body, provider_id, created_at)
SELECT %(merchant)s, %(campaign)s, shopper_id, dedupe_key, id, variant_id, NULL, %(channel)s, 'queued',
       '', %(now)s, 0, '', '', '', '', %(now)s
  FROM assigned WHERE "group" = 'treatment'
ON CONFLICT (campaign_id, shopper_id, dedupe_key) DO NOTHING
RETURNING id
"""


@dataclass(frozen=True)
class Entry:
    shopper_id: int
    dedupe_key: str


def _uniform(campaign: Campaign, shopper_id: int, dedupe_key: str, salt: str) -> float:
    digest = hashlib.sha256(f"{campaign.public_id}:{shopper_id}:{dedupe_key}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def group_draw(*, campaign: Campaign, variants: Sequence[Variant], entry: Entry) -> tuple[str, int | None]:
    """(group, variant id) for one entry: held out with the campaign's holdout percent, else a weighted variant."""
    if _uniform(campaign, entry.shopper_id, entry.dedupe_key, "holdout") * 100 < campaign.holdout_percent:
        return AssignmentGroup.HOLDOUT, None
    if not variants:
        return AssignmentGroup.TREATMENT, None
    total = sum(variant.weight for variant in variants)
    point = _uniform(campaign, entry.shopper_id, entry.dedupe_key, "variant") * total
    for variant in variants:
        point -= variant.weight
        if point < 0:
            return AssignmentGroup.TREATMENT, variant.pk
    return AssignmentGroup.TREATMENT, variants[-1].pk


def campaign_variants(campaign: Campaign) -> list[Variant]:
    return list(Variant.objects.filter(campaign=campaign).order_by("key"))


@transaction.atomic(savepoint=False)
def entries_create(
    *,
    campaign: Campaign,
    entries: Sequence[Entry],
    now: datetime | None = None,
    variants: Sequence[Variant] | None = None,
) -> list[int]:
    """Assign each new entry and queue the treatment group's messages; the ids of the outbox rows made.

    Entries already assigned are left as they are (and queue nothing); for a marketing campaign, shoppers in the
    program holdout do not enter (see campaigns.services.holdout).
    """
    now = now or timezone.now()
    if campaign.purpose == ConsentPurpose.MARKETING:
        # Shoppers in the program holdout get no marketing at all, so they enter no marketing campaign.
        held_out = holdout.held_out_shopper_ids(
            merchant_id=campaign.merchant_id, shopper_ids={entry.shopper_id for entry in entries}, at=now
        )
        entries = [entry for entry in entries if entry.shopper_id not in held_out]
    if not entries:
        return []
    variants = campaign_variants(campaign) if variants is None else variants
    groups: list[str] = []
    variant_ids: list[int | None] = []
    for entry in entries:
        group, variant_id = group_draw(campaign=campaign, variants=variants, entry=entry)
        groups.append(group)
        variant_ids.append(variant_id)
    with connection.cursor() as cursor:
        cursor.execute(
            _ENTER_SQL,
            {
                "merchant": campaign.merchant_id,
                "campaign": campaign.pk,
                "channel": campaign.channel,
                "now": now,
                "shoppers": [entry.shopper_id for entry in entries],
                "keys": [entry.dedupe_key for entry in entries],
                "groups": groups,
                "variants": variant_ids,
            },
        )
        return [row[0] for row in cursor.fetchall()]
