"""Points follow a merged profile into its survivor: at the merge, and nightly for any left behind."""

from loyalty.models import LedgerEntry, Reason
from loyalty.tasks import reconcile_ledgers, settle_earnings
from profiles.services import identity, purchases
from tests.loyalty.conftest import account_of
from tests.profiles.factories import CardFactory, ShopperFactory


def test_merged_profiles_points_move_to_the_survivor(merchant, program, buy, shopper, owner):
    other_card = CardFactory(shopper=ShopperFactory(merchant=merchant))
    duplicate = other_card.shopper
    buy(5000)  # 50 on the survivor
    moved_purchase = buy(3000, on_card=other_card)  # 30 on the duplicate

    identity.shopper_merge(merchant=merchant, survivor=shopper, merged=duplicate, actor=owner, reason="Same person")
    reconcile_ledgers()
    reconcile_ledgers()  # a second run moves nothing more

    assert account_of(shopper).points_balance == 80
    assert account_of(duplicate).points_balance == 0
    assert LedgerEntry.all_merchants.filter(reason=Reason.MERGE).count() == 2

    # a refund of the moved purchase now takes the points back from the survivor
    purchases.purchase_refund(merchant=merchant, purchase_id=moved_purchase.pk)
    settle_earnings()
    assert account_of(shopper).points_balance == 50


def test_undoing_a_merge_gives_the_restored_profile_its_points_back(merchant, program, buy, shopper, owner):
    other_card = CardFactory(shopper=ShopperFactory(merchant=merchant))
    duplicate = other_card.shopper
    buy(5000)  # 50 on the survivor
    moved_purchase = buy(3000, on_card=other_card)  # 30 on the duplicate
    event = identity.shopper_merge(
        merchant=merchant, survivor=shopper, merged=duplicate, actor=owner, reason="Same person?"
    )
    reconcile_ledgers()
    assert account_of(shopper).points_balance == 80

    identity.merge_undo(merchant=merchant, merge_event=event, actor=owner)
    reconcile_ledgers()
    reconcile_ledgers()  # a second run moves nothing more

    assert account_of(shopper).points_balance == 50
    assert account_of(duplicate).points_balance == 30
    assert LedgerEntry.all_merchants.filter(reason=Reason.MERGE, note__endswith="undone").count() == 2
    # the restored profile's purchase settles on its own account again
    purchases.purchase_refund(merchant=merchant, purchase_id=moved_purchase.pk)
    settle_earnings()
    assert account_of(duplicate).points_balance == 0
    assert account_of(shopper).points_balance == 50


def test_points_move_at_the_merge_and_back_at_its_undo_without_waiting_for_the_night(
    merchant, program, buy, shopper, owner
):
    other_card = CardFactory(shopper=ShopperFactory(merchant=merchant))
    duplicate = other_card.shopper
    buy(5000)  # 50 on the survivor
    moved_purchase = buy(3000, on_card=other_card)  # 30 on the duplicate

    # when merged: at once
    event = identity.shopper_merge(merchant=merchant, survivor=shopper, merged=duplicate, actor=owner, reason="Same")

    assert (account_of(shopper).points_balance, account_of(duplicate).points_balance) == (80, 0)
    reconcile_ledgers()  # the nightly run finds nothing left to move
    assert LedgerEntry.all_merchants.filter(reason=Reason.MERGE).count() == 2

    # when undone: at once
    identity.merge_undo(merchant=merchant, merge_event=event, actor=owner)

    assert (account_of(shopper).points_balance, account_of(duplicate).points_balance) == (50, 30)
    reconcile_ledgers()
    assert LedgerEntry.all_merchants.filter(reason=Reason.MERGE).count() == 4
    purchases.purchase_refund(merchant=merchant, purchase_id=moved_purchase.pk)
    settle_earnings()
    assert (account_of(shopper).points_balance, account_of(duplicate).points_balance) == (50, 0)
