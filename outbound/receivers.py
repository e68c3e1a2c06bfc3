"""Domain signals of the apps below become outbox events (outbound.services.outbox), in the change's transaction."""

from typing import Any

from campaigns.signals import message_sent
from loyalty.signals import points_changed, tier_changed
from outbound import payloads
from outbound.models import EventType
from outbound.services.outbox import event_record, shopper_deliveries_follow_merge, shopper_events_redact
from profiles import signals as profile_signals
from profiles.models import Shopper


def on_shopper_changed(
    sender: Any, merchant: Any, shopper: Shopper, created: bool, fields: Any = (), origin: str | None = None, **_: Any
) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        data = payloads.shopper(shopper)
        if not created:
            data["changed_fields"] = sorted(fields)
        return str(shopper.public_id), data

    event_type = EventType.SHOPPER_CREATED if created else EventType.SHOPPER_UPDATED
    event_record(merchant=merchant, event_type=event_type, build=build, origin=origin)


def on_consent_changed(
    sender: Any, merchant: Any, shopper: Shopper, channel: str, granted: bool, origin: str | None = None, **extra: Any
) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        data = {"shopper_id": str(shopper.public_id), "channel": channel, "granted": granted}
        if "purpose" in extra:
            data["purpose"] = extra["purpose"]
        return str(shopper.public_id), data

    event_record(merchant=merchant, event_type=EventType.CONSENT_CHANGED, build=build, origin=origin)


def on_purchase_recorded(sender: Any, merchant: Any, purchase: Any, is_change: bool = False, **_: Any) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        data = {**payloads.purchase(purchase), "is_change": is_change}
        return data["shopper_id"] or f"purchase:{data['id']}", data

    event_record(merchant=merchant, event_type=EventType.PURCHASE_RECORDED, build=build)


def on_purchase_refunded(sender: Any, merchant: Any, purchase: Any, refunded_minor: int, **_: Any) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        data = {**payloads.purchase(purchase), "refund_minor": refunded_minor}
        return data["shopper_id"] or f"purchase:{data['id']}", data

    event_record(merchant=merchant, event_type=EventType.PURCHASE_REFUNDED, build=build)


def on_shopper_erased(sender: Any, merchant: Any, shopper_public_id: str, **_: Any) -> None:
    key = str(shopper_public_id)
    event = event_record(
        merchant=merchant, event_type=EventType.SHOPPER_ERASED, build=lambda: (key, {"shopper_id": key})
    )
    shopper_events_redact(merchant=merchant, shopper_key=key, keep=event)


def on_shoppers_merged(
    sender: Any, merchant: Any, survivor: Shopper, merged: Shopper, merge_event: Any, **_: Any
) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        data = {"survivor_id": str(survivor.public_id), "merged_id": str(merged.public_id), "merge_id": merge_event.pk}
        return str(survivor.public_id), data

    shopper_deliveries_follow_merge(
        merchant=merchant, merged_key=str(merged.public_id), survivor_key=str(survivor.public_id)
    )
    event_record(merchant=merchant, event_type=EventType.SHOPPER_MERGED, build=build)


def on_merge_undone(
    sender: Any, merchant: Any, survivor: Shopper, restored: Shopper, merge_event: Any, **_: Any
) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        data = {
            "survivor_id": str(survivor.public_id),
            "restored_id": str(restored.public_id),
            "merge_id": merge_event.pk,
        }
        return str(survivor.public_id), data

    event_record(merchant=merchant, event_type=EventType.SHOPPER_MERGE_UNDONE, build=build)


def on_points_changed(
    sender: Any, merchant: Any, account: Any, delta: int, reason: str, balance: int, **_: Any
) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        key = payloads.shopper_public_id(account.shopper_id, account.merchant_id)
        return key, {"shopper_id": key, "delta": delta, "reason": reason, "balance": balance}

    event_record(merchant=merchant, event_type=EventType.POINTS_CHANGED, build=build)


def on_tier_changed(
    sender: Any, merchant: Any, account: Any, previous: str | None, current: str | None, **_: Any
) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        key = payloads.shopper_public_id(account.shopper_id, account.merchant_id)
        return key, {"shopper_id": key, "previous": previous, "current": current}

    event_record(merchant=merchant, event_type=EventType.TIER_CHANGED, build=build)


def on_message_sent(sender: Any, merchant: Any, message: Any, **_: Any) -> None:
    def build() -> tuple[str, dict[str, Any]]:
        key = payloads.shopper_public_id(message.shopper_id, message.merchant_id)
        data = {
            "shopper_id": key,
            "message_id": message.pk,
            "campaign_id": message.campaign_id,
            "channel": message.channel,
        }
        return key, data

    event_record(merchant=merchant, event_type=EventType.MESSAGE_SENT, build=build)


def connect() -> None:
    connections = (
        (profile_signals.shopper_changed, on_shopper_changed),
        (profile_signals.consent_changed, on_consent_changed),
        (profile_signals.purchase_recorded, on_purchase_recorded),
        (profile_signals.purchase_refunded, on_purchase_refunded),
        (profile_signals.shopper_erased, on_shopper_erased),
        (profile_signals.shoppers_merged, on_shoppers_merged),
        (profile_signals.merge_undone, on_merge_undone),
        (points_changed, on_points_changed),
        (tier_changed, on_tier_changed),
        (message_sent, on_message_sent),
    )
    for signal, receiver in connections:
        signal.connect(receiver, dispatch_uid=f"outbound.{receiver.__name__}")
