"""Partner programs: a purchase at one merchant earns bonus points at another, with the shopper's consent.

The shopper is recognised at the partner by the same card (its keyed fingerprint),
and only if they consented to sharing with the mall network at the merchant where
they bought. The partner awards the points; the merchant owes their value.
"""

from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ApplicationError, NotFoundError, validated
from loyalty.models import Bucket, PartnerAgreement, PartnerAward, PartnerStatus, Program, Reason, Rounding
from loyalty.services import ledger
from loyalty.services.accounts import account_upsert, program_for, rules_changed
from loyalty.services.rates import base_points, expiry_for, points_value_minor, rounded
from merchants.models import Merchant, Network, User
from merchants.services import audit_event_record
from profiles.models import Card, CardStatus, ConsentPurpose, Purchase, Shopper
from profiles.selectors import consents_current


def shares_with_network(*, merchant: Merchant, shopper_id: int) -> bool:
    """Whether the shopper's latest network-sharing decision at this merchant is a grant."""
    shopper = Shopper(pk=shopper_id, merchant=merchant)
    decisions = [
        consent
        for consent in consents_current(merchant=merchant, shopper=shopper)
        if consent.purpose == ConsentPurpose.NETWORK_SHARING
    ]
    if not decisions:
        return False
    return max(decisions, key=lambda consent: (consent.occurred_at, consent.pk)).is_granted


def _partner_shopper_id(agreement: PartnerAgreement, purchase: Purchase) -> int | None:
    if purchase.card_id is None:
        return None
    fingerprint = (
        Card.objects.filter(merchant=purchase.merchant_id, pk=purchase.card_id)
        .values_list("fingerprint", flat=True)
        .first()
    )
    if fingerprint is None:
        return None
    return (
        Card.objects.filter(merchant_id=agreement.partner_id, fingerprint=fingerprint, status=CardStatus.ACTIVE)
        .values_list("shopper_id", flat=True)
        .first()
    )


def partner_bonus_apply(*, agreements: Sequence[PartnerAgreement], purchase: Purchase) -> list[PartnerAward]:
    """Award partner bonuses for a linked-card purchase. Call inside the purchase's transaction."""
    if purchase.shopper_id is None or not shares_with_network(
        merchant=purchase.merchant, shopper_id=purchase.shopper_id
    ):
        return []
    awards: list[PartnerAward] = []
    # Spendable at once, even for a purchase not yet cleared: the partner's points are a bonus the
    # buying merchant owes for. A later refund takes back its share (`partner_awards_settle`).
    for agreement in agreements:
        partner_program = program_for(agreement.partner)
        partner_shopper_id = _partner_shopper_id(agreement, purchase)
        if partner_program is None or partner_shopper_id is None:
            continue
        points = _bonus_points(agreement, purchase.amount_minor)
        if points <= 0:
            continue
        account = account_upsert(
            program=partner_program, shopper_id=partner_shopper_id, joined_via="partner", moment=purchase.occurred_at
        )
        if account is None:
            continue  # the partner paused its program a moment ago
        account_id = account[0]
        now = timezone.now()
        ledger.entries_post(
            entries=[
                ledger.Entry(
                    merchant_id=agreement.partner_id,
                    account_id=account_id,
                    bucket=Bucket.AVAILABLE,
                    points=points,
                    reason=Reason.PARTNER,
                    note=f"Purchase at {purchase.merchant.name}"[:300],
                    expires_at=expiry_for(partner_program, purchase.occurred_at),
                    created_at=now,
                )
            ]
        )
        awards.append(
            PartnerAward.objects.create(
                merchant_id=purchase.merchant_id,
                agreement=agreement,
                purchase=purchase,
                partner_account_id=account_id,
                points=points,
                owed_minor=points_value_minor(partner_program, points),
                created_at=now,
            )
        )
    return awards


