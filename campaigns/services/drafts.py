"""Editing what has not been sent yet: draft campaigns, their variants and per-language templates,
offers, and the merchant's campaign settings.

A campaign is edited while it is a draft only; launching it (campaigns.services, the engine) freezes it.
"""

from dataclasses import dataclass, field
from datetime import time
from typing import Any

from django.conf import settings
from django.db import transaction

from campaigns.models import (
    TRIGGERS_OF_KIND,
    Campaign,
    CampaignKind,
    CampaignSettings,
    CampaignStatus,
    MessageTemplate,
    Offer,
    OfferKind,
    Segment,
    SegmentSnapshot,
    Trigger,
    Variant,
)
from core.errors import ApplicationError, ConflictError, validated
from loyalty.models import Offer as CardLinkedOffer
from merchants.models import Merchant, Store
from profiles.models import ConsentChannel, ConsentPurpose

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
VARIANT_KEYS = ("A", "B")

# Which triggers each kind of campaign may use; broadcasts and greetings have none.
# The trigger parameter each trigger needs: (key, what it means).
TRIGGER_PARAMS: dict[str, tuple[str, str]] = {
    Trigger.SPEND_OVER: ("amount_minor", "the amount a purchase must reach"),
    Trigger.WIN_BACK: ("days_lapsed", "days since the last purchase"),
    Trigger.POINTS_EXPIRING: ("days_before", "days before the points expire"),
    Trigger.VISIT: ("cooldown_hours", "hours before the same shopper may get it again"),
}


@dataclass
class VariantDraft:
    weight: int = 100
    # language → (subject, body); a language without a body has no template.
    templates: dict[str, tuple[str, str]] = field(default_factory=dict)


class DraftLocked(ConflictError):
    default_code = "campaign_not_draft"


def _check_trigger(kind: str, trigger: str, params: dict[str, Any]) -> dict[str, Any]:
    allowed = TRIGGERS_OF_KIND.get(kind, ())
    if not allowed:
        if trigger:
            raise ApplicationError("This kind of campaign has no trigger; leave it empty.", field="trigger")
        return {}
    if trigger not in allowed:
        choices = ", ".join(str(Trigger(t).label) for t in allowed)
        raise ApplicationError(f"Choose one of: {choices}.", code="trigger_required", field="trigger")
    needed = TRIGGER_PARAMS.get(trigger)
    if needed is None:
        return {}
    key, meaning = needed
    value = params.get(key)
    if not isinstance(value, int) or value < 1:
        raise ApplicationError(f"Give {meaning} (a whole number above 0).", code="trigger_param", field="trigger_value")
    return {key: value}


def _check_audience(merchant: Merchant, segment: Segment | None, snapshot: SegmentSnapshot | None) -> None:
    if segment is not None and snapshot is not None:
        raise ApplicationError("Choose a segment or a snapshot, not both.", field="snapshot")
    for chosen, name in ((segment, "segment"), (snapshot, "snapshot")):
        if chosen is not None and chosen.merchant_id != merchant.pk:
            raise ApplicationError("No such audience.", code="not_found", field=name)


def _check_variants(channel: str, variants: dict[str, VariantDraft], default_language: str) -> None:
    if "A" not in variants:
        raise ApplicationError("Write the message (variant A).", field="body_A_en")
    for key, variant in variants.items():
        if key not in VARIANT_KEYS:
            raise ApplicationError(f"Unknown variant {key}.", field="variants")
        if variant.weight < 1:
            raise ApplicationError("A variant's share must be at least 1.", field=f"weight_{key}")
        bodies = {language: pair for language, pair in variant.templates.items() if pair[1].strip()}
        if not bodies:
            raise ApplicationError(
                f"Variant {key} needs a message in at least one language.", field=f"body_{key}_{default_language}"
            )
        if default_language not in bodies and "en" not in bodies:
            raise ApplicationError(
                f"Variant {key} needs a message in the merchant's language ({default_language}) or English: "
                "shoppers without a matching language get it.",
                field=f"body_{key}_{default_language}",
            )
        for language, (subject, _body) in bodies.items():
            if language not in LANGUAGE_CODES:
                raise ApplicationError(f"Unknown language {language}.", field="variants")
            if channel == ConsentChannel.EMAIL and not subject.strip():
                raise ApplicationError("An email needs a subject.", field=f"subject_{key}_{language}")


