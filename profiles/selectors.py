"""Reads on shopper profiles for the staff pages.

Every function takes the merchant; another tenant's object is a 404.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from merchants.models import Merchant, Store
from profiles.consent_wording import CONSENT_QUESTIONS
from profiles.models import (
    Card,
    ConsentEvent,
    ContactKind,
    ContactPoint,
    JoinedVia,
    LineItem,
    MergeEvent,
    Purchase,
    Shopper,
    ShopperPreferences,
    ShopperRollup,
    ShopperStatus,
    SignupHold,
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
    # Signups that reached it through a contact they had not proven: waiting, applied or expired.
    signup_holds: list[SignupHold]

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


def consents_current_by_shopper(*, merchant: Merchant, shopper_ids: Sequence[int]) -> dict[int, list[ConsentEvent]]:
    """consents_current for many shoppers in one query (the consent_current index, one range per shopper)."""
    current: dict[int, list[ConsentEvent]] = {}
    events = (
        ConsentEvent.objects.for_merchant(merchant)
        .filter(shopper_id__in=shopper_ids)
        .order_by("shopper_id", "channel", "purpose", "-occurred_at", "-pk")
        .distinct("shopper_id", "channel", "purpose")
    )
    for event in events:
        current.setdefault(event.shopper_id, []).append(event)
    return current


def preferences_by_shopper(*, merchant: Merchant, shopper_ids: Sequence[int]) -> dict[int, ShopperPreferences]:
    rows = ShopperPreferences.objects.for_merchant(merchant).filter(shopper_id__in=shopper_ids)
    return {row.shopper_id: row for row in rows}


def shopper_api_list(*, merchant: Merchant, limit: int, offset: int = 0) -> list[Shopper]:
    """A page of the merchant's shoppers for the API, newest first, with contacts and cards (three queries)."""
    return list(
        Shopper.objects.for_merchant(merchant)
        .exclude(status=ShopperStatus.MERGED)
        .prefetch_related(Prefetch("contacts", queryset=ContactPoint.objects.order_by("kind", "id")), "cards")
        .order_by("-created_at", "-pk")[offset : offset + limit]
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
        signup_holds=signup_holds_of(merchant=merchant, shopper=shopper),
    )


# Duplicates


# Why two profiles look like one person, and how much each reason weighs. Email, phone and card identify a
# person alone; a similar name counts only beside another reason (two John Smiths are two people), and the
# weak reasons (the same email name at another provider, the same last seven digits of a phone number, the
# same birthday) are looked for only between profiles whose names are similar.
REASON_WEIGHTS = {
    "card": 0.95,
    "email": 0.9,
    "phone": 0.9,
    "name": 0.6,  # times the names' similarity
    "email_name": 0.3,
    "phone_tail": 0.3,
    "birthday": 0.3,
}
REASONS = tuple(REASON_WEIGHTS)
# pg_trgm similarity of two folded names (profiles.identity_keys.name_key) from which they count as similar.
NAME_SIMILARITY_MIN = 0.5


@dataclass(frozen=True)
class DuplicateReason:
    code: str  # among REASONS
    weight: float
    similarity: float | None = None  # for "name"


@dataclass(frozen=True)
class DuplicatePair:
    first: Shopper
    second: Shopper
    # Why they look alike, strongest first.
    reasons: list[DuplicateReason]
    # 1 − ∏(1 − weight) over the reasons: how sure, from 0 to 1.
    score: float

    @property
    def reason_codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]


