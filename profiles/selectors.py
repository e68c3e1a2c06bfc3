"""Reads on shopper profiles for the staff pages.

Every function takes the merchant; another tenant's object is a 404.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from merchants.models import Merchant, Store
from profiles.models import (
    Card,
    ConsentEvent,
    ContactKind,
    ContactPoint,
    LineItem,
    MergeEvent,
    Purchase,
    Shopper,
    ShopperPreferences,
    ShopperRollup,
    ShopperStatus,
    SignupPoint,
    Visit,
)

# The profile page shows the latest purchases and visits; totals come from the rollup.
PROFILE_PURCHASE_LIMIT = 50
PROFILE_VISIT_LIMIT = 50
DUPLICATE_PAIR_LIMIT = 200

_LAST_FOUR = re.compile(r"[*·.\sx-]*(\d{4})", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"[\d\s+().-]+")
# Fewer digits than this would match a crowd of phone numbers.
_MIN_PHONE_DIGITS = 6


# Search


def shopper_search(*, merchant: Merchant, query: str = "", store: Store | None = None) -> QuerySet[Shopper]:
    """Shoppers whose name, email, phone or card's last four match `query`; most recent buyers first.

    Merged profiles are left out (their data lives on the survivor). Each row carries
    its rollup figures as annotations, so a page of results is one query.
    """
    shoppers = Shopper.objects.for_merchant(merchant).exclude(status=ShopperStatus.MERGED)
    query = " ".join(query.split())
    if query:
        shoppers = shoppers.filter(_search_condition(query))
    if store is not None:
        shoppers = shoppers.filter(
            Q(home_store=store)
            | Exists(Purchase.objects.filter(shopper=OuterRef("pk"), store=store))
            | Exists(Visit.objects.filter(shopper=OuterRef("pk"), store=store))
        )
    return shoppers.annotate(
        purchase_count=Coalesce(F("rollup__purchase_count"), Value(0)),
        total_minor=Coalesce(F("rollup__total_minor"), Value(0)),
        last_purchase_at=F("rollup__last_purchase_at"),
    ).order_by(F("rollup__last_purchase_at").desc(nulls_last=True), "-created_at", "-pk")


def _search_condition(query: str) -> Q:
    name = Q()
    for term in query.split(" "):
        name &= Q(first_name__icontains=term) | Q(last_name__icontains=term)
    condition = name | Q(
        Exists(
            ContactPoint.objects.filter(shopper=OuterRef("pk"), kind=ContactKind.EMAIL, value__icontains=query.lower())
        )
    )
    digits = re.sub(r"\D", "", query)
    if _PHONE_LIKE.fullmatch(query) and len(digits) >= _MIN_PHONE_DIGITS:
        # Stored numbers are E.164; a national number typed with its trunk 0 still matches.
        condition |= Q(
            Exists(
                ContactPoint.objects.filter(
                    shopper=OuterRef("pk"), kind=ContactKind.PHONE, value__contains=digits.lstrip("0")
                )
            )
        )
    last_four = _LAST_FOUR.fullmatch(query)
    if last_four:
        condition |= Q(Exists(Card.objects.filter(shopper=OuterRef("pk"), last_four=last_four.group(1))))
    return condition


def shopper_get(*, merchant: Merchant, public_id: Any) -> Shopper:
    return get_object_or_404(
        Shopper.objects.for_merchant(merchant).select_related("home_store", "merged_into"), public_id=public_id
    )


# The profile page


@dataclass(frozen=True)
class ShopperProfile:
    shopper: Shopper
    rollup: ShopperRollup | None
    contacts: list[ContactPoint]
    # The latest decision per channel and purpose: what holds now.
    consents: list[ConsentEvent]
    consent_history: list[ConsentEvent]
    preferences: ShopperPreferences | None
    cards: list[Card]
    purchases: list[Purchase]
    visits: list[Visit]
    # Merges into this profile, newest first (the undoable ones carry no undone_at).
    merges: list[MergeEvent]

    @property
    def is_purchase_list_cut(self) -> bool:
        return len(self.purchases) >= PROFILE_PURCHASE_LIMIT

    @property
    def is_visit_list_cut(self) -> bool:
        return len(self.visits) >= PROFILE_VISIT_LIMIT


def consents_current(*, merchant: Merchant, shopper: Shopper) -> list[ConsentEvent]:
    """What holds now: the latest decision per channel and purpose, from the ledger."""
    return list(
        ConsentEvent.objects.for_merchant(merchant)
        .filter(shopper=shopper)
        .order_by("channel", "purpose", "-occurred_at", "-pk")
        .distinct("channel", "purpose")
    )


def consent_history(*, merchant: Merchant, shopper: Shopper) -> list[ConsentEvent]:
    return list(ConsentEvent.objects.for_merchant(merchant).filter(shopper=shopper).order_by("-occurred_at", "-pk"))


def shopper_profile(*, merchant: Merchant, shopper: Shopper) -> ShopperProfile:
    """Everything the profile page shows, in a fixed number of queries whatever the shopper's history."""
    if shopper.merchant_id != merchant.pk:
        raise Http404
    return ShopperProfile(
        shopper=shopper,
        rollup=ShopperRollup.objects.for_merchant(merchant)
        .filter(shopper=shopper)
        .select_related("last_store")
        .first(),
        contacts=list(ContactPoint.objects.for_merchant(merchant).filter(shopper=shopper).order_by("kind", "pk")),
        consents=consents_current(merchant=merchant, shopper=shopper),
        consent_history=consent_history(merchant=merchant, shopper=shopper),
        preferences=ShopperPreferences.objects.for_merchant(merchant).filter(shopper=shopper).first(),
        cards=list(Card.objects.for_merchant(merchant).filter(shopper=shopper).order_by("status", "-linked_at")),
        purchases=list(
            Purchase.objects.for_merchant(merchant)
            .filter(shopper=shopper)
            .select_related("store")
            .prefetch_related(Prefetch("line_items", queryset=LineItem.objects.order_by("pk")))
            .order_by("-occurred_at", "-pk")[:PROFILE_PURCHASE_LIMIT]
        ),
        visits=list(
            Visit.objects.for_merchant(merchant)
            .filter(shopper=shopper)
            .select_related("store")
            .order_by("-occurred_at", "-pk")[:PROFILE_VISIT_LIMIT]
        ),
        merges=list(
            MergeEvent.objects.for_merchant(merchant)
            .filter(survivor=shopper)
            .select_related("survivor", "merged", "actor", "undone_by")
            .order_by("-created_at", "-pk")
        ),
    )


