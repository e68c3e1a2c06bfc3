"""The home page's sign-up card (see merchants.home): new shoppers today and this week, by how they joined."""

from django.urls import reverse
from django.utils.translation import gettext as _

from merchants.home import HomeCard, HomePeriods
from merchants.models import Merchant, StaffMembership
from profiles import selectors
from profiles.models import JoinedVia


def signups_card(*, merchant: Merchant, membership: StaffMembership, periods: HomePeriods) -> HomeCard:
    windows = {}
    for period in periods.periods:
        windows[period.key] = (period.current.start, period.current.end)
        windows[f"{period.key}_before"] = (period.previous.start, period.previous.end)
    counts = selectors.signups_by_window(merchant=merchant, windows=windows)
    # Every source that had a sign-up in either period (or the week before), in the order JoinedVia lists them.
    sources = [(via, label) for via, label in JoinedVia.choices if any(counts[key][via] for key in windows)]
    rows = [
        {
            "key": via,
            "label": label,
            "cells": [(counts[period.key][via], counts[f"{period.key}_before"][via]) for period in periods.periods],
        }
        for via, label in sources
    ]
    totals = [
        (sum(counts[period.key].values()), sum(counts[f"{period.key}_before"].values())) for period in periods.periods
    ]
    return HomeCard(
        key="signups",
        title=_("New sign-ups"),
        template="profiles/_home_signups.html",
        context={"rows": rows, "totals": totals, "url": reverse("profiles:shopper_list")},
        order=20,
    )