def _duplicates_sql() -> str:
    shopper, contact, card = Shopper._meta.db_table, ContactPoint._meta.db_table, Card._meta.db_table
    return f"""
    WITH active AS (
        SELECT id, name_key, birthday FROM {shopper} WHERE merchant_id = %(merchant)s AND status = 'active'
    ), contact AS (
        SELECT c.shopper_id, c.kind, c.match_key
          FROM {contact} c JOIN active a ON a.id = c.shopper_id
         WHERE c.merchant_id = %(merchant)s
    ), named AS (
        -- Similar names, through the trigram index: the %% operator (at pg_trgm's default threshold, 0.3,
        -- below ours) narrows the pairs down, similarity() keeps those at NAME_SIMILARITY_MIN or more.
        SELECT * FROM (
            SELECT a.id AS first, b.id AS second, similarity(a.name_key, b.name_key) AS similarity
              FROM active a JOIN active b ON b.name_key %% a.name_key AND b.id > a.id
             WHERE a.name_key <> '' AND b.name_key <> ''
        ) alike WHERE similarity >= %(name_similarity)s
    ), evidence AS (
        SELECT LEAST(x.shopper_id, y.shopper_id) AS first, GREATEST(x.shopper_id, y.shopper_id) AS second,
               x.kind AS reason
          FROM contact x JOIN contact y
            ON y.kind = x.kind AND y.match_key = x.match_key AND y.shopper_id > x.shopper_id
        UNION ALL
        SELECT LEAST(x.shopper_id, y.shopper_id), GREATEST(x.shopper_id, y.shopper_id), 'card'
          FROM {card} x JOIN {card} y
            ON y.merchant_id = x.merchant_id AND y.fingerprint = x.fingerprint AND y.shopper_id > x.shopper_id
          JOIN active a ON a.id = x.shopper_id JOIN active b ON b.id = y.shopper_id
         WHERE x.merchant_id = %(merchant)s
        UNION ALL
        SELECT n.first, n.second, 'birthday'
          FROM named n JOIN active a ON a.id = n.first JOIN active b ON b.id = n.second
         WHERE a.birthday = b.birthday
        UNION ALL
        SELECT n.first, n.second, 'email_name' FROM named n
         WHERE EXISTS (SELECT 1 FROM contact x JOIN contact y
                           ON split_part(split_part(y.match_key, '@', 1), '+', 1)
                            = split_part(split_part(x.match_key, '@', 1), '+', 1)
                          AND y.match_key <> x.match_key
                        WHERE x.shopper_id = n.first AND y.shopper_id = n.second
                          AND x.kind = 'email' AND y.kind = 'email')
        UNION ALL
        SELECT n.first, n.second, 'phone_tail' FROM named n
         WHERE EXISTS (SELECT 1 FROM contact x JOIN contact y
                           ON right(y.match_key, 7) = right(x.match_key, 7) AND y.match_key <> x.match_key
                        WHERE x.shopper_id = n.first AND y.shopper_id = n.second
                          AND x.kind = 'phone' AND y.kind = 'phone' AND length(x.match_key) > 7)
    ), pairs AS (
        SELECT first, second, array_agg(DISTINCT reason) AS reasons FROM evidence GROUP BY first, second
    )
    SELECT p.first, p.second, p.reasons, n.similarity
      FROM pairs p LEFT JOIN named n ON n.first = p.first AND n.second = p.second
     ORDER BY p.first, p.second
     LIMIT %(cap)s
    """  # noqa: S608 - table names from the models


def _duplicate_reasons(codes: list[str], similarity: float | None) -> tuple[list[DuplicateReason], float]:
    reasons = [DuplicateReason(code, REASON_WEIGHTS[code]) for code in codes]
    if similarity is not None:
        reasons.append(DuplicateReason("name", REASON_WEIGHTS["name"] * similarity, round(similarity, 2)))
    reasons.sort(key=lambda reason: (-reason.weight, REASONS.index(reason.code)))
    doubt = 1.0
    for reason in reasons:
        doubt *= 1 - reason.weight
    return reasons, round(1 - doubt, 2)


def duplicate_candidates(*, merchant: Merchant, limit: int = DUPLICATE_PAIR_LIMIT) -> list[DuplicatePair]:
    """Pairs of active shoppers who look like one person, each with its reasons and a score; surest first.

    One set-based query: contacts meet on their match keys and cards on their fingerprints through
    indexes; names meet through the trigram index, and only such pairs are checked for the weak reasons.
    Then the shoppers of all pairs are fetched with their contacts in two more.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _duplicates_sql(), {"merchant": merchant.pk, "name_similarity": NAME_SIMILARITY_MIN, "cap": limit * 5}
        )
        rows = cursor.fetchall()
    if not rows:
        return []
    scored = []
    for first_id, second_id, codes, similarity in rows:
        reasons, score = _duplicate_reasons(codes, similarity)
        scored.append((score, first_id, second_id, reasons))
    scored.sort(key=lambda row: (-row[0], row[1], row[2]))
    scored = scored[:limit]
    ids = {row[1] for row in scored} | {row[2] for row in scored}
    shoppers = {
        shopper.pk: shopper
        for shopper in shopper_search(merchant=merchant)
        .filter(pk__in=ids)
        .prefetch_related(Prefetch("contacts", queryset=ContactPoint.objects.order_by("kind", "pk")))
    }
    return [
        DuplicatePair(first=shoppers[first_id], second=shoppers[second_id], reasons=reasons, score=score)
        for score, first_id, second_id, reasons in scored
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
        "took_effect_at": _moment(event.took_effect_at),
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


def signup_hold_awaiting(*, contact: ContactPoint, hold_id: int | None) -> SignupHold | None:
    """The held signup a confirmation link would apply: open, and proved by this contact (the link decides)."""
    if hold_id is None:
        return None
    return SignupHold.objects.filter(
        merchant=contact.merchant_id,
        pk=hold_id,
        applied_at__isnull=True,
        expires_at__gt=timezone.now(),
        proof_contact_ids__contains=[contact.pk],
    ).first()


def signup_hold_consent_wordings(*, hold: SignupHold, merchant_name: str) -> list[str]:
    """The sentences the held signup's consents were given to, in the active language."""
    questions = {(question.channel, question.purpose): question for question in CONSENT_QUESTIONS}
    wordings = []
    for consent in hold.request.get("consents", []):
        question = questions.get((consent["channel"], consent["purpose"]))
        if question is not None:
            wordings.append(str(question.wording) % {"merchant": merchant_name})
    return wordings


