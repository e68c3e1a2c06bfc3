"""Shoppers with contacts, preferences, consents (with their proof) and card tokens.

Checked in SQL like every import; applied row by row through profiles' own services (matching,
contacts, the consent ledger, card linking), each row in a savepoint of the chunk's transaction.
A shopper is found again by the other system's customer id, else by an email or phone it already
has, so importing the same file twice adds nothing.
"""

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from imports.models import ConsentProof, ImportJob, ImportKind, ImportRowError, ShopperKey, StagedRow
from imports.services.sql import EMAIL_RE, STAGED, check_params, errors_insert, is_timestamp, staged_cells
from imports.services.sql import value as _value
from profiles.models import (
    CardScheme,
    ConsentChannel,
    ConsentEvent,
    ConsentPurpose,
    ConsentSource,
    ContactKind,
    ContactPoint,
    JoinedVia,
    Shopper,
    ShopperStatus,
)
from profiles.services.shoppers import (
    CardInput,
    ConsentInput,
    ConsentOrigin,
    ContactInput,
    ShopperInput,
    card_enroll,
    consent_record,
    contact_add,
    normalize_email,
    preferences_add,
    shopper_create_or_match,
)

KIND = ImportKind.SHOPPERS
GRANTED_WORDS = ("yes", "y", "true", "1", "subscribed", "opted_in", "opted in", "granted", "accepted")
# Square's "Unknown" subscription status: nothing was decided, so nothing is recorded.
NEUTRAL_WORDS = ("unknown", "")
WITHDRAWN_WORDS = ("no", "n", "false", "0", "unsubscribed", "opted_out", "opted out", "withdrawn", "not subscribed")
# Staged phones are E.164 when the phonenumbers library could read them (files.phone_e164); others are as written.
E164_RE = r"^\+[0-9]{6,15}$"


def v(name: str, row: str = "r") -> str:
    return _value(KIND, name, row)


