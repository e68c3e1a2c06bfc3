"""The program holdout (see campaigns.models.holdouts): its settings, the quarterly draw, and who is held out.

The draw is stratified: shoppers are grouped by home store and by band of spend over the 90 days before
(nothing, or the quartile among those who spent), put in a random order within each group, and the first
⌊size × share + u⌋ of a group are held out, u a random offset in [0, 1) per group. Each shopper is held out
with probability exactly the share (so the plain difference of means estimates the lift, whatever the
strata), and every store and spend band holds out its share give or take one shopper, so a small
merchant's holdout does not happen to miss its best customers or one store.
"""

import secrets
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import ProgramHoldoutDraw, ProgramHoldoutMember, ProgramHoldoutSettings
from core.errors import ApplicationError
from merchants.models import Merchant, User
from merchants.services import audit_event_record
from profiles.models import Purchase, Shopper, ShopperStatus

# The outbox reason of a marketing message skipped because its shopper is held out.
HELD_OUT_REASON = "program_holdout"
LOOKBACK_DAYS = 90
SPEND_BANDS = 4
MINIMUM_PERCENT, MAXIMUM_PERCENT = 1, 20

_DRAW_SQL = f"""
WITH spend AS (
    SELECT shopper_id, SUM(amount_minor - refunded_minor) AS spend
      FROM {Purchase._meta.db_table}
     WHERE merchant_id = %(merchant)s AND shopper_id IS NOT NULL
       AND occurred_at > %(lookback_at)s AND occurred_at <= %(at)s
     GROUP BY shopper_id
), base AS (
    SELECT shopper.id, shopper.home_store_id, COALESCE(spend.spend, 0) AS spend
      FROM {Shopper._meta.db_table} shopper
      LEFT JOIN spend ON spend.shopper_id = shopper.id
     WHERE shopper.merchant_id = %(merchant)s AND shopper.status = %(active)s AND shopper.created_at <= %(at)s
), banded AS (
    SELECT *, CASE WHEN spend > 0 THEN ntile({SPEND_BANDS}) OVER (PARTITION BY spend > 0 ORDER BY spend) ELSE 0 END
              AS band
      FROM base
), ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY home_store_id, band ORDER BY md5(%(seed)s || id::text)) AS position,
           COUNT(*) OVER (PARTITION BY home_store_id, band) AS size,
           ('x' || substr(md5(%(seed)s || COALESCE(home_store_id::text, '-') || '/' || band::text), 1, 8))::bit(32)
               ::bigint / 4294967296.0 AS offset_in_stratum
      FROM banded
), inserted AS (
    INSERT INTO {ProgramHoldoutMember._meta.db_table}
        (merchant_id, draw_id, shopper_id, is_held_out, store_id_at_draw, spend_band, spend_before_minor)
    SELECT %(merchant)s, %(draw)s, id, position <= floor(size * %(share)s + offset_in_stratum), home_store_id, band,
           spend
      FROM ranked
    ON CONFLICT (merchant_id, draw_id, shopper_id) DO NOTHING
    RETURNING is_held_out
)
SELECT COUNT(*), COUNT(*) FILTER (WHERE is_held_out) FROM inserted
"""  # noqa: S608 - table names from the models; values are bound


def quarter_of(day: date) -> tuple[date, date]:
    """(first day of the calendar quarter holding `day`, first day of the next one)."""
    start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    end = date(start.year + 1, 1, 1) if start.month == 10 else date(start.year, start.month + 3, 1)
    return start, end


def program_holdout_settings_get(*, merchant: Merchant) -> ProgramHoldoutSettings:
    found = ProgramHoldoutSettings.objects.for_merchant(merchant).first()
    return found or ProgramHoldoutSettings(merchant=merchant)


