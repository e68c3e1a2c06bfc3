"""Points follow a merged shopper profile into the profile it was merged into.

`profiles` merges shoppers without telling loyalty (there is one signal, for purchases). The
nightly reconciliation finds accounts whose shopper was merged and still hold points, and moves
them: the merged account gives its balance and pending points up, the survivor's account
receives them (two entries each way, reason "merge"), and the earnings of the moved purchases
follow, so a later clearing or refund lands on the survivor.

Undoing a merge makes the profile active again with its purchases; the same nightly run then
moves back the points it had given (and the earnings of its purchases), even if that leaves
the survivor's balance below zero, as a refund after spending would.
"""

from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from loyalty.models import Account, Bucket, LedgerEntry, Program, PurchaseEarning, Reason
from loyalty.services import ledger
from loyalty.services.accounts import account_upsert
from merchants.models import Merchant
from profiles.models import MergeEvent, ShopperStatus
from profiles.services.purchases import effective_shopper


@transaction.atomic
def accounts_follow_merges(*, merchant: Merchant) -> int:
    """Move the points of merged profiles to their survivors. Safe to run twice. Returns accounts moved."""
    program = Program.objects.filter(merchant=merchant).first()
    if program is None:
        return 0
    stranded = list(
        Account.objects.filter(merchant=merchant, shopper__status=ShopperStatus.MERGED)
        .filter(~Q(points_balance=0) | ~Q(points_pending=0))
        .select_related("shopper")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    now = timezone.now()
    moved = 0
    for account in stranded:
        survivor = effective_shopper(account.shopper)
        if survivor is None:
            continue  # merged into a profile since erased: the points stay where they are
        target = account_upsert(program=program, shopper_id=survivor.pk, joined_via="merge", moment=now)
        if target is None:
            continue
        # Moved points keep the latest expiry date they had: a merge never makes points lapse sooner.
        latest_expiry = LedgerEntry.objects.filter(account=account, points__gt=0).aggregate(latest=Max("expires_at"))[
            "latest"
        ]
        note = f"Profile {account.shopper.public_id} merged into {survivor.public_id}"
        entries = []
        for bucket, points in ((Bucket.AVAILABLE, account.points_balance), (Bucket.PENDING, account.points_pending)):
            if not points:
                continue
            entries += [
                ledger.Entry(merchant_id=merchant.pk, account_id=account.pk, bucket=bucket, points=-points,
                             reason=Reason.MERGE, note=note, created_at=now),
                ledger.Entry(merchant_id=merchant.pk, account_id=target[0], bucket=bucket, points=points,
                             reason=Reason.MERGE, note=note, expires_at=latest_expiry, created_at=now),
            ]  # fmt: skip
        ledger.entries_post(entries=entries)
        PurchaseEarning.objects.filter(account=account, is_open=True).update(account_id=target[0])
        moved += 1
    return moved


@transaction.atomic
def accounts_follow_undone_merges(*, merchant: Merchant) -> int:
    """Give restored profiles back the points their merge moved away. Safe to run twice. Returns accounts."""
    program = Program.objects.filter(merchant=merchant).first()
    if program is None:
        return 0
    given: dict[int, dict[str, int]] = {}
    for account_id, bucket, net in (
        LedgerEntry.objects.filter(
            merchant=merchant, reason=Reason.MERGE, account__shopper__status=ShopperStatus.ACTIVE
        )
        .values_list("account_id", "bucket")
        .annotate(net=Sum("points"))
    ):
        if net < 0:
            given.setdefault(account_id, {})[bucket] = -net
    if not given:
        return 0
    restored = (
        Account.objects.filter(merchant=merchant, pk__in=given)
        .select_related("shopper")
        .select_for_update(of=("self",))
    )
    now = timezone.now()
    moved = 0
    for account in restored.order_by("pk"):
        undone = (
            MergeEvent.objects.filter(merchant=merchant, merged_id=account.shopper_id, undone_at__isnull=False)
            .order_by("-undone_at")
            .select_related("survivor")
            .first()
        )
        if undone is None:
            continue
        survivor = Account.objects.select_for_update().filter(program=program, shopper_id=undone.survivor_id).first()
        if survivor is None:
            continue
        note = f"Merge of profile {account.shopper.public_id} into {undone.survivor.public_id} undone"
        entries = []
        for bucket, points in given[account.pk].items():
            entries += [
                ledger.Entry(merchant_id=merchant.pk, account_id=survivor.pk, bucket=bucket, points=-points,
                             reason=Reason.MERGE, note=note, created_at=now),
                ledger.Entry(merchant_id=merchant.pk, account_id=account.pk, bucket=bucket, points=points,
                             reason=Reason.MERGE, note=note, created_at=now),
            ]  # fmt: skip
        ledger.entries_post(entries=entries)
        PurchaseEarning.objects.filter(account=survivor, is_open=True, purchase__shopper_id=account.shopper_id).update(
            account_id=account.pk
        )
        moved += 1
    return moved
