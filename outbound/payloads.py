"""What each event says (its `data`): ids are public ids, money in minor units with its currency, times in UTC.

An erasure carries only the shopper's id. Nothing here ever holds a card number: cards are not sent at all.
"""

from typing import Any

from profiles.models import ContactPoint, Purchase, Shopper


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def shopper(shopper: Shopper) -> dict[str, Any]:
    contacts = (
        ContactPoint.objects.filter(shopper=shopper).order_by("kind", "pk").values("kind", "value", "is_verified")
    )
    return {
        "id": str(shopper.public_id),
        "first_name": shopper.first_name,
        "last_name": shopper.last_name,
        "birthday": _time(shopper.birthday),
        "language": shopper.language,
        "home_store_id": shopper.home_store_id,
        "status": shopper.status,
        "contacts": list(contacts),
        "created_at": _time(shopper.created_at),
    }


def purchase(purchase: Purchase) -> dict[str, Any]:
    return {
        "id": str(purchase.public_id),
        "shopper_id": shopper_key_of(purchase),
        "store_id": purchase.store_id,
        "channel": purchase.channel,
        "amount_minor": purchase.amount_minor,
        "refunded_minor": purchase.refunded_minor,
        "currency": purchase.currency,
        "state": purchase.state,
        "occurred_at": _time(purchase.occurred_at),
        "external_id": purchase.external_id,
    }


def shopper_key_of(purchase: Purchase) -> str | None:
    if purchase.shopper_id is None:
        return None
    public_id = Shopper.objects.filter(merchant=purchase.merchant_id, pk=purchase.shopper_id).values_list(
        "public_id", flat=True
    )
    return str(public_id.get())


def shopper_public_id(shopper_id: int, merchant_id: int) -> str:
    return str(Shopper.objects.filter(merchant=merchant_id, pk=shopper_id).values_list("public_id", flat=True).get())