@transaction.atomic
def program_holdout_settings_save(
    *, merchant: Merchant, is_enabled: bool, percent: int, actor: User | None, now: datetime | None = None
) -> ProgramHoldoutSettings:
    """Turn the holdout on or off and set its share; turning it on draws this quarter's holdout at once if it has
    none. A new share holds from the next quarter's draw (a quarter's holdout is not redrawn halfway)."""
    if not MINIMUM_PERCENT <= percent <= MAXIMUM_PERCENT:
        raise ApplicationError(
            f"Hold out between {MINIMUM_PERCENT} and {MAXIMUM_PERCENT} % of shoppers.", field="percent"
        )
    settings, _created = ProgramHoldoutSettings.objects.select_for_update().get_or_create(merchant=merchant)
    before = (settings.is_enabled, settings.percent)
    settings.is_enabled, settings.percent = is_enabled, percent
    settings.save(update_fields=["is_enabled", "percent", "updated_at"])
    if before != (is_enabled, percent):
        audit_event_record(
            merchant=merchant,
            actor=actor,
            action="program_holdout.changed",
            subject="program holdout",
            is_enabled=is_enabled,
            percent=percent,
        )
    if is_enabled:
        program_holdout_draw(merchant=merchant, now=now)
    return settings


@transaction.atomic
def program_holdout_draw(*, merchant: Merchant, now: datetime | None = None) -> ProgramHoldoutDraw | None:
    """This quarter's draw, made now if the holdout is on and the quarter has none; None when it is off. Safe to
    run twice: the quarter's draw is unique, and the settings row is locked while it is made."""
    now = now or timezone.now()
    settings = ProgramHoldoutSettings.objects.select_for_update().filter(merchant=merchant).first()
    if settings is None or not settings.is_enabled:
        return None
    zone = ZoneInfo(merchant.timezone)
    quarter_start, quarter_end = quarter_of(now.astimezone(zone).date())
    existing = ProgramHoldoutDraw.objects.for_merchant(merchant).filter(quarter_start=quarter_start).first()
    if existing is not None:
        return existing
    draw = ProgramHoldoutDraw.objects.create(
        merchant=merchant,
        quarter_start=quarter_start,
        quarter_end=quarter_end,
        # Drawn after the quarter began (turned on halfway): measured from the draw, which nothing before it saw.
        starts_at=now,
        ends_at=datetime.combine(quarter_end, time(0), tzinfo=zone),
        percent=settings.percent,
        drawn_at=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _DRAW_SQL,
            {
                "merchant": merchant.pk,
                "draw": draw.pk,
                "at": now,
                "lookback_at": now - timedelta(days=LOOKBACK_DAYS),
                "active": ShopperStatus.ACTIVE,
                "seed": secrets.token_hex(16),
                "share": settings.percent / 100,
            },
        )
        shoppers, held_out = cursor.fetchone()
    draw.shoppers, draw.held_out = shoppers, held_out
    draw.save(update_fields=["shoppers", "held_out"])
    return draw


def held_out_shopper_ids(*, merchant_id: int, shopper_ids: Iterable[int], at: datetime) -> set[int]:
    """Which of these shoppers are in the program holdout at `at` (none while it is off): one query."""
    ids = list(shopper_ids)
    if not ids:
        return set()
    return set(
        ProgramHoldoutMember.objects.filter(
            merchant_id=merchant_id,
            shopper_id__in=ids,
            is_held_out=True,
            draw__starts_at__lte=at,
            draw__ends_at__gt=at,
            draw__merchant__program_holdout_settings__is_enabled=True,
        ).values_list("shopper_id", flat=True)
    )


def program_holdouts_draw_due(*, now: datetime | None = None) -> int:
    """Draw the quarter's holdout of every merchant that keeps one and has none yet (the daily task)."""
    now = now or timezone.now()
    drawn = 0
    merchant_ids = ProgramHoldoutSettings.all_merchants.filter(is_enabled=True).values_list("merchant_id", flat=True)
    for merchant in Merchant.objects.filter(pk__in=list(merchant_ids)).order_by("pk"):
        draw = program_holdout_draw(merchant=merchant, now=now)
        drawn += draw is not None and draw.drawn_at == now
    return drawn