@transaction.atomic
def campaign_draft_save(
    *,
    merchant: Merchant,
    actor: Any,
    campaign: Campaign | None,
    name: str,
    kind: str,
    channel: str,
    trigger: str = "",
    trigger_params: dict[str, Any] | None = None,
    segment: Segment | None = None,
    snapshot: SegmentSnapshot | None = None,
    store: Store | None = None,
    offer: Offer | None = None,
    holdout_percent: int = 10,
    attribution_days: int = 7,
    cost_per_message_minor: int = 0,
    scheduled_at: Any = None,
    send_now: bool = False,
    repeat_every_days: int | None = None,
    variants: dict[str, VariantDraft],
) -> Campaign:
    """Create a draft campaign, or change one that is still a draft, with its variants and templates."""
    if campaign is not None:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk, merchant=merchant)
        if campaign.status != CampaignStatus.DRAFT:
            raise DraftLocked("Only a draft can be edited; this campaign has been launched.")
    params = _check_trigger(kind, trigger, trigger_params or {})
    _check_audience(merchant, segment, snapshot)
    if offer is not None and offer.merchant_id != merchant.pk:
        raise ApplicationError("No such offer.", code="not_found", field="offer")
    if kind == CampaignKind.GREETING and offer is not None:
        raise ApplicationError("A greeting carries no offer.", field="offer")
    if kind == CampaignKind.RECURRING and not repeat_every_days:
        raise ApplicationError("Say how often it repeats.", field="repeat_every_days")
    scheduled_kind = kind in (CampaignKind.BROADCAST, CampaignKind.RECURRING, CampaignKind.GREETING)
    if scheduled_kind and send_now:
        scheduled_at = None  # launching sends it at once (campaign_launch)
    elif scheduled_kind and scheduled_at is None:
        raise ApplicationError("Choose when it is sent: now, or at a time.", field="scheduled_at")
    if store is not None and store.merchant_id != merchant.pk:
        raise ApplicationError("No such store.", code="not_found", field="store")
    _check_variants(channel, variants, merchant.default_language)

    values = {
        "name": name.strip(),
        "kind": kind,
        "trigger": trigger if TRIGGERS_OF_KIND.get(kind) else "",
        "trigger_params": params,
        "channel": channel,
        "purpose": ConsentPurpose.FEEDBACK if trigger == Trigger.FEEDBACK_REQUEST else ConsentPurpose.MARKETING,
        "segment": segment,
        "snapshot": snapshot,
        "store": store,
        "offer": offer,
        "holdout_percent": holdout_percent,
        "attribution_days": attribution_days,
        "cost_per_message_minor": cost_per_message_minor,
        "scheduled_at": scheduled_at,
        "repeat_every_days": repeat_every_days if kind == CampaignKind.RECURRING else None,
    }
    if campaign is None:
        campaign = Campaign(merchant=merchant, created_by=actor if getattr(actor, "pk", None) else None)
    for key, value in values.items():
        setattr(campaign, key, value)
    validated(campaign, exclude=["merchant", "created_by"])
    campaign.save()
    _variants_replace(campaign, variants)
    return campaign