# Duplicates


REASONS = ("email", "phone", "birthday")


@dataclass(frozen=True)
class DuplicatePair:
    first: Shopper
    second: Shopper
    # Why they look alike, among REASONS.
    reasons: list[str]


_DUPLICATES_SQL = r"""
    WITH alike AS (
        -- Groups of active shoppers with one normalised name and one contact key: an email's
        -- local part without its +tag, or a phone number's last seven digits.
        SELECT array_agg(DISTINCT k.shopper_id) AS ids, k.kind AS reason
          FROM (SELECT c.shopper_id, c.kind,
                       lower(btrim(s.first_name)) AS first_key, lower(btrim(s.last_name)) AS last_key,
                       CASE WHEN c.kind = 'email' THEN split_part(split_part(lower(c.value), '@', 1), '+', 1)
                            WHEN length(regexp_replace(c.value, '\D', '', 'g')) >= 7
                            THEN right(regexp_replace(c.value, '\D', '', 'g'), 7)
                            ELSE '' END AS key
                  FROM profiles_contactpoint c
                  JOIN profiles_shopper s ON s.id = c.shopper_id
                 WHERE c.merchant_id = %(merchant)s AND s.merchant_id = %(merchant)s AND s.status = 'active'
                   AND btrim(s.first_name) <> '' AND btrim(s.last_name) <> '') k
         WHERE k.key <> ''
         GROUP BY k.first_key, k.last_key, k.kind, k.key
        HAVING COUNT(DISTINCT k.shopper_id) > 1
        UNION ALL
        -- ... or with one normalised name and one birthday.
        SELECT array_agg(s.id), 'birthday'
          FROM profiles_shopper s
         WHERE s.merchant_id = %(merchant)s AND s.status = 'active' AND s.birthday IS NOT NULL
           AND btrim(s.first_name) <> '' AND btrim(s.last_name) <> ''
         GROUP BY lower(btrim(s.first_name)), lower(btrim(s.last_name)), s.birthday
        HAVING COUNT(*) > 1
    )
    SELECT first.id, second.id, array_agg(DISTINCT alike.reason)
      FROM alike
     CROSS JOIN LATERAL unnest(alike.ids) AS first(id)
     CROSS JOIN LATERAL unnest(alike.ids) AS second(id)
     WHERE first.id < second.id
     GROUP BY first.id, second.id
     ORDER BY first.id, second.id
     LIMIT %(limit)s
"""


