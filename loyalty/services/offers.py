"""Card-linked offers: applied on ingest, once per shopper, never past their budget."""

from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from loyalty.models import Bucket, Offer, OfferAward, OfferBudgetSlot, Program, Reason
from loyalty.services import ledger
from loyalty.services.rates import expiry_for
from profiles.models import Purchase, PurchaseState

_AWARD_SQL = """
    INSERT INTO loyalty_offeraward
        (merchant_id, offer_id, shopper_id, purchase_id, points, credit_minor, cost_minor, created_at)
    VALUES (%(merchant)s, %(offer)s, %(shopper)s, %(purchase)s, %(points)s, %(credit)s, %(cost)s, now())
    ON CONFLICT (offer_id, shopper_id) DO NOTHING
    RETURNING id
"""


_TAKE_FREE_SLOT_SQL = """
    UPDATE loyalty_offerbudgetslot SET awards_left = awards_left - 1
     WHERE id = (SELECT id FROM loyalty_offerbudgetslot
                  WHERE offer_id = %(offer)s AND awards_left > 0
                  ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING id
"""
_TAKE_SLOT_SQL = """
    UPDATE loyalty_offerbudgetslot SET awards_left = awards_left - 1
     WHERE id = %(slot)s AND awards_left > 0
    RETURNING id
"""


def _budget_take(offer: Offer) -> bool:
    """Take one award from the offer's budget; False once it is spent.

    First any slot nobody else holds; if every slot with awards left is held by a purchase in
    flight, wait for them one by one (a plain conditional UPDATE re-checks the row after the wait).
    """
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_FREE_SLOT_SQL, {"offer": offer.pk})
        if cursor.fetchone() is not None:
            return True
        held = list(
            OfferBudgetSlot.objects.filter(offer=offer, awards_left__gt=0).order_by("pk").values_list("pk", flat=True)
        )
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


def offers_apply(*, program: Program, offers: Sequence[Offer], purchase: Purchase, account_id: int) -> list[OfferAward]:
    """Award every offer this linked-card purchase qualifies for. Call inside the purchase's transaction.

    The award row (unique per offer and shopper) is written first; then one award is taken from the
    budget's slots (see `OfferBudgetSlot`), so two purchases racing for the last of a budget cannot
    both get it. If the budget is gone the award row is removed again.
    """
    awarded: list[OfferAward] = []
    bucket = Bucket.PENDING if purchase.state == PurchaseState.AUTHORISED else Bucket.AVAILABLE
    for offer in offers:
        if not offer_qualifies(offer, purchase):
            continue
        cost = offer.award_cost_minor
        with connection.cursor() as cursor:
            cursor.execute(
                _AWARD_SQL,
                {
                    "merchant": purchase.merchant_id,
                    "offer": offer.pk,
                    "shopper": purchase.shopper_id,
                    "purchase": purchase.pk,
                    "points": offer.reward_points,
                    "credit": offer.reward_credit_minor,
                    "cost": cost,
                },
            )
            row = cursor.fetchone()
        if row is None:
            continue  # this shopper already had it
        if not _budget_take(offer):
            OfferAward.objects.filter(pk=row[0]).delete()
            continue
        if offer.reward_points:
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
                        expires_at=expiry_for(program, purchase.occurred_at) if bucket == Bucket.AVAILABLE else None,
                        created_at=timezone.now(),
                    )
                ]
            )
        awarded.append(OfferAward(pk=row[0], offer=offer, purchase=purchase, points=offer.reward_points))
    return awarded