def _variants_replace(campaign: Campaign, variants: dict[str, VariantDraft]) -> None:
    Variant.objects.filter(campaign=campaign).exclude(key__in=list(variants)).delete()
    for key, draft in sorted(variants.items()):
        variant, _created = Variant.objects.update_or_create(
            campaign=campaign, key=key, defaults={"merchant_id": campaign.merchant_id, "weight": draft.weight}
        )
        bodies = {language: pair for language, pair in draft.templates.items() if pair[1].strip()}
        MessageTemplate.objects.filter(variant=variant).exclude(language__in=list(bodies)).delete()
        for language, (subject, body) in bodies.items():
            template = MessageTemplate(
                merchant_id=campaign.merchant_id, variant=variant, language=language, subject=subject.strip(), body=body
            )
            validated(template, exclude=["merchant", "variant"])
            MessageTemplate.objects.update_or_create(
                variant=variant,
                language=language,
                defaults={"merchant_id": campaign.merchant_id, "subject": subject.strip(), "body": body},
            )


@transaction.atomic
def campaign_draft_delete(*, merchant: Merchant, campaign: Campaign) -> None:
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk, merchant=merchant)
    if locked.status != CampaignStatus.DRAFT:
        raise DraftLocked("Only a draft can be deleted; cancel a launched campaign instead.")
    locked.delete()


@transaction.atomic
def offer_save(
    *,
    merchant: Merchant,
    offer: Offer | None,
    name: str,
    kind: str,
    valid_from: Any,
    valid_until: Any,
    description: str = "",
    store: Store | None = None,
    card_linked_offer: CardLinkedOffer | None = None,
    amount_off_minor: int = 0,
    percent_off: int = 0,
    free_item: str = "",
    daily_start: time | None = None,
    daily_end: time | None = None,
    max_redemptions: int | None = None,
) -> Offer:
    """Create or change an offer. Its window may change at any time: every surface reads it live."""
    if kind == OfferKind.CARD_LINKED:
        if card_linked_offer is None or card_linked_offer.merchant_id != merchant.pk:
            raise ApplicationError("Choose the loyalty program's card-linked offer.", field="card_linked_offer")
    else:
        card_linked_offer = None
        if not (amount_off_minor or percent_off or free_item.strip()):
            raise ApplicationError("Give an amount off, a percentage off or a free item.", field="amount_off_minor")
    if (daily_start is None) != (daily_end is None):
        raise ApplicationError("Give both ends of the daily window, or neither.", field="daily_end")
    if daily_start is not None and daily_start == daily_end:
        raise ApplicationError("The daily window must not start and end at the same time.", field="daily_end")
    if store is not None and store.merchant_id != merchant.pk:
        raise ApplicationError("No such store.", code="not_found", field="store")
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise ApplicationError("The offer must end after it starts.", field="valid_until")
    if offer is None:
        offer = Offer(merchant=merchant)
    elif offer.merchant_id != merchant.pk:
        raise ApplicationError("No such offer.", code="not_found")
    values = {
        "name": name.strip(),
        "kind": kind,
        "description": description.strip(),
        "store": store,
        "card_linked_offer": card_linked_offer,
        "amount_off_minor": amount_off_minor if kind == OfferKind.COUPON else 0,
        "percent_off": percent_off if kind == OfferKind.COUPON else 0,
        "free_item": free_item.strip() if kind == OfferKind.COUPON else "",
        "valid_from": valid_from,
        "valid_until": valid_until,
        "daily_start": daily_start,
        "daily_end": daily_end,
        "max_redemptions": max_redemptions,
    }
    for key, value in values.items():
        setattr(offer, key, value)
    validated(offer, exclude=["merchant"])
    offer.save()
    return offer


@transaction.atomic
def campaign_settings_save(*, merchant: Merchant, **fields: Any) -> CampaignSettings:
    current, _created = CampaignSettings.objects.select_for_update().get_or_create(merchant=merchant)
    for key, value in fields.items():
        setattr(current, key, value)
    validated(current, exclude=["merchant"])
    current.save()
    return current


def campaign_settings_get(*, merchant: Merchant) -> CampaignSettings:
    found = CampaignSettings.objects.filter(merchant=merchant).first()
    return found or CampaignSettings(merchant=merchant)