def duplicate_candidates(*, merchant: Merchant, limit: int = DUPLICATE_PAIR_LIMIT) -> list[DuplicatePair]:
    """Pairs of active shoppers with the same name and a similar contact or the same birthday.

    Found in one set-based query that groups shoppers by name and contact key (or
    birthday) and pairs up within each group, so its cost follows the number of
    shoppers and contacts, not their square; then the shoppers of all pairs are
    fetched with their contacts in two more.
    """
    with connection.cursor() as cursor:
        cursor.execute(_DUPLICATES_SQL, {"merchant": merchant.pk, "limit": limit})
        rows = cursor.fetchall()
    if not rows:
        return []
    ids = {row[0] for row in rows} | {row[1] for row in rows}
    shoppers = {
        shopper.pk: shopper
        for shopper in shopper_search(merchant=merchant)
        .filter(pk__in=ids)
        .prefetch_related(Prefetch("contacts", queryset=ContactPoint.objects.order_by("kind", "pk")))
    }
    return [
        DuplicatePair(
            first=shoppers[first_id],
            second=shoppers[second_id],
            reasons=sorted(reasons, key=REASONS.index),
        )
        for first_id, second_id, reasons in rows
    ]


def merge_event_list(*, merchant: Merchant, limit: int = 20) -> QuerySet[MergeEvent]:
    return (
        MergeEvent.objects.for_merchant(merchant)
        .select_related("survivor", "merged", "actor", "undone_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def merge_event_get(*, merchant: Merchant, merge_event_id: int) -> MergeEvent:
    return get_object_or_404(
        MergeEvent.objects.for_merchant(merchant).select_related("survivor", "merged"), pk=merge_event_id
    )


# Export


def _moment(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _contact_export(contact: ContactPoint) -> dict[str, Any]:
    return {
        "kind": contact.kind,
        "value": contact.value,
        "is_verified": contact.is_verified,
        "verified_at": _moment(contact.verified_at),
        "added_at": _moment(contact.created_at),
    }


def _consent_export(event: ConsentEvent) -> dict[str, Any]:
    return {
        "channel": event.channel,
        "purpose": event.purpose,
        "is_granted": event.is_granted,
        "occurred_at": _moment(event.occurred_at),
        "source": event.source,
        "source_reference": event.source_ref,
        "wording_version": event.wording_version,
    }


def shopper_export(*, merchant: Merchant, shopper: Shopper) -> dict[str, Any]:
    """Everything held about the shopper, as plain JSON types.

    Cards appear as scheme, last four and expiry: never the processor's token or its
    fingerprint, which are ours to protect rather than the shopper's to read.
    Profiles merged into this one are included: what stayed on them is theirs too.
    """
    profile = shopper_profile(merchant=merchant, shopper=shopper)
    purchases = (
        Purchase.objects.for_merchant(merchant)
        .filter(shopper=shopper)
        .select_related("store")
        .prefetch_related(Prefetch("line_items", queryset=LineItem.objects.order_by("pk")))
        .order_by("occurred_at", "pk")
    )
    visits = Visit.objects.for_merchant(merchant).filter(shopper=shopper).select_related("store")
    merged_profiles = (
        Shopper.objects.for_merchant(merchant)
        .filter(merged_into=shopper, status=ShopperStatus.MERGED)
        .prefetch_related("contacts")
        .order_by("pk")
    )
    preferences = profile.preferences
    rollup = profile.rollup
    return {
        "merchant": merchant.name,
        "shopper": {
            "id": str(shopper.public_id),
            "first_name": shopper.first_name,
            "last_name": shopper.last_name,
            "birthday": _moment(shopper.birthday),
            "language": shopper.language,
            "home_store": shopper.home_store.name if shopper.home_store else None,
            "joined_via": shopper.joined_via,
            "status": shopper.status,
            "joined_at": _moment(shopper.created_at),
            "erased_at": _moment(shopper.erased_at),
        },
        "contacts": [_contact_export(contact) for contact in profile.contacts],
        "consents": {
            "current": [_consent_export(event) for event in profile.consents],
            "history": [_consent_export(event) for event in reversed(profile.consent_history)],
        },
        "preferences": {
            "sizes": list(preferences.sizes),
            "colours": list(preferences.colours),
            "brands": list(preferences.brands),
            "styles": list(preferences.styles),
            "favourite_categories": list(preferences.favourite_categories),
        }
        if preferences is not None
        else {},
        "cards": [
            {
                "id": str(card.public_id),
                "scheme": card.scheme,
                "number": f"•••• {card.last_four}",
                "last_four": card.last_four,
                "expiry": f"{card.expiry_month:02d}/{card.expiry_year}"
                if card.expiry_month and card.expiry_year
                else None,
                "status": card.status,
                "linked_via": card.linked_via,
                "linked_at": _moment(card.linked_at),
                "unlinked_at": _moment(card.unlinked_at),
            }
            for card in profile.cards
        ],
        "purchases": [
            {
                "id": str(purchase.public_id),
                "occurred_at": _moment(purchase.occurred_at),
                "channel": purchase.channel,
                "store": purchase.store.name if purchase.store else None,
                "amount_minor": purchase.amount_minor,
                "refunded_minor": purchase.refunded_minor,
                "currency": purchase.currency,
                "state": purchase.state,
                "line_items": [
                    {
                        "sku": item.sku,
                        "name": item.name,
                        "category": item.category,
                        "quantity": item.quantity,
                        "unit_price_minor": item.unit_price_minor,
                    }
                    for item in purchase.line_items.all()
                ],
            }
            for purchase in purchases
        ],
        "visits": [
            {"occurred_at": _moment(visit.occurred_at), "store": visit.store.name, "source": visit.source}
            for visit in visits.order_by("occurred_at", "pk")
        ],
        "totals": {
            "purchase_count": rollup.purchase_count,
            "total_minor": rollup.total_minor,
            "in_store_count": rollup.in_store_count,
            "online_count": rollup.online_count,
            "first_purchase_at": _moment(rollup.first_purchase_at),
            "last_purchase_at": _moment(rollup.last_purchase_at),
        }
        if rollup is not None
        else {},
        "merged_profiles": [
            {
                "id": str(merged.public_id),
                "first_name": merged.first_name,
                "last_name": merged.last_name,
                "birthday": _moment(merged.birthday),
                "contacts": [_contact_export(contact) for contact in merged.contacts.all()],
            }
            for merged in merged_profiles
        ],
    }


# Kiosks and Wi-Fi portals


def signup_point_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signup_point_list(*, merchant: Merchant) -> QuerySet[SignupPoint]:
    return (
        SignupPoint.objects.for_merchant(merchant)
        .select_related("store", "created_by")
        .order_by("revoked_at", "store__name", "name")
    )


def signup_point_get(*, merchant: Merchant, point_id: int) -> SignupPoint:
    return get_object_or_404(SignupPoint.objects.for_merchant(merchant), pk=point_id)


def signup_point_by_token(*, token: str, kind: str) -> SignupPoint | None:
    """The open kiosk or portal a page URL's token names (the token decides the merchant), or None."""
    return (
        SignupPoint.all_merchants.filter(token_hash=signup_point_token_hash(token), kind=kind, revoked_at__isnull=True)
        .select_related("merchant", "store")
        .first()
    )


# Shopper pages and messages


def shopper_for_link(*, public_id: str) -> Shopper | None:
    """The shopper a signed link names (the link decides the merchant), or the profile it was merged into."""
    try:
        shopper = Shopper.all_merchants.select_related("merchant").filter(public_id=public_id).first()
    except ValidationError:
        return None
    seen = set()
    while shopper is not None and shopper.status == ShopperStatus.MERGED and shopper.merged_into_id not in seen:
        seen.add(shopper.pk)
        shopper = (
            Shopper.objects.select_related("merchant")
            .filter(merchant=shopper.merchant_id, pk=shopper.merged_into_id)
            .first()
        )
    return shopper


def contact_for_message(*, merchant: Merchant, shopper: Shopper, kind: str) -> ContactPoint | None:
    """The confirmed address or number a message may go to; None while the shopper has not confirmed one."""
    return (
        ContactPoint.objects.for_merchant(merchant)
        .filter(shopper=shopper, kind=kind, is_verified=True)
        .order_by("-verified_at", "-pk")
        .first()
    )


def shopper_contacts(*, merchant: Merchant, shopper: Shopper) -> list[ContactPoint]:
    return list(ContactPoint.objects.for_merchant(merchant).filter(shopper=shopper).order_by("kind", "pk"))
