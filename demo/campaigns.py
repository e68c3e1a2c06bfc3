"""Demo campaigns with results: a finished A/B broadcast with a coupon, and a feedback request.

`manage.py seed_demo` calls `demo_campaigns_seed` after the demo history is loaded. Shoppers
are drawn into each campaign (10 % held out, recorded at assignment time, as the engine does), the
messaged ones get messages and coupons, and some of them buy again within the attribution window —
purchases written like the demo history (no signal), after which the rollups are rebuilt. The
report then shows a real lift against the holdout, from real rows. Running it again changes nothing.
"""

import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from campaigns.models import (
    Assignment,
    AssignmentGroup,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Coupon,
    FeedbackResponse,
    MessageTemplate,
    Offer,
    OfferKind,
    OutboxMessage,
    OutboxStatus,
    Trigger,
    Variant,
)
from campaigns.offers.services import CODE_ALPHABET, CODE_LENGTH
from merchants.models import Merchant, Store
from profiles.models import Channel, ConsentPurpose, Purchase, PurchaseSource, Shopper, ShopperStatus
from profiles.services.rollups import rollups_rebuild

# The A/B broadcast (with its purchases) for Northwind; the feedback request for both.
BROADCAST_MERCHANTS = ("northwind",)
DEMO_MERCHANTS = ("northwind", "blue-bean")
BROADCAST_NAME = "Autumn comeback: 15 % off"
FEEDBACK_NAME = "How was your visit?"
MAX_AUDIENCE = 4000
COMMENTS = (
    "Friendly staff, found what I needed.",
    "The queue at the till was long.",
    "Great selection this season!",
    "Could not find my size online.",
    "Quick and easy, thank you.",
    "The store was a bit messy on Saturday.",
)


def _say(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message)  # type: ignore[attr-defined]


def demo_campaigns_seed(*, stdout: object = None) -> None:
    for slug in DEMO_MERCHANTS:
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None or Campaign.objects.filter(merchant=merchant, name=FEEDBACK_NAME).exists():
            continue
        with transaction.atomic():
            rng = random.Random(f"{slug}-campaigns")
            shoppers = list(
                Shopper.objects.filter(merchant=merchant, status=ShopperStatus.ACTIVE)
                .order_by("pk")
                .values_list("pk", flat=True)[:MAX_AUDIENCE]
            )
            stores = list(Store.objects.filter(merchant=merchant, is_active=True).order_by("pk"))
            if not shoppers or not stores:
                continue
            names = []
            if slug in BROADCAST_MERCHANTS:
                names.append(_broadcast(merchant, shoppers, rng).name)
                rollups_rebuild(merchant=merchant)
            names.append(_feedback_campaign(merchant, rng).name)
            if slug in BROADCAST_MERCHANTS:
                _live_offer(merchant, shoppers, rng)
        _say(stdout, f"  {merchant.name}: demo campaigns {', '.join(f'“{name}”' for name in names)}")


LIVE_OFFER_NAME = "Winter weekend: 10 off"


def _live_offer(merchant: Merchant, shoppers: list[int], rng: random.Random) -> None:
    """An offer running now, its codes already with a few shoppers, so the offers API and the
    preference centre have something to show (and a code to redeem) right after `make demo`."""
    now = timezone.now()
    offer = Offer.objects.create(
        merchant=merchant,
        name=LIVE_OFFER_NAME,
        kind=OfferKind.COUPON,
        description="10 off any purchase of 50 or more, this month.",
        amount_off_minor=1000,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=30),
        max_redemptions=500,
    )
    holders = shoppers[:40]
    Coupon.objects.bulk_create(
        Coupon(merchant=merchant, offer=offer, shopper_id=shopper_id, code=code, issued_at=now)
        for shopper_id, code in zip(holders, _codes(rng, len(holders)), strict=True)
    )


