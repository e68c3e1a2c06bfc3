"""Message history follows a merged shopper profile, and comes back when the merge is undone.

Messages move so the shopper page, frequency caps and the sending of queued messages see one person.
Campaign assignments stay where they are: a campaign's result is counted over its assignments (who was
in which group, and what they bought then), and must not change because two profiles were merged after.
So a moved message still names its assignment, on the merged profile: that is how an undo finds the
messages to bring back, with nothing else stored.
"""

from django.db import transaction
from django.db.models import Exists, OuterRef

from campaigns.models import OutboxMessage
from merchants.models import Merchant
from profiles.models import Shopper


@transaction.atomic
def messages_follow_merge(*, merchant: Merchant, survivor: Shopper, merged: Shopper) -> int:
    """Give the merged profile's messages to the survivor; returns how many moved.

    A message the survivor also has (the same campaign and occasion) stays behind: one person gets one.
    """
    survivor_has_it = OutboxMessage.objects.filter(
        merchant=merchant, shopper=survivor, campaign=OuterRef("campaign"), dedupe_key=OuterRef("dedupe_key")
    )
    return (
        OutboxMessage.objects.for_merchant(merchant)
        .filter(shopper=merged)
        .exclude(Exists(survivor_has_it))
        .update(shopper=survivor)
    )


@transaction.atomic
def messages_follow_undone_merge(*, merchant: Merchant, survivor: Shopper, restored: Shopper) -> int:
    """Give the restored profile back the messages its merge moved (those of its own assignments)."""
    return (
        OutboxMessage.objects.for_merchant(merchant)
        .filter(shopper=survivor, assignment__shopper=restored)
        .update(shopper=restored)
    )