def _bonus_points(agreement: PartnerAgreement, amount_minor: int) -> int:
    rate = Program(points_per_unit=agreement.bonus_points_per_unit, unit_minor=agreement.unit_minor)
    return rounded(base_points(rate, amount_minor), Rounding.DOWN)


@transaction.atomic
def partner_awards_settle(*, merchant: Merchant) -> int:
    """Take back at the partner the bonus of what was refunded at this merchant since. Safe to run twice."""
    awards = (
        PartnerAward.objects.filter(merchant=merchant, points_reversed__lt=F("points"), purchase__isnull=False)
        .filter(purchase__refunded_minor__gt=F("seen_refunded_minor"))
        .select_related("purchase", "agreement__partner", "partner_account__program")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    now = timezone.now()
    settled = 0
    for award in awards:
        purchase, partner_program = award.purchase, award.partner_account.program
        if purchase is None:  # filtered out above; for the type checker
            continue
        keep = _bonus_points(award.agreement, purchase.amount_minor - purchase.refunded_minor)
        take = award.points - award.points_reversed - keep
        if take > 0:
            ledger.entries_post(
                entries=[
                    ledger.Entry(
                        merchant_id=award.agreement.partner_id,
                        account_id=award.partner_account_id,
                        bucket=Bucket.AVAILABLE,
                        points=-take,
                        reason=Reason.REFUND,
                        note=f"Refund at {merchant.name}"[:300],
                        created_at=now,
                    )
                ]
            )
            award.points_reversed += take
            award.owed_minor = points_value_minor(partner_program, award.points - award.points_reversed)
        award.seen_refunded_minor = purchase.refunded_minor
        award.save(update_fields=["points_reversed", "owed_minor", "seen_refunded_minor"])
        settled += 1
    return settled


@transaction.atomic
def partner_agreement_propose(
    *, merchant: Merchant, partner: Merchant, bonus_points_per_unit: int, unit_minor: int, actor: User | None
) -> PartnerAgreement:
    """Offer a partner bonus points for purchases here. Both merchants must belong to the same mall network."""
    if partner.pk == merchant.pk:
        raise ApplicationError("Choose another merchant.", code="invalid", field="partner")
    # Two filter() calls: two joins, so one network must hold both merchants.
    if not Network.objects.filter(merchants=merchant).filter(merchants=partner).exists():
        raise ApplicationError(
            "Partners must be in the same mall network as you.", code="not_in_network", field="partner"
        )
    if PartnerAgreement.objects.filter(merchant=merchant, partner=partner).exists():
        raise ApplicationError("You already have an agreement with this merchant.", code="duplicate", field="partner")
    agreement = PartnerAgreement(
        merchant=merchant, partner=partner, bonus_points_per_unit=bonus_points_per_unit, unit_minor=unit_minor
    )
    validated(agreement)
    agreement.save()
    audit_event_record(merchant=merchant, actor=actor, action="loyalty.partner_proposed", subject=partner.name)
    return agreement


@transaction.atomic
def partner_agreement_accept(*, partner: Merchant, agreement_id: int, actor: User | None) -> PartnerAgreement:
    """The partner accepts: from now on the proposer's purchases earn bonus points here."""
    agreement = (
        PartnerAgreement.objects.select_for_update()
        .filter(pk=agreement_id, partner=partner)
        .select_related("merchant")
        .first()
    )
    if agreement is None:
        raise NotFoundError("No such agreement.")
    if agreement.status != PartnerStatus.PROPOSED:
        raise ApplicationError("This agreement is not waiting for you.", code="not_proposed")
    if program_for(partner) is None:
        raise ApplicationError("Set up your loyalty program first.", code="no_program")
    agreement.status = PartnerStatus.ACTIVE
    agreement.save(update_fields=["status"])
    rules_changed(merchant_id=agreement.merchant_id)
    audit_event_record(
        merchant=partner, actor=actor, action="loyalty.partner_accepted", subject=agreement.merchant.name
    )
    return agreement
