"""Loyalty's part of the shopper API object: `?expand=loyalty` gives the balance and the tier (profiles.expansions)."""

from collections.abc import Sequence
from typing import Any

from loyalty import selectors
from loyalty.serializers import LoyaltySummaryOutputSerializer
from merchants.models import Merchant
from profiles.expansions import Expansion, register
from profiles.models import Shopper

# A shopper without an account yet (no purchase since the program started) holds nothing.
NO_ACCOUNT = {"points_balance": 0, "points_pending": 0, "tier": None, "tier_since": None}


def loyalty_load(merchant: Merchant, shoppers: Sequence[Shopper]) -> dict[int, Any]:
    accounts = selectors.accounts_by_shopper(merchant=merchant, shopper_ids=[shopper.pk for shopper in shoppers])
    return {
        shopper_id: LoyaltySummaryOutputSerializer(
            {
                "points_balance": account.points_balance,
                "points_pending": account.points_pending,
                "tier": account.tier.name if account.tier else None,
                "tier_since": account.tier_since if account.tier else None,
            }
        ).data
        for shopper_id, account in accounts.items()
    }


def register_all() -> None:
    register(
        Expansion(
            name="loyalty",
            loader=loyalty_load,
            schema=LoyaltySummaryOutputSerializer,
            default=NO_ACCOUNT,
            description="The points balance and tier. With ?expand=loyalty.",
        )
    )
