"""Money as merchants read it, in three currencies (no decimals, two, three): tables, charts and forms."""

import re

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.staff_pages import signed_in_context, world_build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASES = [
    # currency, a purchase of 180,000 minor units, the reward's 500, the symbol, how any amount of it reads
    ("KRW", "₩180,000", "₩500", "₩", r"^₩\d{1,3}(,\d{3})*$"),
    ("EUR", "€1,800.00", "€5.00", "€", r"^€\d{1,3}(,\d{3})*\.\d{2}$"),
    ("BHD", "BHD\u00a0180.000", "BHD\u00a00.500", "BHD", r"^BHD\s\d{1,3}(,\d{3})*\.\d{3}$"),
]


@pytest.mark.parametrize("currency,purchase,reward,symbol,pattern", CASES, ids=[case[0] for case in CASES])
def test_pages_show_amounts_in_the_currencys_major_unit(
    live_server, browser, currency, purchase, reward, symbol, pattern
):
    # given a merchant keeping its books in that currency
    world = world_build(currency=currency)
    context = signed_in_context(browser, world, live_server.url, width=1366, height=900)
    page = context.new_page()

    # the shopper's purchases
    page.goto(f"{live_server.url}/shoppers/{world.arguments['public_id']}/")
    assert purchase in page.locator("#purchases").inner_text()

    # the loyalty program's rewards, and the tier form asks for an amount in the currency, not in minor units
    page.goto(f"{live_server.url}/loyalty/")
    assert reward in page.locator("main").inner_text()
    page.goto(f"{live_server.url}/loyalty/tiers/new/")
    assert page.get_by_label(f"Spend ({symbol})").is_visible()
    assert "minor unit" not in page.locator("main").inner_text()

    # the stores insight: its table, and its chart's axis and legend
    page.goto(f"{live_server.url}/insights/stores/")
    revenue = page.locator("#insight-body table tbody tr").first.locator("td").first.inner_text()
    assert re.match(pattern, revenue), revenue
    chart = page.locator("canvas[data-chart]").first
    ticks = chart.evaluate("canvas => Chart.getChart(canvas).scales.y.ticks.map((tick) => tick.label)")
    assert ticks and all(symbol in tick for tick in ticks)
    legend = chart.evaluate("canvas => Chart.getChart(canvas).data.datasets.map((set) => set.label)")
    assert legend == ["Revenue"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"money-stores-{currency}.png"), full_page=True)
    context.close()
