"""Points follow a merged shopper profile into the profile it was merged into.

Right after a merge (`profiles.signals.shoppers_merged`, see loyalty.receivers) the merged account
gives its balance and pending points up, the survivor's account receives them (two entries each way,
reason "merge"), and the earnings of the moved purchases follow, so a later clearing or refund lands
on the survivor.

Undoing a merge (`merge_undone`) makes the profile active again with its purchases; the points it had
given (and the earnings of its purchases) move back, even if that leaves the survivor's balance below
zero, as a refund after spending would.

The nightly reconciliation does the same for any account left behind (a merge while the program was
paused, or made before these signals): both moves are safe to run again and move nothing twice.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Max, Q, QuerySet, Sum
from django.utils import timezone

from loyalty.models import Account, Bucket, LedgerEntry, Program, PurchaseEarning, Reason
from loyalty.services import ledger
from loyalty.services.accounts import account_upsert
from merchants.models import Merchant
from profiles.models import MergeEvent, Shopper, ShopperStatus
from profiles.services.purchases import effective_shopper


def _give_to_survivor(*, merchant: Merchant, program: Program, account: Account, now: datetime) -> bool:
    """Move a merged profile's points to its survivor's account. Call holding the account's lock."""
    survivor = effective_shopper(account.shopper)
    if survivor is None:
        return False  # merged into a profile since erased: the points stay where they are
    target = account_upsert(program=program, shopper_id=survivor.pk, joined_via="merge", moment=now)
    if target is None:
        return False
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
    return True


def _stranded_accounts(merchant: Merchant) -> QuerySet[Account]:
    """Accounts of merged profiles that still hold points, locked."""
    return (
        Account.objects.filter(merchant=merchant, shopper__status=ShopperStatus.MERGED)
        .filter(~Q(points_balance=0) | ~Q(points_pending=0))
        .select_related("shopper")
        .select_for_update(of=("self",))
        .order_by("pk")
    )


@transaction.atomic
def accounts_follow_merges(*, merchant: Merchant) -> int:
    """Move the points of merged profiles to their survivors. Safe to run twice. Returns accounts moved."""
    program = Program.objects.filter(merchant=merchant).first()
    if program is None:
        return 0
    now = timezone.now()
    return sum(
        _give_to_survivor(merchant=merchant, program=program, account=account, now=now)
        for account in _stranded_accounts(merchant)
    )


@transaction.atomic
def account_follow_merge(*, merchant: Merchant, merged: Shopper) -> bool:
    """Right after `merged` was merged: its points move to the survivor. False when there was nothing to move."""
    program = Program.objects.filter(merchant=merchant).first()
    account = _stranded_accounts(merchant).filter(shopper=merged).first()
    if program is None or account is None:
        return False
    return _give_to_survivor(merchant=merchant, program=program, account=account, now=timezone.now())


def _points_given_away(merchant: Merchant, *, shopper_id: int | None = None) -> dict[int, dict[str, int]]:
    """Per account of an active profile and bucket: the points its merges gave away and did not get back."""
    entries = LedgerEntry.objects.filter(
        merchant=merchant, reason=Reason.MERGE, account__shopper__status=ShopperStatus.ACTIVE
    )
    if shopper_id is not None:
        entries = entries.filter(account__shopper_id=shopper_id)
    given: dict[int, dict[str, int]] = {}
    for account_id, bucket, net in entries.values_list("account_id", "bucket").annotate(net=Sum("points")):
        if net < 0:
            given.setdefault(account_id, {})[bucket] = -net
    return given


def _give_back(*, merchant: Merchant, program: Program, account: Account, given: dict[str, int], now: datetime) -> bool:
    """Return to a restored profile the points its undone merge gave its survivor. Call holding the lock."""
    undone = (
        MergeEvent.objects.filter(merchant=merchant, merged_id=account.shopper_id, undone_at__isnull=False)
        .order_by("-undone_at")
        .select_related("survivor")
        .first()
    )
    if undone is None:
        return False
    survivor = Account.objects.select_for_update().filter(program=program, shopper_id=undone.survivor_id).first()
    if survivor is None:
        return False
    note = f"Merge of profile {account.shopper.public_id} into {undone.survivor.public_id} undone"
    entries = []
    for bucket, points in given.items():
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
    return True


def _follow_undone(merchant: Merchant, *, shopper_id: int | None = None) -> int:
    program = Program.objects.filter(merchant=merchant).first()
    if program is None:
        return 0
    given = _points_given_away(merchant, shopper_id=shopper_id)
    if not given:
        return 0
    restored = (
        Account.objects.filter(merchant=merchant, pk__in=given)
        .select_related("shopper")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    now = timezone.now()
    return sum(
        _give_back(merchant=merchant, program=program, account=account, given=given[account.pk], now=now)
        for account in restored
    )


@transaction.atomic
def accounts_follow_undone_merges(*, merchant: Merchant) -> int:
    """Give restored profiles back the points their merge moved away. Safe to run twice. Returns accounts."""
    return _follow_undone(merchant)


@transaction.atomic
def account_follow_undone_merge(*, merchant: Merchant, restored: Shopper) -> bool:
    """Right after a merge of `restored` was undone: the points it gave its survivor come back."""
    return _follow_undone(merchant, shopper_id=restored.pk) > 0
