"""Campaigns: segments, campaigns and their triggers, the outbox, offers and coupons, feedback.

One module per part; every model is importable from `campaigns.models`.
"""

from campaigns.models.campaigns import (
    BROADCAST_KINDS,
    TRIGGERS_OF_KIND,
    Assignment,
    AssignmentGroup,
    Campaign,
    CampaignKind,
    CampaignRun,
    CampaignSettings,
    CampaignStatus,
    MessageTemplate,
    Trigger,
    TriggerCursor,
    Variant,
)
from campaigns.models.feedback import FeedbackResponse
from campaigns.models.holdouts import ProgramHoldoutDraw, ProgramHoldoutMember, ProgramHoldoutSettings
from campaigns.models.offers import Coupon, Offer, OfferKind
from campaigns.models.outbox import OutboxMessage, OutboxStatus
from campaigns.models.segments import (
    Segment,
    SegmentSnapshot,
    SegmentSnapshotMember,
    ShopperMarketingConsent,
    ShopperPurchaseFact,
    ShopperScore,
)

__all__ = [
    "BROADCAST_KINDS",
    "TRIGGERS_OF_KIND",
    "Assignment",
    "AssignmentGroup",
    "Campaign",
    "CampaignKind",
    "CampaignRun",
    "CampaignSettings",
    "CampaignStatus",
    "Coupon",
    "FeedbackResponse",
    "MessageTemplate",
    "Offer",
    "OfferKind",
    "ProgramHoldoutDraw",
    "ProgramHoldoutMember",
    "ProgramHoldoutSettings",
    "OutboxMessage",
    "OutboxStatus",
    "Segment",
    "SegmentSnapshot",
    "SegmentSnapshotMember",
    "ShopperMarketingConsent",
    "ShopperPurchaseFact",
    "ShopperScore",
    "Trigger",
    "TriggerCursor",
    "Variant",
]
