"""profiles' own parts of the shopper API object (profiles.expansions): current consents and preferences."""

from collections.abc import Sequence
from typing import Any

from merchants.models import Merchant
from profiles import selectors
from profiles import serializers as s
from profiles.expansions import Expansion, register
from profiles.models import Shopper

NO_PREFERENCES = {"sizes": [], "colours": [], "brands": [], "styles": [], "favourite_categories": []}


def consents_load(merchant: Merchant, shoppers: Sequence[Shopper]) -> dict[int, Any]:
    current = selectors.consents_current_by_shopper(merchant=merchant, shopper_ids=[shopper.pk for shopper in shoppers])
    return {
        shopper_id: s.ConsentCurrentOutputSerializer(events, many=True).data for shopper_id, events in current.items()
    }


def preferences_load(merchant: Merchant, shoppers: Sequence[Shopper]) -> dict[int, Any]:
    rows = selectors.preferences_by_shopper(merchant=merchant, shopper_ids=[shopper.pk for shopper in shoppers])
    return {shopper_id: s.PreferencesOutputSerializer(row).data for shopper_id, row in rows.items()}


def register_all() -> None:
    register(
        Expansion(
            name="consents",
            loader=consents_load,
            schema=s.ConsentCurrentOutputSerializer,
            many=True,
            default=[],
            description="What holds now per channel and purpose: the latest decision of each. With ?expand=consents.",
        )
    )
    register(
        Expansion(
            name="preferences",
            loader=preferences_load,
            schema=s.PreferencesOutputSerializer,
            default=NO_PREFERENCES,
            description="What the shopper told you they like. With ?expand=preferences.",
        )
    )
