"""A campaign's life: launch, pause, resume, cancel, complete. Each is a conditional status move.

Broadcasts (one-off, recurring, greetings) are `scheduled` until their first run is claimed;
triggered kinds (real-time, lifecycle, location) are `active` from launch. Queued messages of a
paused campaign wait; those of a cancelled one are suppressed.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from campaigns.models import (
    BROADCAST_KINDS,
    TRIGGERS_OF_KIND,
    Campaign,
    CampaignKind,
    CampaignStatus,
    MessageTemplate,
    OfferKind,
    OutboxMessage,
    OutboxStatus,
    Trigger,
    Variant,
)
from campaigns.services.presence import realtime_campaigns_forget
from core.errors import ApplicationError, ConflictError
from merchants.models import AuditEvent, User
from profiles.models import ConsentPurpose

REQUIRED_PARAMS: dict[str, str] = {Trigger.SPEND_OVER: "amount_minor", Trigger.WIN_BACK: "days_lapsed"}


def _audit(campaign: Campaign, actor: User | None, action: str, **detail: object) -> None:
    AuditEvent.objects.create(
        merchant_id=campaign.merchant_id,
        actor=actor if actor is not None and actor.pk else None,
        action=f"campaign.{action}",
        subject=str(campaign.public_id),
        detail={"name": campaign.name, **detail},
    )


def _move(campaign: Campaign, *, from_statuses: tuple[str, ...], to: str, **changes: object) -> Campaign:
    moved = Campaign.objects.filter(merchant=campaign.merchant_id, pk=campaign.pk, status__in=from_statuses).update(
        status=to, updated_at=timezone.now(), **changes
    )
    if not moved:
        campaign.refresh_from_db(fields=["status"])
        raise ConflictError(
            f"This campaign is {campaign.get_status_display().lower()}; it cannot be changed that way.",
            code="campaign_status",
        )
    realtime_campaigns_forget(merchant_id=campaign.merchant_id)
    campaign.refresh_from_db()
    return campaign


def check_launchable(*, campaign: Campaign, now: datetime) -> None:
    """Everything a campaign needs before it may send: a trigger of its kind, messages, a live offer, a time."""
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if campaign.kind in TRIGGERS_OF_KIND:
        if campaign.trigger not in TRIGGERS_OF_KIND[campaign.kind]:
            refuse("trigger", "Choose what triggers this campaign.")
        required = REQUIRED_PARAMS.get(campaign.trigger)
        if required and not isinstance(campaign.trigger_params.get(required), int):
            refuse("trigger_params", f"This trigger needs {required.replace('_', ' ')}.")
    elif campaign.trigger:
        refuse("trigger", "A broadcast has no trigger.")
    if campaign.kind == CampaignKind.RECURRING and not campaign.repeat_every_days:
        refuse("repeat_every_days", "Say how often it repeats.")
    if campaign.trigger == Trigger.FEEDBACK_REQUEST and campaign.purpose != ConsentPurpose.FEEDBACK:
        refuse("purpose", "A feedback request needs the shopper's consent to feedback requests.")
    if campaign.kind == CampaignKind.GREETING and campaign.offer_id:
        refuse("offer", "A greeting carries no offer.")
    offer = campaign.offer if campaign.offer_id else None
    if offer is not None:
        if offer.merchant_id != campaign.merchant_id:
            refuse("offer", "No such offer.")
        elif offer.valid_until <= now:
            refuse("offer", "The offer has already ended.")
        elif offer.kind == OfferKind.CARD_LINKED and offer.card_linked_offer_id is None:
            refuse("offer", "The card-linked offer is missing.")
    if campaign.ends_at and campaign.ends_at <= now:
        refuse("ends_at", "The end is in the past.")
    variants = list(Variant.objects.filter(campaign=campaign))
    if not variants:
        refuse("variants", "Write the message first.")
    else:
        languages = set(
            MessageTemplate.objects.filter(variant__campaign=campaign).values_list("variant_id", "language")
        )
        for variant in variants:
            if not any(variant_id == variant.pk for variant_id, _language in languages):
                refuse("variants", f"Variant {variant.key} has no message.")
            elif campaign.channel == "email" and MessageTemplate.objects.filter(variant=variant, subject="").exists():
                refuse("variants", f"Variant {variant.key} needs a subject in every language.")
    if errors:
        message = " ".join(message for messages in errors.values() for message in messages)
        raise ApplicationError(message, code="campaign_incomplete", fields=errors)


@transaction.atomic
def campaign_launch(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Start a draft: broadcasts wait for their time (now if none), triggered campaigns listen at once."""
    now = timezone.now()
    Campaign.objects.select_for_update().filter(merchant=campaign.merchant_id, pk=campaign.pk).first()
    campaign.refresh_from_db()
    if campaign.status != CampaignStatus.DRAFT:
        raise ConflictError("Only a draft can be launched.", code="campaign_status")
    check_launchable(campaign=campaign, now=now)
    changes: dict[str, object] = {"launched_at": now}
    if campaign.kind in BROADCAST_KINDS:
        first_run = campaign.scheduled_at or now
        changes["scheduled_at"] = first_run
        changes["next_run_at"] = first_run
        status = CampaignStatus.SCHEDULED
    else:
        status = CampaignStatus.ACTIVE
    campaign = _move(campaign, from_statuses=(CampaignStatus.DRAFT,), to=status, **changes)
    _audit(campaign, actor, "launch", kind=campaign.kind)
    if campaign.kind in BROADCAST_KINDS and campaign.next_run_at and campaign.next_run_at <= now:
        from campaigns.tasks import start_due_broadcasts

        transaction.on_commit(start_due_broadcasts.delay)
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, actor: User | None) -> Campaign:
    campaign = _move(
        campaign, from_statuses=(CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED), to=CampaignStatus.PAUSED
    )
    _audit(campaign, actor, "pause")
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Back to listening (triggered kinds, or a broadcast whose run began), else back to its schedule."""
    ran = campaign.runs.exists()
    to = CampaignStatus.SCHEDULED if campaign.kind in BROADCAST_KINDS and not ran else CampaignStatus.ACTIVE
    if campaign.kind == CampaignKind.RECURRING:
        to = CampaignStatus.SCHEDULED
    campaign = _move(campaign, from_statuses=(CampaignStatus.PAUSED,), to=to)
    _audit(campaign, actor, "resume")
    from campaigns.tasks import send_due_messages

    transaction.on_commit(send_due_messages.delay)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Stop for good: messages not yet handed over are suppressed ("cancelled").

    A completed broadcast may be cancelled too, to drop what still waits (e.g. for quiet hours to end).
    """
    campaign = _move(
        campaign,
        from_statuses=(
            CampaignStatus.DRAFT,
            CampaignStatus.SCHEDULED,
            CampaignStatus.ACTIVE,
            CampaignStatus.PAUSED,
            CampaignStatus.COMPLETED,
        ),
        to=CampaignStatus.CANCELLED,
        completed_at=timezone.now(),
    )
    OutboxMessage.objects.filter(campaign=campaign, status=OutboxStatus.QUEUED).update(
        status=OutboxStatus.SUPPRESSED, reason="cancelled"
    )
    _audit(campaign, actor, "cancel")
    return campaign


@transaction.atomic
def campaign_complete(*, campaign: Campaign, actor: User | None = None) -> Campaign | None:
    """A broadcast whose audience was written, or a campaign past its end: no more entries. None if not live."""
    moved = Campaign.objects.filter(
        merchant=campaign.merchant_id, pk=campaign.pk, status__in=(CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED)
    ).update(status=CampaignStatus.COMPLETED, completed_at=timezone.now(), updated_at=timezone.now())
    if not moved:
        return None
    realtime_campaigns_forget(merchant_id=campaign.merchant_id)
    campaign.refresh_from_db()
    _audit(campaign, actor, "complete")
    return campaign


def campaigns_end_due(*, now: datetime | None = None) -> int:
    """Live campaigns of every merchant past their end take no more entries (their queued messages still go)."""
    now = now or timezone.now()
    ended = Campaign.all_merchants.filter(
        status__in=(CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED), ends_at__isnull=False, ends_at__lte=now
    )
    return sum(1 for campaign in ended if campaign_complete(campaign=campaign) is not None)