def _typical_amount(merchant: Merchant) -> int:
    amounts = list(
        Purchase.objects.filter(merchant=merchant).order_by("-occurred_at").values_list("amount_minor", flat=True)[:500]
    )
    amounts.sort()
    return amounts[len(amounts) // 2] if amounts else 5000


def _codes(rng: random.Random, count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add("".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))
    return sorted(codes, key=lambda _code: rng.random())


def _variant(campaign: Campaign, key: str, weight: int, subject: str, body: str, language: str) -> Variant:
    variant = Variant.objects.create(merchant=campaign.merchant, campaign=campaign, key=key, weight=weight)
    languages = {"en", language}
    for code in languages:
        MessageTemplate.objects.create(
            merchant=campaign.merchant, variant=variant, language=code, subject=subject, body=body
        )
    return variant


def _broadcast(merchant: Merchant, shoppers: list[int], rng: random.Random) -> Campaign:
    now = timezone.now()
    launched = now - timedelta(days=30)
    offer = Offer.objects.create(
        merchant=merchant,
        name="15 % off your next visit",
        kind=OfferKind.COUPON,
        description="15 % off everything, one purchase, in store or online.",
        percent_off=15,
        valid_from=launched,
        valid_until=launched + timedelta(days=14),
        max_redemptions=len(shoppers),
    )
    campaign = Campaign.objects.create(
        merchant=merchant,
        name=BROADCAST_NAME,
        kind=CampaignKind.BROADCAST,
        status=CampaignStatus.COMPLETED,
        offer=offer,
        holdout_percent=10,
        attribution_days=14,
        cost_per_message_minor=3 if merchant.currency != "KRW" else 30,
        scheduled_at=launched,
        launched_at=launched,
        completed_at=launched + timedelta(days=14),
    )
    variants = {
        "A": _variant(
            campaign,
            "A",
            50,
            "15 % off, just for you",
            "Hello {{ first_name }}, come back this fortnight: 15 % off with your code {{ coupon_code }}.",
            merchant.default_language,
        ),
        "B": _variant(
            campaign,
            "B",
            50,
            "We miss you, {{ first_name }}",
            "It has been a while! Here is 15 % off your next visit with the code {{ coupon_code }}.",
            merchant.default_language,
        ),
    }
    first_names = dict(Shopper.objects.filter(merchant=merchant, pk__in=shoppers).values_list("pk", "first_name"))
    subjects = {"A": lambda _name: "15 % off, just for you", "B": lambda name: f"We miss you, {name}".rstrip(", ")}
    assignments = []
    for shopper_id in shoppers:
        held_out = rng.random() < 0.10
        key = "A" if rng.random() < 0.5 else "B"
        assignments.append(
            Assignment(
                merchant=merchant,
                campaign=campaign,
                shopper_id=shopper_id,
                dedupe_key="broadcast",
                group=AssignmentGroup.HOLDOUT if held_out else AssignmentGroup.TREATMENT,
                variant=None if held_out else variants[key],
                assigned_at=launched + timedelta(seconds=rng.randint(0, 600)),
            )
        )
    Assignment.objects.bulk_create(assignments)
    treated = [a for a in assignments if a.group == AssignmentGroup.TREATMENT]
    coupons = Coupon.objects.bulk_create(
        Coupon(merchant=merchant, offer=offer, shopper_id=a.shopper_id, code=code, issued_at=a.assigned_at)
        for a, code in zip(treated, _codes(rng, len(treated)), strict=True)
    )
    messages = []
    for assignment, coupon in zip(treated, coupons, strict=True):
        suppressed = rng.random() < 0.04
        messages.append(
            OutboxMessage(
                merchant=merchant,
                campaign=campaign,
                shopper_id=assignment.shopper_id,
                dedupe_key=assignment.dedupe_key,
                assignment=assignment,
                variant=assignment.variant,
                coupon=coupon,
                channel="email",
                status=OutboxStatus.SUPPRESSED if suppressed else OutboxStatus.SENT,
                reason="no_consent" if suppressed else "",
                not_before=assignment.assigned_at,
                attempts=0 if suppressed else 1,
                sent_at=None if suppressed else assignment.assigned_at + timedelta(seconds=5),
                subject=subjects[assignment.variant.key](first_names.get(assignment.shopper_id, ""))
                if assignment.variant
                else "",
                created_at=assignment.assigned_at,
            )
        )
    OutboxMessage.objects.bulk_create(messages)
    # The campaign's effect: some messaged shoppers come back within the window (B a little more often),
    # at the hours the shops keep: each return copies the weekday and local time of a real in-store purchase.
    patterns = list(
        Purchase.objects.filter(merchant=merchant, channel=Channel.IN_STORE, store__isnull=False)
        .select_related("store")
        .order_by("-occurred_at")[:2000]
    )
    typical = _typical_amount(merchant)
    purchases, redeemed = [], []
    for assignment, coupon in zip(treated, coupons, strict=True):
        chance = 0.12 if assignment.variant and assignment.variant.key == "B" else 0.09
        if rng.random() >= chance:
            continue
        when, store = _return_moment(assignment.assigned_at, rng.choice(patterns), now) if patterns else (None, None)
        if when is None:
            continue
        purchase = Purchase(
            merchant=merchant,
            store=store,
            shopper_id=assignment.shopper_id,
            channel=Channel.IN_STORE,
            amount_minor=max(100, int(typical * rng.lognormvariate(0, 0.4))),
            currency=merchant.currency,
            occurred_at=when,
            source=PurchaseSource.IMPORT,
            external_id=f"demo-campaign-{campaign.pk}-{assignment.shopper_id}",
        )
        purchases.append(purchase)
        if rng.random() < 0.75:
            redeemed.append((coupon, purchase))
    Purchase.objects.bulk_create(purchases)
    for coupon, purchase in redeemed:
        coupon.redeemed_at = purchase.occurred_at
        coupon.purchase = purchase
    Coupon.objects.bulk_update([coupon for coupon, _purchase in redeemed], ["redeemed_at", "purchase"])
    return campaign


def _return_moment(assigned_at: datetime, pattern: Purchase, now: datetime) -> tuple[datetime | None, Store | None]:
    """The first day after `assigned_at` on the pattern's weekday, at its local time in its store's timezone."""
    zone = ZoneInfo(pattern.store.timezone)  # type: ignore[union-attr]
    local = pattern.occurred_at.astimezone(zone)
    start = assigned_at.astimezone(zone).date()
    days = (local.weekday() - start.weekday()) % 7 or 7
    when = datetime.combine(start + timedelta(days=days), local.time(), tzinfo=zone)
    if not (assigned_at < when <= min(now, assigned_at + timedelta(days=13))):
        return None, None
    return when, pattern.store


def _feedback_campaign(merchant: Merchant, rng: random.Random) -> Campaign:
    now = timezone.now()
    since = now - timedelta(days=30)
    campaign = Campaign.objects.create(
        merchant=merchant,
        name=FEEDBACK_NAME,
        kind=CampaignKind.REALTIME,
        trigger=Trigger.FEEDBACK_REQUEST,
        purpose=ConsentPurpose.FEEDBACK,
        status=CampaignStatus.ACTIVE,
        holdout_percent=10,
        attribution_days=7,
        launched_at=since,
    )
    variant = _variant(
        campaign,
        "A",
        100,
        "How was your visit?",
        "Thank you for shopping with us, {{ first_name }}! One question, ten seconds: how did we do?",
        merchant.default_language,
    )
    recent = list(
        Purchase.objects.filter(merchant=merchant, shopper__isnull=False, occurred_at__gte=since)
        .order_by("-occurred_at")
        .values_list("pk", "shopper_id", "store_id", "occurred_at")[:400]
    )
    assignments, seen = [], set()
    for purchase_id, shopper_id, _store_id, occurred_at in recent:
        if shopper_id in seen:
            continue
        seen.add(shopper_id)
        held_out = rng.random() < 0.10
        assignments.append(
            Assignment(
                merchant=merchant,
                campaign=campaign,
                shopper_id=shopper_id,
                dedupe_key=f"purchase:{purchase_id}",
                group=AssignmentGroup.HOLDOUT if held_out else AssignmentGroup.TREATMENT,
                variant=None if held_out else variant,
                assigned_at=occurred_at + timedelta(seconds=30),
            )
        )
    Assignment.objects.bulk_create(assignments)
    treated = [a for a in assignments if a.group == AssignmentGroup.TREATMENT]
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(
            merchant=merchant,
            campaign=campaign,
            shopper_id=a.shopper_id,
            dedupe_key=a.dedupe_key,
            assignment=a,
            variant=variant,
            channel="email",
            status=OutboxStatus.SENT,
            not_before=a.assigned_at,
            attempts=1,
            sent_at=a.assigned_at + timedelta(seconds=2),
            subject="How was your visit?",
            created_at=a.assigned_at,
        )
        for a in treated
    )
    stores = {pk: store for pk, _shopper, store, _at in recent}
    responses = []
    for message in messages:
        if rng.random() >= 0.45:
            continue
        purchase_id = int(message.dedupe_key.split(":")[1])
        score = rng.choices(range(11), weights=(1, 1, 1, 1, 2, 3, 4, 8, 14, 18, 16))[0]
        answered_at: datetime = min(message.sent_at + timedelta(hours=rng.uniform(0.1, 30)), now)  # type: ignore[operator]
        responses.append(
            FeedbackResponse(
                merchant=merchant,
                campaign=campaign,
                shopper_id=message.shopper_id,
                message=message,
                purchase_id=purchase_id,
                store_id=stores.get(purchase_id),
                score=score,
                comment=rng.choice(COMMENTS) if rng.random() < 0.4 else "",
                language=merchant.default_language,
                created_at=answered_at,
            )
        )
    FeedbackResponse.objects.bulk_create(responses)
    # created_at is auto_now_add: set the answer times the demo drew.
    FeedbackResponse.objects.bulk_update(responses, ["created_at"])
    return campaign
