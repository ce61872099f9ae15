"""The ticket list's triage loop in a real browser (chromium via Playwright, as test_browser_e2e.py):
sorting, the total, a refused URL filter, keyboard navigation, previous/next on the detail page, row
density and the toolbar at 1440 px, in both themes. Screenshots go to SHOTS (build/screenshots)."""

from __future__ import annotations

import re

import pytest

from tests.support.server import create_client_key, start_server
from tests.test_browser_e2e import SHOTS, _api, _need_browser, browser, cli, login  # noqa: F401 - the browser fixture

ADMIN = ("admin", "admin-password-for-tests")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _need_browser()
    work = tmp_path_factory.mktemp("triage")
    server = start_server(f"sqlite+aiosqlite:///{work}/logger.db", work)
    try:
        cli(server.env, "demo", "--logs", "300")
        yield {"server": server, "acme": create_client_key(server.env, "acme")}
    finally:
        server.stop()


@pytest.fixture(params=["light", "dark"])
def page(browser, site, request):  # noqa: F811 - browser is the imported fixture
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme=request.param)
    page = context.new_page()
    page.scheme = request.param  # type: ignore[attr-defined]
    login(page, site["server"].url, *ADMIN)
    yield page
    context.close()


def seconds(cell: str) -> float:
    if cell.strip() == "—":
        return -1.0
    value, unit = cell.split()
    return float(value) / 1000 if unit == "ms" else float(value)


def column_texts(page, name: str) -> list[str]:
    return page.locator(f"tbody tr > td:nth-child({column_index(page, name)})").all_inner_texts()


def column_index(page, label: str) -> int:
    headers = [h.strip() for h in page.locator("thead th").all_inner_texts()]
    return headers.index(label) + 1


def test_sorting_by_execution_time_and_the_total(page, site):
    base = site["server"].url
    page.goto(f"{base}/logs")
    page.wait_for_selector("tbody tr", timeout=15000)
    label = page.get_by_text(re.compile(r"^1–50 of [\d,]+$")).inner_text()
    admin_key = __import__("json").loads(cli(site["server"].env, "key", "create", "--admin", "--json"))["key"]
    total = _api(site["server"], admin_key, "/api/v1/metrics/overview")["total"]
    assert label == f"1–50 of {total:,}"  # from the rollups, the overview's own count
    page.locator("[aria-label='Sort'], label:has-text('Sort')").first.click()
    page.get_by_role("option", name="Slowest first").click()
    page.wait_for_function("() => location.search.includes('sort=-execution_time')", timeout=10000)
    page.wait_for_timeout(500)
    times = [seconds(t) for t in column_texts(page, "Execution time")]
    assert len(times) == 50 and times == sorted(times, reverse=True)
    page.locator("button:has-text('Older')").click()
    page.wait_for_function("() => location.search.includes('cursor=')", timeout=10000)
    page.get_by_text(re.compile(r"^51–100 of ")).wait_for(timeout=10000)
    later = [seconds(t) for t in column_texts(page, "Execution time")]
    assert later and max(later) <= times[-1]  # the keyset continues the order
    page.reload()  # the cursor is in the URL: the same page again
    page.get_by_text(re.compile(r"^51–100 of ")).wait_for(timeout=10000)
    assert [seconds(t) for t in column_texts(page, "Execution time")] == later


def test_refused_url_filter_shows_a_banner(page, site):
    page.goto(f"{site['server'].url}/logs?stauts=ERROR")
    page.get_by_text("stauts (stauts): unknown parameter", exact=False).wait_for(timeout=15000)
    page.goto(f"{site['server'].url}/logs?status=EROR")
    page.get_by_text("must be one of SUCCESS, ERROR", exact=False).wait_for(timeout=15000)
    page.wait_for_selector("tbody tr", timeout=15000)
    page.screenshot(path=str(SHOTS / f"tickets-refused-{page.scheme}.png"))


def test_dense_rows_and_the_toolbar_fit_at_1440(page, site):
    page.goto(f"{site['server'].url}/logs")
    page.wait_for_selector("tbody tr", timeout=15000)
    height = page.evaluate("() => document.querySelector('.cl-tickets tbody').getBoundingClientRect().height")
    rows = page.locator("tbody tr").count()
    print(f"{rows} rows are {height:.0f} px tall")  # 50 rows were 2,778 px before #13
    assert rows == 50 and height < 50 * 40
    overflow = page.evaluate("""() => [...document.querySelectorAll('.q-page .row.no-wrap')].map(r => r.scrollWidth - r.clientWidth)""")
    assert overflow and max(overflow) <= 0, overflow
    wide = page.evaluate("() => { const m = document.querySelector('.cl-tickets .q-table__middle'); return m.scrollWidth - m.clientWidth; }")
    assert wide <= 0, f"the default columns need {wide} px more than 1440"
    assert page.title().startswith("Tickets")
    page.screenshot(path=str(SHOTS / f"tickets-triage-{page.scheme}.png"), full_page=True)


def test_keyboard_and_previous_next(page, site):
    page.goto(f"{site['server'].url}/logs?status=ERROR")
    page.wait_for_selector("tbody tr", timeout=15000)
    hrefs = page.locator("tbody td a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    page.locator("body").click(position={"x": 5, "y": 890})  # focus the page, not a field
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.wait_for_function("() => document.querySelectorAll('tbody tr.selected').length === 1", timeout=5000)
    page.keyboard.press("k")
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{hrefs[1]}", timeout=15000)
    page.get_by_text("Ticket ", exact=False).first.wait_for(timeout=15000)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(f"**{hrefs[2]}", timeout=15000)
    page.get_by_role("button", name="Previous").click()
    page.wait_for_url(f"**{hrefs[1]}", timeout=15000)
    page.get_by_role("link", name="Tickets").last.click()
    page.wait_for_url("**/logs?status=ERROR", timeout=15000)
    page.wait_for_selector("tbody tr", timeout=15000)
    page.keyboard.press("/")
    page.wait_for_function("() => document.activeElement && document.activeElement.type === 'search'", timeout=5000)
