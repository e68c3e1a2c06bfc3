"""Loyalty balances and tiers brought over as opening ledger entries (reason "import").

A shopper must exist (import the shoppers first); a balance is opened once per account, so importing the
same file again adds nothing.
"""

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from imports.mappings import system_of
from imports.models import ImportJob, ImportKind, ImportRowError, ShopperKey, StagedRow
from imports.services.shoppers import shopper_lookup
from imports.services.sql import STAGED, check_params, errors_insert, staged_cells
from imports.services.sql import value as _value
from loyalty.models import Account, Bucket, LedgerEntry, Program, Reason, Tier
from loyalty.services.accounts import account_upsert, program_for
from loyalty.services.ledger import Entry, entries_post
from loyalty.services.rates import expiry_for
from profiles.models import ContactKind, ContactPoint, JoinedVia
from profiles.services.shoppers import normalize_email

KIND = ImportKind.LOYALTY
CONTACTS = ContactPoint._meta.db_table
KEYS = ShopperKey._meta.db_table
TIERS = Tier._meta.db_table
PROGRAMS = Program._meta.db_table


def v(name: str, row: str = "r") -> str:
    return _value(KIND, name, row)


def _checks() -> str:
    known = f"""(
        EXISTS (SELECT 1 FROM {KEYS} k WHERE k.merchant_id = %(merchant)s AND k.system = %(system)s
                   AND k.external_id = {v("customer_id")})
        OR EXISTS (SELECT 1 FROM {CONTACTS} c WHERE c.merchant_id = %(merchant)s AND c.kind = '{ContactKind.EMAIL}'
                   AND c.value = lower({v("email")}))
        OR EXISTS (SELECT 1 FROM {CONTACTS} c WHERE c.merchant_id = %(merchant)s AND c.kind = '{ContactKind.PHONE}'
                   AND c.value = regexp_replace({v("phone")}, '[^0-9+]', '', 'g')))"""
    parts = [
        f"SELECT r.line, 'points_balance' AS field, 'invalid_points' AS code, %(m_points)s AS message FROM r "
        f"WHERE coalesce({v('points_balance')}, '') !~ '^[0-9]{{1,12}}$'",
        f"SELECT r.line, 'customer_id', 'unknown_shopper', %(m_shopper)s FROM r WHERE NOT {known}",
        f"SELECT r.line, 'tier', 'unknown_tier', %(m_tier)s FROM r WHERE {v('tier')} IS NOT NULL AND NOT EXISTS ("
        f"SELECT 1 FROM {TIERS} t JOIN {PROGRAMS} p ON p.id = t.program_id "
        f"WHERE p.merchant_id = %(merchant)s AND p.is_active AND lower(t.name) = lower({v('tier')}))",
        f"SELECT min(r.line), 'points_balance', 'no_program', %(m_program)s FROM r WHERE NOT EXISTS ("
        f"SELECT 1 FROM {PROGRAMS} p WHERE p.merchant_id = %(merchant)s AND p.is_active) HAVING count(*) > 0",
    ]
    return " UNION ALL ".join(parts)


def balances_check(*, job: ImportJob) -> int:
    sql = f"WITH r AS (SELECT * FROM {STAGED} WHERE job_id = %(job)s) " + errors_insert(_checks())
    params = {
        **check_params(job_id=job.pk, merchant_id=job.merchant_id, mapping=job.mapping),
        "system": system_of(job.template),
        "m_points": _("Write the balance as a whole number of points."),
        "m_shopper": _("No shopper has this customer id, email or phone: import the shoppers first."),
        "m_tier": _("The loyalty program has no tier of this name."),
        "m_program": _("Set up a loyalty program before importing balances (Loyalty → Program)."),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def balances_apply(*, job: ImportJob, start: int, stop: int, system: str) -> tuple[int, list[int]]:
    """Open each row's balance (and tier) once; a row refused now is reported as a row error."""
    program = program_for(job.merchant)
    if program is None:
        raise ApplicationError("The loyalty program is paused or gone.", code="no_program")
    tiers = {tier.name.casefold(): tier for tier in Tier.objects.filter(merchant=job.merchant_id, program=program)}
    made = 0
    now = timezone.now()
    rows = StagedRow.objects.filter(
        merchant=job.merchant_id, job=job, group_line__gte=start, group_line__lt=stop
    ).order_by("line")
    for row in rows:
        cells = staged_cells(row, KIND)
        try:
            with transaction.atomic():
                shopper = shopper_lookup(
                    merchant_id=job.merchant_id,
                    system=system,
                    customer_id=cells["customer_id"],
                    email=normalize_email(cells["email"]) if cells["email"] else "",
                    phone=cells["phone"],  # staged in E.164
                )
                if shopper is None:
                    raise ApplicationError(
                        "No shopper found for this row.", code="unknown_shopper", field="customer_id"
                    )
                account = account_upsert(
                    program=program, shopper_id=shopper.pk, joined_via=JoinedVia.IMPORT, moment=now
                )
                if account is None:
                    raise ApplicationError("The loyalty program changed; import again.", code="program_changed")
                account_id, _tier_id = account
                if LedgerEntry.objects.filter(
                    merchant=job.merchant_id, account=account_id, reason=Reason.IMPORT
                ).exists():
                    continue
                points = int(cells["points_balance"])
                entries_post(
                    entries=[
                        Entry(
                            merchant_id=job.merchant_id,
                            account_id=account_id,
                            bucket=Bucket.AVAILABLE,
                            points=points,
                            reason=Reason.IMPORT,
                            actor_id=job.created_by_id,
                            note=f"Opening balance from {job.file_name}"[:300],
                            expires_at=expiry_for(program, now) if points else None,
                            created_at=now,
                        )
                    ]
                )
                tier = tiers.get(cells["tier"].casefold()) if cells["tier"] else None
                if tier is not None:
                    Account.objects.filter(merchant=job.merchant_id, pk=account_id).update(tier=tier, tier_since=now)
                made += 1
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
