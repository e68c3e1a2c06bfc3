"""Card-linked offers: applied on ingest, once per shopper, never past their budget."""

from collections.abc import Sequence

from django.db import connection
from django.db.models import F
from django.utils import timezone

from loyalty.models import Bucket, Offer, OfferAward, Program, Reason
from loyalty.services import ledger
from loyalty.services.rates import expiry_for, points_value_minor
from profiles.models import Purchase, PurchaseState

_AWARD_SQL = """
    INSERT INTO loyalty_offeraward
        (merchant_id, offer_id, shopper_id, purchase_id, points, credit_minor, cost_minor, created_at)
    VALUES (%(merchant)s, %(offer)s, %(shopper)s, %(purchase)s, %(points)s, %(credit)s, %(cost)s, now())
    ON CONFLICT (offer_id, shopper_id) DO NOTHING
    RETURNING id
"""


def offer_qualifies(offer: Offer, purchase: Purchase) -> bool:
    return (
        offer.starts_at <= purchase.occurred_at < offer.ends_at
        and (offer.store_id is None or offer.store_id == purchase.store_id)
        and purchase.amount_minor >= offer.minimum_spend_minor
    )


def offers_apply(*, program: Program, offers: Sequence[Offer], purchase: Purchase, account_id: int) -> list[OfferAward]:
    """Award every offer this linked-card purchase qualifies for. Call inside the purchase's transaction.

    The award row (unique per offer and shopper) is written first; then the budget is taken with a
    conditional UPDATE, which waits for any other purchase taking it and re-checks, so two purchases
    racing for the last of a budget cannot both get it. If the budget is gone the award is removed.
    """
    awarded: list[OfferAward] = []
    bucket = Bucket.PENDING if purchase.state == PurchaseState.AUTHORISED else Bucket.AVAILABLE
    for offer in offers:
        if not offer_qualifies(offer, purchase):
            continue
        cost = offer.reward_credit_minor + points_value_minor(program, offer.reward_points)
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
        taken = Offer.objects.filter(pk=offer.pk, is_active=True, spent_minor__lte=F("budget_minor") - cost).update(
            spent_minor=F("spent_minor") + cost
        )
        if not taken:
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
