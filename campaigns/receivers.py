"""Campaigns' reactions: a recorded purchase, a merge and its undo (profiles' signals), and ESP tracking events
(django-anymail).

A merge moves the merged profile's message history to the survivor, and an undo moves it back; campaign
assignments stay (campaigns/services/merges.py).

The purchase receiver runs inside every purchase's ingest transaction, so it must cost next to nothing:
without a live real-time campaign (a cached answer, campaigns/services/presence.py) it returns at once;
otherwise it queues the evaluation after the commit.

A purchase completed later (profiles.signals, `is_change`: matched with its twin, so it may only now
have a shopper; cleared at another amount) is evaluated again, as it now is. Each real-time trigger's
dedupe key names the occasion (the purchase, or the shopper's first purchase in a channel), so a
purchase starts a campaign once: on the change if it did not qualify before, never a second time.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.services.merges import messages_follow_merge, messages_follow_undone_merge
from campaigns.services.presence import realtime_campaigns_exist
from campaigns.services.suppression import email_feedback_record
from campaigns.services.triggers import PURCHASE_MAX_AGE
from merchants.models import Merchant
from profiles.models import Purchase, Shopper


def on_purchase_recorded(sender: Any, *, merchant: Merchant, purchase: Purchase, **kwargs: Any) -> None:
    if purchase.shopper_id is None or not realtime_campaigns_exist(merchant_id=merchant.pk):
        return
    if purchase.occurred_at < timezone.now() - PURCHASE_MAX_AGE:
        return  # history (an import, a late batch): the task would skip it too, so queue nothing
    from campaigns.tasks import evaluate_purchase

    purchase_id = purchase.pk
    transaction.on_commit(lambda: evaluate_purchase.delay(purchase_id))


def on_esp_tracking(sender: Any, *, event: Any, esp_name: str, **kwargs: Any) -> None:
    email_feedback_record(
        event_type=str(event.event_type or ""),
        message_id=str(event.message_id or ""),
        recipient=str(event.recipient or ""),
        esp=esp_name,
    )


def on_shoppers_merged(sender: Any, *, merchant: Merchant, survivor: Shopper, merged: Shopper, **kwargs: Any) -> None:
    messages_follow_merge(merchant=merchant, survivor=survivor, merged=merged)


def on_merge_undone(sender: Any, *, merchant: Merchant, survivor: Shopper, restored: Shopper, **kwargs: Any) -> None:
    messages_follow_undone_merge(merchant=merchant, survivor=survivor, restored=restored)
