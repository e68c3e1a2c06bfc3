"""Arithmetic of points: rates, rounding, expiry dates, money value. Integers and Decimals only."""

import zoneinfo
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from loyalty.models import ExpiryPolicy, Program, Rounding

_ROUNDING = {Rounding.DOWN: ROUND_FLOOR, Rounding.NEAREST: ROUND_HALF_UP, Rounding.UP: ROUND_CEILING}


def rounded(value: Decimal, rounding: str) -> int:
    return int(value.to_integral_value(rounding=_ROUNDING[Rounding(rounding)]))


def base_points(program: Program, amount_minor: int, multiplier: Decimal = Decimal(1)) -> Decimal:
    """Unrounded points the base rate gives for this spend (times a multiplier)."""
    return Decimal(amount_minor) * program.points_per_unit * multiplier / program.unit_minor


def proportion(points: int, part: int, whole: int) -> int:
    """Points kept when only `part` of `whole` remains (a refund); rounded down, never above `points`."""
    if whole <= 0 or part <= 0:
        return 0
    return min(points, points * part // whole)


def points_value_minor(program: Program, points: int) -> int:
    """What points are worth in minor units of the merchant's currency."""
    return rounded(Decimal(points) * program.point_value_minor, Rounding.NEAREST)


def expiry_for(program: Program, earned_at: datetime) -> datetime | None:
    """When points earned at `earned_at` lapse, under the program's policy (None: not by date)."""
    if program.expiry_policy == ExpiryPolicy.DAYS_AFTER_EARNING and program.expiry_days:
        return earned_at + timedelta(days=program.expiry_days)
    if program.expiry_policy == ExpiryPolicy.END_OF_YEAR:
        zone = zoneinfo.ZoneInfo(program.merchant.timezone)
        local = earned_at.astimezone(zone)
        return datetime(local.year + 1, 1, 1, tzinfo=zone)
    return None
