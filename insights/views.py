"""Insight pages: parse the filter, call one selector, render the page or (htmx) its fragment.

Every page answers `?format=csv` with the table that sits beside its chart. The pages read from
the read replica when one is configured (core.replicas); their permission checks do not.
"""

import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.csv_export import csv_download
from core.errors import ApplicationError
from core.replicas import reads_from_replica
from core.templatetags.money import minor_digits
from insights import selectors, services
from insights.forms import InsightFilterForm, InsightSettingsForm
from insights.periods import DEFAULT_PERIOD, PeriodChoice
from insights.selectors import WEEKDAYS
from merchants.decorators import merchant_permission_required
from merchants.http import MerchantRequest
from merchants.permissions import role_has_permission
from profiles import selectors as profile_selectors


def _csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    return csv_download(filename, itertools.chain([header], rows))


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def _filters(
    request: MerchantRequest, *, with_online: bool = True
) -> tuple[InsightFilterForm, PeriodChoice, selectors.Scope]:
    merchant = request.merchant
    params = request.GET.copy()
    params.setdefault("period", DEFAULT_PERIOD)
    form = InsightFilterForm(params, merchant=merchant, with_online=with_online)
    period, scope = form.values()
    return form, period, selectors.scope_for(merchant=merchant, value=scope)


TABS = [
    ("overview", "Overview"),
    ("lifecycle", "Lifecycle"),
    ("channels", "Across channels"),
    ("traffic", "Traffic and staffing"),
    ("reach", "Reaching shoppers"),
    ("stores", "Stores and regions"),
    ("products", "Products"),
    ("demand", "Demand"),
    ("network", "Mall network"),
]


