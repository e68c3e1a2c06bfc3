"""Card-linked offers: applied on ingest, once per shopper, never past their budget.

The common case costs one statement per qualifying offer: the award row (unique per offer and
shopper), one award taken from a budget slot nobody else holds (see `OfferBudgetSlot`), the ledger
entry, the balance, and the purchase's earning row (so the offer's points clear and are refunded
with the purchase's own). Offers the shopper already had are known from the facts query and skipped
without a round trip.
"""

from collections.abc import Collection, Sequence

from django.db import connection
from django.db.models import F
from django.utils import timezone

from loyalty.models import Bucket, Offer, OfferAward, OfferBudgetSlot, Program, PurchaseEarning, Reason
from loyalty.services import ledger
from loyalty.services.rates import expiry_for
from profiles.models import Purchase, PurchaseState

_APPLY_SQL = """
    WITH award AS (
        INSERT INTO loyalty_offeraward
            (merchant_id, offer_id, shopper_id, purchase_id, points, credit_minor, cost_minor, created_at)
        VALUES (%(merchant)s, %(offer)s, %(shopper)s, %(purchase)s, %(points)s, %(credit)s, %(cost)s, %(now)s)
        ON CONFLICT (offer_id, shopper_id) DO NOTHING
        RETURNING id
    ),
    slot AS (
        UPDATE loyalty_offerbudgetslot SET awards_left = awards_left - 1
         WHERE EXISTS (SELECT 1 FROM award)
           AND id = (SELECT id FROM loyalty_offerbudgetslot
                      WHERE offer_id = %(offer)s AND awards_left > 0
                      ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id
    ),
    entry AS (
        INSERT INTO loyalty_ledgerentry
            (merchant_id, account_id, bucket, points, reason, qualifying_spend_minor, purchase_id, offer_id, note,
             expires_at, created_at)
        SELECT %(merchant)s, %(account)s, %(bucket)s, %(points)s, 'offer', 0, %(purchase)s, %(offer)s, %(note)s,
               %(expires_at)s, %(now)s
         WHERE %(points)s > 0 AND EXISTS (SELECT 1 FROM slot)
    ),
    -- The offer's points follow the purchase like its own: pending until clearing, taken back by a refund.
    earning AS (
        UPDATE loyalty_purchaseearning
           SET points_earned = points_earned + %(points)s, points_held = points_held + %(points)s
         WHERE purchase_id = %(purchase)s AND %(points)s > 0 AND EXISTS (SELECT 1 FROM slot)
    ),
    moved AS (
        UPDATE loyalty_account
           SET points_balance = points_balance + CASE WHEN %(bucket)s = 'available' THEN %(points)s ELSE 0 END,
               points_pending = points_pending + CASE WHEN %(bucket)s = 'pending' THEN %(points)s ELSE 0 END
         WHERE id = %(account)s AND %(points)s > 0 AND EXISTS (SELECT 1 FROM slot)
    )
    SELECT (SELECT id FROM award), (SELECT id FROM slot)
"""
_TAKE_SLOT_SQL = """
    UPDATE loyalty_offerbudgetslot SET awards_left = awards_left - 1
     WHERE id = %(slot)s AND awards_left > 0
    RETURNING id
"""


def _budget_take_waiting(offer: Offer) -> bool:
    """Every slot with awards left is held by a purchase in flight: wait for them one by one.

    A plain conditional UPDATE re-checks the row once the other transaction is done, so the last
    award goes to exactly one purchase. False once the budget is spent.
    """
    held = list(
        OfferBudgetSlot.objects.filter(offer=offer, awards_left__gt=0).order_by("pk").values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        for slot in held:
            cursor.execute(_TAKE_SLOT_SQL, {"slot": slot})
            if cursor.fetchone() is not None:
                return True
    return False


def offer_qualifies(offer: Offer, purchase: Purchase) -> bool:
    return (
        offer.starts_at <= purchase.occurred_at < offer.ends_at
        and (offer.store_id is None or offer.store_id == purchase.store_id)
        and purchase.amount_minor >= offer.minimum_spend_minor
    )


def offers_apply(
    *,
    program: Program,
    offers: Sequence[Offer],
    purchase: Purchase,
    account_id: int,
    already_awarded: Collection[int] = (),
    bucket: str | None = None,
) -> list[OfferAward]:
    """Award every offer this linked-card purchase qualifies for. Call inside the purchase's transaction,
    holding the shopper's account row (the earn path does).

    The points go to `bucket`, by default the one the purchase's state gives (pending while it is
    authorised); a purchase that earned before passes the bucket its points are in, so settlement
    moves them together."""
    awarded: list[OfferAward] = []
    if bucket is None:
        bucket = Bucket.PENDING if purchase.state == PurchaseState.AUTHORISED else Bucket.AVAILABLE
    now = timezone.now()
    for offer in offers:
        if offer.pk in already_awarded or not offer_qualifies(offer, purchase):
            continue
        expires_at = expiry_for(program, purchase.occurred_at) if bucket == Bucket.AVAILABLE else None
        with connection.cursor() as cursor:
            cursor.execute(
                _APPLY_SQL,
                {
                    "merchant": purchase.merchant_id,
                    "offer": offer.pk,
                    "shopper": purchase.shopper_id,
                    "purchase": purchase.pk,
                    "account": account_id,
                    "points": offer.reward_points,
                    "credit": offer.reward_credit_minor,
                    "cost": offer.award_cost_minor,
                    "bucket": str(bucket),
                    "note": offer.name[:300],
                    "expires_at": expires_at,
                    "now": now,
                },
            )
            award_id, slot_id = cursor.fetchone()
        if award_id is None:
            continue  # this shopper already had it
        if slot_id is None:
            if not _budget_take_waiting(offer):
                OfferAward.objects.filter(merchant=purchase.merchant_id, pk=award_id).delete()  # the budget is spent
                continue
            PurchaseEarning.objects.filter(purchase_id=purchase.pk).update(
                points_earned=F("points_earned") + offer.reward_points,
                points_held=F("points_held") + offer.reward_points,
            )
            ledger.entries_post(
                entries=[
                    ledger.Entry(
                        merchant_id=purchase.merchant_id,
                        account_id=account_id,
                        bucket=bucket,
                        points=offer.reward_points,
                        reason=Reason.OFFER,
                        purchase_id=purchase.pk,
                        offer_id=offer.pk,
                        note=offer.name[:300],
                        expires_at=expires_at,
                        created_at=now,
                    )
                ]
            )
        awarded.append(OfferAward(pk=award_id, offer=offer, purchase=purchase, points=offer.reward_points))
    return awarded
