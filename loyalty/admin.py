from django.contrib import admin

from loyalty.models import Account, EarnRule, LedgerEntry, Offer, PartnerAgreement, Program, Redemption, Reward, Tier
from profiles.admin import ReadOnlyAdmin


@admin.register(Program)
class ProgramAdmin(ReadOnlyAdmin):
    """Changed on the Loyalty pages, whose services keep the earn cache current and audit the change."""

    list_display = ["name", "merchant", "kind", "is_active", "rules_version"]


@admin.register(EarnRule)
class EarnRuleAdmin(ReadOnlyAdmin):
    list_display = ["name", "merchant", "kind", "multiplier", "bonus_points", "is_active"]
    list_filter = ["kind", "is_active", "merchant"]


@admin.register(Tier)
class TierAdmin(ReadOnlyAdmin):
    list_display = ["name", "merchant", "threshold", "earn_multiplier"]


@admin.register(Reward)
class RewardAdmin(ReadOnlyAdmin):
    list_display = ["name", "merchant", "kind", "points_cost", "is_active"]


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ["name", "merchant", "starts_at", "ends_at", "budget_minor"]


@admin.register(PartnerAgreement)
class PartnerAgreementAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "partner", "status", "bonus_points_per_unit", "unit_minor"]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["shopper", "merchant", "points_balance", "points_pending", "tier", "enrolled_at"]
    list_select_related = ["shopper", "merchant", "tier"]
    raw_id_fields = ["shopper"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "bucket", "points", "reason", "note"]
    list_filter = ["reason", "bucket"]
    list_select_related = ["account"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "reward", "points", "status"]
    list_select_related = ["account", "reward"]