def signup_holds_of(*, merchant: Merchant, shopper: Shopper, limit: int = 20) -> list[SignupHold]:
    """Signups that reached the profile through a contact they had not proven, newest first."""
    return list(
        SignupHold.objects.for_merchant(merchant).filter(shopper=shopper).order_by("-requested_at", "-pk")[:limit]
    )


# The home page


@dataclass(frozen=True)
class SalesFigures:
    sales_minor: int  # net of refunds
    purchases: int  # not fully refunded
    shoppers: int  # distinct identified shoppers among those purchases


def sales_by_window(*, merchant: Merchant, windows: dict[str, tuple[datetime, datetime]]) -> dict[str, SalesFigures]:
    """Sales, purchases and shoppers in each [start, end) window, straight from the purchases, in one query.

    One pass over the purchases between the earliest start and the latest end (the (merchant, occurred_at)
    index; the home page's windows span two weeks at most), grouped by shopper once, so the distinct shoppers
    of every window come from one hash aggregate rather than a sort per window.
    """
    if not windows:
        return {}
    keys = list(windows)
    per_shopper = ", ".join(
        f"SUM(net) FILTER (WHERE occurred_at >= %(start_{index})s AND occurred_at < %(end_{index})s) AS sales_{index},"
        f" COUNT(*) FILTER (WHERE counts AND occurred_at >= %(start_{index})s AND occurred_at < %(end_{index})s)"
        f" AS purchases_{index}"
        for index in range(len(keys))
    )
    totals = ", ".join(
        f"COALESCE(SUM(sales_{index}), 0), COALESCE(SUM(purchases_{index}), 0),"
        f" COUNT(*) FILTER (WHERE shopper_id IS NOT NULL AND purchases_{index} > 0)"
        for index in range(len(keys))
    )
    sql = f"""
        SELECT {totals} FROM (
            SELECT shopper_id, {per_shopper}
              FROM (SELECT shopper_id, occurred_at, amount_minor - refunded_minor AS net,
                           refunded_minor < amount_minor AS counts
                      FROM {Purchase._meta.db_table}
                     WHERE merchant_id = %(merchant)s AND occurred_at >= %(first)s AND occurred_at < %(last)s) p
             GROUP BY shopper_id
        ) per_shopper
    """  # noqa: S608 - the table name from the model; values are bound
    parameters: dict[str, Any] = {
        "merchant": merchant.pk,
        "first": min(start for start, _end in windows.values()),
        "last": max(end for _start, end in windows.values()),
    }
    for index, key in enumerate(keys):
        parameters[f"start_{index}"], parameters[f"end_{index}"] = windows[key]
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        row = cursor.fetchone()
    return {
        key: SalesFigures(
            sales_minor=int(row[3 * index]), purchases=int(row[3 * index + 1]), shoppers=int(row[3 * index + 2])
        )
        for index, key in enumerate(keys)
    }


def signups_by_window(
    *, merchant: Merchant, windows: dict[str, tuple[datetime, datetime]]
) -> dict[str, dict[str, int]]:
    """New shoppers in each [start, end) window by how they joined (kiosk, Wi-Fi, checkout, …), one query.

    Every profile created in the window counts, including those since merged into another or erased:
    each was a sign-up when it happened.
    """
    if not windows:
        return {}
    counts = {
        key: Count("pk", filter=Q(created_at__gte=start, created_at__lt=end)) for key, (start, end) in windows.items()
    }
    rows = (
        Shopper.objects.for_merchant(merchant)
        .filter(
            created_at__gte=min(start for start, _end in windows.values()),
            created_at__lt=max(end for _start, end in windows.values()),
        )
        .values("joined_via")
        .annotate(**counts)
        .order_by()
    )
    by_source = {row["joined_via"]: row for row in rows}
    return {key: {via: by_source[via][key] if via in by_source else 0 for via in JoinedVia.values} for key in windows}
