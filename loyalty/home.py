"""The home page's points card (see merchants.home): points issued and redeemed today and this week."""

from django.urls import reverse
from django.utils.translation import gettext as _

from loyalty import selectors
from merchants.home import HomeCard, HomePeriods, change_percent
from merchants.models import Merchant, StaffMembership


def points_card(*, merchant: Merchant, membership: StaffMembership, periods: HomePeriods) -> HomeCard:
    windows = {}
    for period in periods.periods:
        windows[period.key] = (period.current.start, period.current.end)
        windows[f"{period.key}_before"] = (period.previous.start, period.previous.end)
    flows = selectors.points_by_window(merchant=merchant, windows=windows)
    rows = []
    for label, attribute, url in (
        (_("Issued"), "issued", reverse("loyalty:program_list")),
        (_("Redeemed"), "redeemed", reverse("loyalty:insights")),
    ):
        cells = []
        for period in periods.periods:
            current = getattr(flows[period.key], attribute)
            before = getattr(flows[f"{period.key}_before"], attribute)
            cells.append({"current": current, "before": before, "change": change_percent(current, before)})
        rows.append({"key": attribute, "label": label, "cells": cells, "url": url})
    return HomeCard(
        key="points",
        title=_("Loyalty points"),
        template="loyalty/_home_points.html",
        context={"rows": rows, "periods": periods.periods, "url": reverse("loyalty:program_list")},
        order=30,
    )
