"""The home page's sales card and the insight snapshots' age (see merchants.home)."""

from datetime import timedelta

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from insights import selectors
from merchants.home import Attention, HomeCard, HomePeriods, change_percent
from merchants.models import Merchant, StaffMembership
from profiles import selectors as profile_selectors

# Snapshots refresh every 15 minutes once purchases change: older than this, the refresh is stuck.
SNAPSHOT_STALE_AFTER = timedelta(hours=6)


def sales_card(*, merchant: Merchant, membership: StaffMembership, periods: HomePeriods) -> HomeCard:
    """Today's and this week's sales, purchases and shoppers against the same stretch a week before."""
    windows = {}
    for period in periods.periods:
        windows[period.key] = (period.current.start, period.current.end)
        windows[f"{period.key}_before"] = (period.previous.start, period.previous.end)
    figures = profile_selectors.sales_by_window(merchant=merchant, windows=windows)
    overview = reverse("insights:overview")
    rows = []
    for label, attribute, is_money, url in (
        (_("Sales"), "sales_minor", True, overview),
        (_("Purchases"), "purchases", False, overview),
        (_("Shoppers"), "shoppers", False, reverse("insights:lifecycle")),
    ):
        cells = []
        for period in periods.periods:
            current = getattr(figures[period.key], attribute)
            before = getattr(figures[f"{period.key}_before"], attribute)
            cells.append({"current": current, "before": before, "change": change_percent(current, before)})
        rows.append({"key": attribute, "label": label, "is_money": is_money, "cells": cells, "url": url})
    return HomeCard(
        key="sales",
        title=_("Sales"),
        template="insights/_home_sales.html",
        context={"rows": rows, "periods": periods.periods, "currency": merchant.currency, "url": overview},
        order=10,
    )


def snapshot_card(*, merchant: Merchant, membership: StaffMembership, periods: HomePeriods) -> HomeCard | None:
    """Nothing to show while the shopper-level figures are fresh; a line under "Needs attention" otherwise."""
    computed_at = selectors.snapshot_computed_at(merchant=merchant)
    if computed_at is not None and periods.now - computed_at <= SNAPSHOT_STALE_AFTER:
        return None
    if computed_at is None:
        text = _("Shopper-level insights have not been computed yet")
    else:
        text = _("Shopper-level insights were last computed %(age)s ago") % {"age": _age(periods.now - computed_at)}
    return HomeCard(
        key="insight_snapshot",
        title=_("Insights"),
        template="",
        attention=(Attention(text=text, url=reverse("insights:overview")),),
    )


def _age(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    if hours < 48:
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    return ngettext("%(count)d day", "%(count)d days", hours // 24) % {"count": hours // 24}