def _chart(kind: str, labels: Sequence[Any], datasets: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """A Chart.js configuration; static/js/insights.js draws it."""
    return {
        "type": kind,
        "data": {"labels": [str(label) for label in labels], "datasets": datasets},
        "options": options,
    }


def _money_chart(
    kind: str, labels: Sequence[Any], label: str, values_minor: Sequence[int], currency: str, **options: Any
) -> dict[str, Any]:
    """A chart of amounts: the data in the currency's major unit, the axis and tooltips formatted by
    static/js/insights.js as people write money ("€1,800", "₩18,000"), never minor units."""
    digits = minor_digits(currency)
    data = [float(Decimal(int(value or 0)).scaleb(-digits)) for value in values_minor]
    chart = _chart(kind, labels, [{"label": label, "data": data}], **options)
    chart["money"] = {"currency": currency, "digits": digits, "axis": "x" if options.get("indexAxis") == "y" else "y"}
    return chart


def _page(request: MerchantRequest, name: str, context: dict[str, Any]) -> HttpResponseBase:
    """The whole page, or for htmx the fragment the page includes."""
    query = request.GET.copy()
    query.pop("format", None)
    context = {
        "tab": name,
        "tabs": TABS,
        "query": query.urlencode(),
        "refreshing": selectors.insights_refreshing(merchant=request.merchant),
        **context,
    }
    fragment = f"insights/_{name}.html"
    return render(request, fragment if request.htmx else f"insights/{name}.html", context)


@merchant_permission_required("insights.view")
@require_GET
def freshness(request: MerchantRequest) -> HttpResponseBase:
    """htmx: the pages' freshness note, polled while a refresh runs (or none has finished yet); once new
    figures are in, it offers them and stops asking."""
    merchant = request.merchant
    computed_at = selectors.snapshot_computed_at(merchant=merchant)
    shown = request.GET.get("shown", "")
    context = {
        "computed_at": computed_at,
        "refreshing": selectors.insights_refreshing(merchant=merchant),
        "has_newer": computed_at is not None and shown != str(int(computed_at.timestamp())),
        "page_url": request.htmx.current_url_abs_path if request.htmx else "",
    }
    return render(request, "insights/_freshness.html", context)


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def overview(request: MerchantRequest) -> HttpResponseBase:
    form, period, scope = _filters(request)
    data = selectors.overview_get(merchant=request.merchant, period_key=period, scope=scope)
    if _wants_csv(request):
        return _csv(
            "overview-daily",
            ["day", "purchases", "revenue_minor"],
            zip(data.days, data.daily_purchases, data.daily_total_minor, strict=True),
        )
    chart = _money_chart(
        "line", [day.isoformat() for day in data.days], "Revenue", data.daily_total_minor, request.merchant.currency
    )
    chart["data"]["datasets"][0].update({"tension": 0.2, "pointRadius": 0})
    # The table's rows zipped here: a year of rows looked up by index in the template was half the page's time.
    table = list(zip(data.days, data.daily_purchases, data.daily_total_minor, strict=True))
    return _page(request, "overview", {"form": form, "data": data, "charts": {"overview": chart}, "table": table})


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def lifecycle(request: MerchantRequest) -> HttpResponseBase:
    merchant = request.merchant
    data = selectors.lifecycle_get(merchant=merchant)
    if _wants_csv(request):
        return _csv(
            "lifecycle",
            ["stage", "shoppers", "spend_minor", "purchases", "online_spend_minor"],
            ((row.label, row.shoppers, row.total_minor, row.purchases, row.online_minor) for row in data.stages),
        )
    can_manage = role_has_permission(request.membership.role, "insights.manage")
    settings_form = InsightSettingsForm(instance=data.settings) if can_manage else None
    return _page(
        request, "lifecycle", {"data": data, "settings_form": settings_form, "charts": _lifecycle_charts(data)}
    )


def _lifecycle_charts(data: selectors.Lifecycle) -> dict[str, Any]:
    stages = _chart(
        "bar",
        [row.label for row in data.stages],
        [{"label": "Shoppers", "data": [row.shoppers for row in data.stages]}],
    )
    return {"stages": stages}


@merchant_permission_required("insights.manage")
@require_POST
def lifecycle_settings(request: MerchantRequest) -> HttpResponseBase:
    merchant = request.merchant
    # A model form writes its input onto its instance: the page's text must describe the stored thresholds.
    current = services.insight_settings_get(merchant=merchant)
    form = InsightSettingsForm(request.POST, instance=services.insight_settings_get(merchant=merchant))
    if form.is_valid():
        try:
            services.insight_settings_update(merchant=merchant, actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Thresholds saved. Stages are being recomputed; this page shows them shortly.")
            return redirect("insights:lifecycle")
    data = selectors.lifecycle_get(merchant=merchant)
    data = selectors.Lifecycle(**{**data.__dict__, "settings": current})
    response = _page(request, "lifecycle", {"data": data, "settings_form": form, "charts": _lifecycle_charts(data)})
    response.status_code = 400
    return response


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def channels(request: MerchantRequest) -> HttpResponseBase:
    data = selectors.channels_get(merchant=request.merchant)
    if _wants_csv(request):
        return _csv(
            "channel-conversion",
            ["month", "store_only_shoppers_at_start", "went_online"],
            ((month["month"], month["store_only"], month["converted"]) for month in data.conversion),
        )
    can_export = role_has_permission(request.membership.role, "shoppers.manage")
    conversion = _chart(
        "line",
        [month["month"][:7] for month in data.conversion],
        [
            {
                "label": "Store-only shoppers who first bought online (%)",
                "data": [round((month["rate"] or 0) * 100, 2) for month in data.conversion],
            }
        ],
    )
    return _page(request, "channels", {"data": data, "can_export": can_export, "charts": {"conversion": conversion}})


@merchant_permission_required("shoppers.manage")
@require_GET
@reads_from_replica
def store_only_regulars_csv(request: MerchantRequest) -> HttpResponseBase:
    """The whole audience of store-only regulars, for a campaign: every row, streamed."""
    merchant = request.merchant
    settings = services.insight_settings_get(merchant=merchant)
    shoppers = selectors.store_only_regulars(merchant=merchant, min_purchases=settings.regular_min_purchases)
    return _csv(
        "store-only-regulars",
        ["shopper_id", "name", "in_store_purchases", "spend_minor", "currency", "last_store", "last_purchase_at"],
        (
            (
                shopper.public_id,
                shopper.display_name,
                shopper.rollup.in_store_count,
                shopper.rollup.total_minor,
                merchant.currency,
                shopper.rollup.last_store.name if shopper.rollup.last_store else "",
                shopper.rollup.last_purchase_at.isoformat() if shopper.rollup.last_purchase_at else "",
            )
            for shopper in shoppers.iterator(chunk_size=2000)
        ),
    )


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def traffic(request: MerchantRequest) -> HttpResponseBase:
    form, period, scope = _filters(request, with_online=False)
    data = selectors.traffic_get(merchant=request.merchant, period_key=period, scope=scope)
    if _wants_csv(request):
        if request.GET.get("table") == "forecast":
            return _csv(
                "forecast",
                ["day", "hour", "expected_purchases"],
                (
                    (day.day, hour, round(value, 2))
                    for day in data.forecast_days
                    for hour, value in enumerate(day.hours)
                ),
            )
        return _csv(
            "traffic",
            ["weekday", "hour", "purchases", "visits"],
            ((WEEKDAYS[cell.weekday], cell.hour, cell.purchases, cell.visits) for cell in data.cells()),
        )
    forecast = _chart(
        "line",
        [f"{day.day:%a %d %b} {hour}h" for day in data.forecast_days for hour in range(24)],
        [{"label": "Expected purchases", "data": data.forecast_hours, "pointRadius": 0, "borderWidth": 1}],
    )
    context = {
        "form": form,
        "data": data,
        "heatmaps": [("Purchases", data.purchases), ("Visits", data.visits)],
        "hours": range(24),
        "charts": {"forecast": forecast},
    }
    return _page(request, "traffic", context)


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def reach(request: MerchantRequest) -> HttpResponseBase:
    data = selectors.reach_get(merchant=request.merchant)
    if _wants_csv(request):
        return _csv(
            "reach",
            ["group", "shoppers"],
            [
                ("email only", data.email_only),
                ("sms only", data.sms_only),
                ("email and sms", data.both),
                ("not reachable", data.neither),
            ],
        )
    reach_chart = _chart(
        "bar",
        ["Email and SMS", "Email only", "SMS only", "Neither"],
        [{"label": "Shoppers", "data": [data.both, data.email_only, data.sms_only, data.neither]}],
    )
    context = {
        "data": data,
        "email_share": data.share(data.email),
        "sms_share": data.share(data.sms),
        "reachable_share": data.share(data.reachable),
        "charts": {"reach": reach_chart},
    }
    return _page(request, "reach", context)


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def stores(request: MerchantRequest) -> HttpResponseBase:
    form, period, _scope = _filters(request)
    del form.fields["scope"]  # the page compares every store: only the period applies
    data = selectors.stores_get(merchant=request.merchant, period_key=period)
    if _wants_csv(request):
        return _csv(
            "stores",
            ["kind", "name", "purchases", "revenue_minor", "previous_revenue_minor", "shoppers", "new_shoppers"],
            (
                (
                    kind,
                    row.label,
                    row.purchases,
                    row.total_minor,
                    row.previous_total_minor,
                    row.shoppers,
                    row.new_shoppers,
                )
                for kind, rows in (("store", data.stores), ("region", data.regions))
                for row in rows
            ),
        )
    chart = _money_chart(
        "bar",
        [row.label for row in data.stores],
        "Revenue",
        [row.total_minor for row in data.stores],
        request.merchant.currency,
    )
    context = {
        "form": form,
        "data": data,
        "tables": [("Stores", data.stores), ("Regions", data.regions)],
        "charts": {"stores": chart},
    }
    return _page(request, "stores", context)


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def products(request: MerchantRequest) -> HttpResponseBase:
    form, period, scope = _filters(request)
    data = selectors.products_get(merchant=request.merchant, scope=scope, period_key=period)
    if _wants_csv(request):
        if request.GET.get("table") == "pairs":
            return _csv(
                "bought-together",
                ["category", "with", "baskets", "support", "confidence", "lift"],
                (
                    (p["antecedent"], p["consequent"], p["baskets"], p["support"], p["confidence"], p["lift"])
                    for p in data.pairs
                ),
            )
        return _csv(
            "categories",
            ["category", "quantity", "revenue_minor", "baskets"],
            ((c["category"], c["quantity"], c["total_minor"], c["baskets"]) for c in data.categories),
        )
    chart = _money_chart(
        "bar",
        [row["category"] or "(none)" for row in data.categories[:15]],
        "Revenue",
        [row["total_minor"] for row in data.categories[:15]],
        request.merchant.currency,
        indexAxis="y",
        scales={"y": {"ticks": {"autoSkip": False}}},
    )
    return _page(request, "products", {"form": form, "data": data, "charts": {"categories": chart}})


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def demand(request: MerchantRequest) -> HttpResponseBase:
    form, _period, scope = _filters(request)
    for name in ("period", "date_from", "date_to"):  # always the next weeks, learned from the last year
        del form.fields[name]
    data = selectors.demand_get(merchant=request.merchant, scope=scope)
    if _wants_csv(request):
        return _csv(
            "demand-forecast",
            [
                "store",
                "category",
                "week_start",
                "units",
                f"units_low_{round(data.level * 100)}",
                f"units_high_{round(data.level * 100)}",
                "revenue_minor",
                f"revenue_low_{round(data.level * 100)}_minor",
                f"revenue_high_{round(data.level * 100)}_minor",
                "currency",
                "holidays",
                "promotion_days",
            ],
            (
                (
                    store.label,
                    row.category,
                    week.start.isoformat(),
                    round(week.units, 1),
                    week.low,
                    week.high,
                    week.revenue_minor,
                    week.revenue_low_minor,
                    week.revenue_high_minor,
                    request.merchant.currency,
                    "; ".join(week.holidays),
                    week.promotion_days,
                )
                for store in data.stores
                for row in store.categories
                for week in row.weeks
            ),
        )
    return _page(request, "demand", {"form": form, "data": data})


@merchant_permission_required("insights.view")
@require_GET
@reads_from_replica
def network(request: MerchantRequest) -> HttpResponseBase:
    views, computed_at = selectors.network_views_get(merchant=request.merchant)
    if _wants_csv(request):
        return _csv(
            "mall-network",
            ["network", "table", "merchant", "category", "shoppers", "spend_minor"],
            (
                (view.network, table, cell.merchant, cell.category, cell.shoppers, cell.total_minor)
                for view in views
                for table, cells in (("categories", view.categories), ("also_buy_at", view.elsewhere))
                for cell in cells
            ),
        )
    context = {"views": views, "computed_at": computed_at, "minimum": services.MIN_SHOPPERS_PER_CELL}
    return _page(request, "network", context)


# The shopper profile's insight panel (profiles loads it with htmx; see InsightsConfig)


@merchant_permission_required("shoppers.view")
@require_GET
@reads_from_replica
def shopper_panel(request: MerchantRequest, public_id: str) -> HttpResponseBase:
    merchant = request.merchant
    shopper = profile_selectors.shopper_get(merchant=merchant, public_id=public_id)
    insight = selectors.shopper_insight_for(merchant=merchant, shopper=shopper)
    return render(request, "insights/_shopper_panel.html", {"insight": insight})