def _words(words: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{word}'" for word in words) + ")"


def _checks() -> str:
    consent_words = _words(GRANTED_WORDS + WITHDRAWN_WORDS + NEUTRAL_WORDS[:1])
    languages = _words(tuple(code for code, _name in settings.LANGUAGES))
    parts = [
        f"SELECT r.line, 'customer_id' AS field, 'identity_required' AS code, %(m_identity)s AS message FROM r "
        f"WHERE {v('customer_id')} IS NULL AND {v('email')} IS NULL AND {v('phone')} IS NULL",
        f"SELECT r.line, 'email', 'invalid_email', %(m_email)s FROM r WHERE {v('email')} !~ '{EMAIL_RE}'",
        f"SELECT r.line, 'phone', 'invalid_phone', %(m_phone)s FROM r WHERE {v('phone')} !~ '{E164_RE}'",
        f"SELECT r.line, 'birthday', 'invalid_date', %(m_date)s FROM r "
        f"WHERE {v('birthday')} IS NOT NULL AND NOT {is_timestamp(v('birthday'))}",
        f"SELECT r.line, 'consent_date', 'invalid_date', %(m_date)s FROM r "
        f"WHERE {v('consent_date')} IS NOT NULL AND NOT {is_timestamp(v('consent_date'))}",
        *(
            f"SELECT r.line, '{name}', 'invalid_consent', %(m_consent)s FROM r "
            f"WHERE lower({v(name)}) NOT IN {consent_words}"
            for name in ("email_marketing", "sms_marketing")
        ),
        f"SELECT r.line, 'language', 'invalid_language', %(m_language)s FROM r WHERE lower({v('language')}) NOT IN {languages}",
        f"SELECT r.line, 'card_last_four', 'last_four_required', %(m_last_four)s FROM r "
        f"WHERE {v('card_token')} IS NOT NULL AND coalesce({v('card_last_four')}, '') !~ '^[0-9]{{4}}$'",
        f"SELECT r.line, 'card_token', 'token_required', %(m_token)s FROM r "
        f"WHERE {v('card_token')} IS NULL AND {v('card_last_four')} IS NOT NULL",
        f"SELECT r.line, 'customer_id', 'duplicate_in_file', %(m_duplicate)s || d.first FROM r "
        f"JOIN (SELECT {v('customer_id')} AS id, min(r.line) AS first FROM r GROUP BY 1) d "
        f"ON d.id = {v('customer_id')} AND d.first <> r.line",
    ]
    return " UNION ALL ".join(parts)


def shoppers_check(*, job: ImportJob) -> int:
    sql = f"WITH r AS (SELECT * FROM {STAGED} WHERE job_id = %(job)s) " + errors_insert(_checks())
    params = {
        **check_params(job_id=job.pk, merchant_id=job.merchant_id, mapping=job.mapping),
        "m_identity": _("Give a customer id, an email or a phone number."),
        "m_email": _("This is not an email address."),
        "m_phone": _(
            "This phone number cannot be read: write it with its country code (+82 10 1234 5678), "
            "or choose the country of numbers written without one."
        ),
        "m_date": _("Write the date as 2024-03-31 (a time may follow)."),
        "m_consent": _("Write yes or no (subscribed or unsubscribed)."),
        "m_language": _("Use one of the languages Storeloop speaks: en, ko, zh-hant, ar."),
        "m_last_four": _("Give the card's last four digits with its token."),
        "m_token": _("Give the card's token from your payment provider (never the card number)."),
        "m_duplicate": _("This customer id appears earlier in the file, row "),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def shopper_lookup(*, merchant_id: int, system: str, customer_id: str, email: str, phone: str) -> Shopper | None:
    """The profile another system's id, or an email or phone it holds, already names (after merges)."""
    shopper = None
    if customer_id:
        key = (
            ShopperKey.objects.filter(merchant=merchant_id, system=system, external_id=customer_id)
            .select_related("shopper")
            .first()
        )
        shopper = key.shopper if key is not None else None
    for kind, contact_value in ((ContactKind.EMAIL, email), (ContactKind.PHONE, phone)):
        if shopper is None and contact_value:
            contact = (
                ContactPoint.objects.filter(merchant=merchant_id, kind=kind, value=contact_value)
                .select_related("shopper")
                .order_by("-is_verified", "id")
                .first()
            )
            shopper = contact.shopper if contact is not None else None
    seen: set[int] = set()
    while shopper is not None and shopper.status == ShopperStatus.MERGED and shopper.merged_into_id not in seen:
        seen.add(shopper.pk)
        shopper = Shopper.objects.filter(merchant=merchant_id, pk=shopper.merged_into_id).first()
    return shopper


def _moment(text: str, job: ImportJob) -> datetime:
    parsed = parse_datetime(text.replace(" UTC", "+00:00")) if text else None
    if parsed is None and text:
        parsed = parse_datetime(f"{text[:10]}T00:00:00")
    if parsed is None:
        return job.created_at
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(job.merchant.timezone))
    return parsed


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _one_row(job: ImportJob, system: str, row: StagedRow) -> bool:
    """Apply one staged row; True if it made a new profile."""
    cells = staged_cells(row, KIND)
    email = normalize_email(cells["email"]) if cells["email"] else ""
    phone = cells["phone"]  # staged in E.164 (files.phone_e164), or refused by the check
    contacts = [
        ContactInput(kind=kind, value=contact_value)
        for kind, contact_value in ((ContactKind.EMAIL, email), (ContactKind.PHONE, phone))
        if contact_value
    ]
    shopper = shopper_lookup(
        merchant_id=job.merchant_id, system=system, customer_id=cells["customer_id"], email=email, phone=phone
    )
    created = shopper is None
    origin = ConsentOrigin(source=ConsentSource.IMPORT, reference=f"import {job.public_id}")
    if shopper is None:
        birthday = _moment(cells["birthday"], job).date() if cells["birthday"] else None
        shopper = shopper_create_or_match(
            merchant=job.merchant,
            data=ShopperInput(
                first_name=cells["first_name"][:100],
                last_name=cells["last_name"][:100],
                birthday=birthday if isinstance(birthday, date) else None,
                language=cells["language"].lower(),
                joined_via=JoinedVia.IMPORT,
                contacts=contacts,
            ),
            origin=origin,
        ).shopper
    else:
        for contact in contacts:
            contact_add(shopper=shopper, contact=contact)
    if cells["customer_id"]:
        ShopperKey.objects.get_or_create(
            merchant_id=job.merchant_id,
            system=system,
            external_id=cells["customer_id"][:100],
            defaults={"shopper": shopper, "job": job},
        )
    preferences: dict[str, Sequence[str]] = {
        name: _list(cells[name]) for name in ("sizes", "brands", "favourite_categories") if cells[name]
    }
    if preferences:
        preferences_add(shopper=shopper, preferences=preferences)
    _consents(job, shopper, cells, origin, row.line)
    if cells["card_token"]:
        scheme = cells["card_scheme"].lower()
        card_enroll(
            merchant=job.merchant,
            shopper=shopper,
            card=CardInput(
                token=cells["card_token"],
                last_four=cells["card_last_four"],
                scheme=scheme if scheme in CardScheme.values else CardScheme.OTHER,
            ),
            linked_via=JoinedVia.IMPORT,
        )
    return created


def _consents(job: ImportJob, shopper: Shopper, cells: dict[str, str], origin: ConsentOrigin, line: int) -> None:
    """The file's consent decisions, with their original date and wording; one already current adds nothing."""
    occurred_at = _moment(cells["consent_date"], job)
    for name, channel in (("email_marketing", ConsentChannel.EMAIL), ("sms_marketing", ConsentChannel.SMS)):
        answer = cells[name].lower()
        if answer in NEUTRAL_WORDS:
            continue
        is_granted = answer in GRANTED_WORDS
        latest = (
            ConsentEvent.objects.filter(shopper=shopper, channel=channel, purpose=ConsentPurpose.MARKETING)
            .order_by("-occurred_at", "-id")
            .first()
        )
        if latest is not None and latest.is_granted == is_granted:
            continue
        wording = cells["consent_wording"]
        (event,) = consent_record(
            shopper=shopper,
            consents=[
                ConsentInput(
                    channel=channel,
                    purpose=ConsentPurpose.MARKETING,
                    is_granted=is_granted,
                    # The wording itself, and where it was shown, are in the proof (ConsentProof).
                    wording_version="imported",
                )
            ],
            origin=origin,
            occurred_at=occurred_at,
        )
        ConsentProof.objects.create(
            merchant_id=job.merchant_id,
            consent_event=event,
            job=job,
            file_name=job.file_name,
            imported_by=job.created_by,
            original_source=cells["consent_source"][:200],
            wording=wording,
            line=line,
        )


def shoppers_apply(*, job: ImportJob, start: int, stop: int, system: str) -> tuple[int, list[int]]:
    """Apply the rows in [start, stop), each in a savepoint; a row refused now is reported as a row error."""
    made = 0
    rows = StagedRow.objects.filter(
        merchant=job.merchant_id, job=job, group_line__gte=start, group_line__lt=stop
    ).order_by("line")
    for row in rows:
        try:
            with transaction.atomic():
                made += _one_row(job, system, row)
        except ApplicationError as error:
            field = next(iter(error.fields), "row")
            ImportRowError.objects.create(
                merchant_id=job.merchant_id,
                job=job,
                line=row.line,
                column=job.mapping.get(field, field),
                code=error.code,
                message=error.message[:300],
            )
            ImportJob.objects.filter(merchant=job.merchant_id, pk=job.pk).update(error_count=F("error_count") + 1)
    return made, []
