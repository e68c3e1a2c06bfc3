"""Feedback results by store and period: NPS, count, average, latest comments."""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.db.models.functions import TruncWeek

from campaigns.measurement.selectors import FeedbackSummary, feedback_summarize, feedback_summarize_by
from campaigns.models import FeedbackResponse
from merchants.models import Merchant, Store
from profiles.models import Shopper

NO_STORE = "Online / no store"


@dataclass(frozen=True)
class FeedbackDashboard:
    start: date
    end: date
    store: Store | None
    overall: FeedbackSummary
    by_store: list[tuple[str, FeedbackSummary]]
    by_week: list[tuple[date, FeedbackSummary]]  # weeks starting Monday, in the merchant's timezone
    latest_comments: list[FeedbackResponse]


def _responses(*, merchant: Merchant, start: date, end: date) -> QuerySet[FeedbackResponse]:
    zone = zoneinfo.ZoneInfo(merchant.timezone)
    return FeedbackResponse.objects.for_merchant(merchant).filter(
        created_at__gte=datetime.combine(start, time.min, tzinfo=zone),
        created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def feedback_dashboard(*, merchant: Merchant, start: date, end: date, store: Store | None = None) -> FeedbackDashboard:
    responses = _responses(merchant=merchant, start=start, end=end)
    if store is not None:
        responses = responses.filter(store=store)
    names = dict(Store.objects.filter(merchant=merchant).values_list("pk", "name"))
    by_store = sorted(
        ((names.get(pk, NO_STORE), summary) for pk, summary in feedback_summarize_by(responses, "store_id")),
        key=lambda item: (item[0] == NO_STORE, item[0]),
    )
    weeks = responses.annotate(week=TruncWeek("created_at", tzinfo=zoneinfo.ZoneInfo(merchant.timezone)))
    by_week = sorted((week.date(), summary) for week, summary in feedback_summarize_by(weeks, "week"))
    latest = list(
        responses.exclude(comment="").select_related("shopper", "store", "campaign").order_by("-created_at")[:20]
    )
    return FeedbackDashboard(
        start=start,
        end=end,
        store=store,
        overall=feedback_summarize(responses),
        by_store=by_store,
        by_week=by_week,
        latest_comments=latest,
    )


def shopper_feedback(*, merchant: Merchant, shopper: Shopper) -> QuerySet[FeedbackResponse]:
    return (
        FeedbackResponse.objects.for_merchant(merchant)
        .filter(shopper=shopper)
        .select_related("campaign", "store")
        .order_by("-created_at")
    )
