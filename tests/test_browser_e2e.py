"""End to end in a real browser (Debian's chromium driven by Playwright) against the real server.

Locally these skip when no chromium is installed; CI sets LOGGER_REQUIRE_BROWSER=1 so they must run.
Screenshots of each page land in docs/screenshots/ (shown in the README)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.server import REPO, cli, create_client_key, start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Test runs write screenshots to an ignored folder; `make screenshots` points this at docs/screenshots
# to refresh the README's pictures (a test run must leave the checkout as it found it).
SHOTS = Path(os.environ.get("LOGGER_SCREENSHOTS_DIR") or REPO / "build" / "screenshots")
SHOTS.mkdir(parents=True, exist_ok=True)
XSS = {
    "ticket_id": "<script>alert('ticket')</script>",
    "status": "ERROR",
    "category": "<img src=x onerror=alert('cat')>",
    "metrics": {"confidence": 0.31, "iterations": 2, ":x": "alert('metric')"},
    "payload": {
        "react_iterations": [{"iteration": 1, "thought": "<img src=x onerror=alert('thought')>",
                              "action": {"tool": "javascript:alert('tool')", "input": {":onclick": "alert(1)"}},
                              "observation": "<script>alert('obs')</script>"}],
        "errors": [{"type": "XSS", "message": "<b onmouseover=alert('err')>hover</b>", "traceback": "javascript:alert(2)"}],
        "final_answer": "[click](javascript:alert('md'))",
        ":evil": "alert('key')",
    },
}

# The same attack through another adapter: an OpenAI Chat transcript whose tool call, arguments and
# results carry markup and ':'-prefixed keys.
XSS_CHAT = {
    "ticket_id": "XSS-CHAT", "status": "ERROR",
    "payload": {"messages": [
        {"role": "user", "content": "<img src=x onerror=alert('user')>"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "<script>alert('fn')</script>", "arguments": json.dumps({":onclick": "alert('args')", "q": "<b>x</b>"})}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "<script>alert('result')</script>"},
        {"role": "assistant", "content": "[done](javascript:alert('answer'))"},
    ]},
}


def _need_browser() -> None:
    if CHROMIUM is None:
        if os.environ.get("LOGGER_REQUIRE_BROWSER") == "1":
            pytest.fail("LOGGER_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
        pytest.skip("no chromium installed (apt-get install chromium); CI sets LOGGER_REQUIRE_BROWSER=1")


def _api(server, key: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"X-API-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _need_browser()
    work = tmp_path_factory.mktemp("e2e")
    server = start_server(f"sqlite+aiosqlite:///{work}/logger.db", work)
    try:
        cli(server.env, "demo", "--logs", "400")
        acme = create_client_key(server.env, "acme")
        globex = create_client_key(server.env, "globex")
        subprocess.run([sys.executable, "-m", "logger_app", "user", "create", "viewer", "--role", "client",
                        "--client", "acme", "--password-stdin"], cwd=REPO, env=server.env, input="viewer-password\n",
                       check=True, capture_output=True, text=True, timeout=60)
        xss_id = _api(server, acme, "/api/v1/logs", XSS)["id"]
        xss_chat_id = _api(server, acme, "/api/v1/logs", XSS_CHAT)["id"]
        foreign_id = _api(server, globex, "/api/v1/logs", {"ticket_id": "GLOBEX-SECRET", "status": "SUCCESS"})["id"]
        yield {"server": server, "acme": acme, "xss_id": xss_id, "xss_chat_id": xss_chat_id, "foreign_id": foreign_id}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert blocked == [], "the CSP blocked part of a page"


def login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=15000)


def test_admin_sees_overview_tickets_detail_and_exports(page, site):
    base = site["server"].url
    login(page, base, "admin", "admin-password-for-tests")
    page.wait_for_selector("text=Success rate", timeout=15000)
    page.wait_for_timeout(1500)  # let the charts draw before the screenshot
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)
    assert page.get_by_text("Recent errors").count() >= 1

    page.goto(f"{base}/logs")
    page.wait_for_selector("tbody tr", timeout=15000)
    rows = page.locator("tbody tr")
    assert rows.count() >= 10
    page.screenshot(path=str(SHOTS / "tickets.png"), full_page=True)

    page.goto(f"{base}/logs?status=ERROR")
    page.wait_for_selector("tbody tr", timeout=15000)
    statuses = page.locator("tbody tr").all_inner_texts()
    assert statuses and all("ERROR" in s for s in statuses)

    with page.expect_download() as download:
        page.get_by_role("button", name="Export", exact=True).click()
        page.get_by_text("Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    admin_key = json.loads(cli(site["server"].env, "key", "create", "--admin", "--json"))["key"]
    expected = _api(site["server"], admin_key, "/api/v1/metrics/overview?status=ERROR")["total"]
    assert len(exported) == expected  # every matching row, no cap

    page.goto(f"{base}/logs?client_id=initech&status=ERROR")  # a demo trace, with an error to show
    page.wait_for_selector("tbody tr", timeout=15000)
    page.locator("tbody tr").first.click()
    page.wait_for_url("**/logs/*", timeout=15000)
    page.wait_for_selector("text=Raw JSON", timeout=15000)
    page.screenshot(path=str(SHOTS / "detail.png"), full_page=True)


def test_xss_payload_is_shown_as_text_and_never_runs(page, site):
    base = site["server"].url
    login(page, base, "admin", "admin-password-for-tests")
    page.goto(f"{base}/logs/{site['xss_id']}")
    page.wait_for_selector("text=<script>alert('ticket')</script>", timeout=15000)
    page.get_by_text("<script>alert('obs')</script>").first.wait_for(timeout=15000)
    page.mouse.move(400, 400)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "detail-hostile-payload.png"), full_page=True)
    page.goto(f"{base}/logs/{site['xss_chat_id']}")
    page.get_by_text("<script>alert('result')</script>").first.wait_for(timeout=15000)
    page.wait_for_selector("text=read as: OpenAI Chat Completions messages", timeout=15000)
    page.goto(f"{base}/logs?client_id=acme")
    page.wait_for_selector("tbody tr", timeout=15000)
    page.goto(f"{base}/")
    page.wait_for_selector("text=Success rate", timeout=15000)
    page.wait_for_timeout(1500)
    assert page.dialogs == []


def test_client_user_sees_only_its_client(page, site):
    base = site["server"].url
    login(page, base, "viewer", "viewer-password")
    page.goto(f"{base}/logs")
    page.wait_for_selector("tbody tr", timeout=15000)
    assert "GLOBEX-SECRET" not in page.content()
    page.goto(f"{base}/logs/{site['foreign_id']}")
    page.wait_for_selector("text=Ticket not found", timeout=15000)
    assert "GLOBEX-SECRET" not in page.content()
    page.goto(f"{base}/admin/clients")
    page.wait_for_timeout(1000)
    assert "403" in page.content() or "not allowed" in page.content().lower()


def test_login_page_screenshot_and_wrong_password(page, site):
    base = site["server"].url
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("text=Invalid", timeout=15000)
    assert "/login" in page.url
    page.screenshot(path=str(SHOTS / "login.png"))


CONTRAST_JS = """(el) => {
  const rgb = (s) => s.match(/[0-9.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""

REACT_ERROR_LOG = {
    "ticket_id": "WATERFALL-1", "status": "ERROR", "category": "refund",
    "payload": {"input": "Where is my refund for order 1234?",
                "iterations": [{"thought": "I should look the order up.", "action": "get_order", "action_input": {"id": 1234},
                                "observation": "order 1234: refunded on Monday"},
                               {"thought": "Now the refund status.", "action": "refund_status", "action_input": {"id": 1234},
                                "error": {"type": "TimeoutError", "message": "refund service did not answer in 10 s"}},
                               {"thought": "Try again.", "action": "refund_status", "action_input": {"id": 1234},
                                "observation": "pending"}],
                "output": "Your refund for order 1234 is pending."},
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_detail_waterfall_error_is_readable_in_both_themes_and_deep_links_work(browser, site, scheme):
    log_id = _api(site["server"], site["acme"], "/api/v1/logs", REACT_ERROR_LOG)["id"]
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        login(page, site["server"].url, "admin", "admin-password-for-tests")
        page.goto(f"{site['server'].url}/logs/{log_id}#step-4")
        page.wait_for_selector("text=refund service did not answer in 10 s", timeout=15000)
        assert "WATERFALL-1" in page.title()
        page.wait_for_selector("text=read as: ReAct steps", timeout=15000)
        block = page.locator(".cl-error").first
        assert block.evaluate(CONTRAST_JS) >= 4.5, f"error text contrast too low in {scheme} mode"
        # The deep link lands on step 4 (the failed call), and ArrowDown moves to the next step.
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'step-4'", timeout=10000)
        top = page.evaluate("() => document.getElementById('step-4').getBoundingClientRect().top")
        assert 0 <= top < 900
        page.keyboard.press("ArrowDown")
        page.wait_for_function("() => location.hash === '#step-5'", timeout=5000)
        if scheme == "dark":
            page.screenshot(path=str(SHOTS / "detail-waterfall-dark.png"), full_page=True)
    finally:
        context.close()


def test_a_deep_link_past_the_rendered_rows_renders_up_to_that_step(page, site):
    """The waterfall renders 200 rows at first; a link to step 450 (e.g. from a chat message) still lands there."""
    steps = [{"thought": f"Look up part {i}.", "action": "lookup", "action_input": {"part": i}, "observation": f"part {i} ok"}
             for i in range(1, 501)]
    log_id = _api(site["server"], site["acme"], "/api/v1/logs",
                  {"ticket_id": "DEEP-450", "status": "SUCCESS", "payload": {"steps": steps}})["id"]
    login(page, site["server"].url, "admin", "admin-password-for-tests")
    page.goto(f"{site['server'].url}/logs/{log_id}#step-450")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'step-450'", timeout=15000)
    assert page.locator("#step-450").inner_text().startswith("#450")
    # And a link clicked later (the hash changes on an open page) works the same way.
    page.evaluate("() => { location.hash = '#step-500'; }")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'step-500'", timeout=15000)


FIXTURES = REPO / "tests" / "fixtures" / "traces"


@pytest.mark.parametrize("fixture", ["langchain_openai_functions", "anthropic_thinking_tools"])
def test_framework_logs_read_as_traces_in_the_browser(page, site, fixture):
    """Logs as LangChain and the Anthropic SDK write them (copied from their docs), posted through
    the API like any client would, read as traces; the screenshots are in the README."""
    from logger_app.services.traces import trace_of

    data = json.loads((FIXTURES / f"{fixture}.json").read_text())
    data.pop("_source", None)
    log_id = _api(site["server"], site["acme"], "/api/v1/logs",
                  {"ticket_id": f"SHAPE-{fixture}", "status": "SUCCESS", "payload": data})["id"]
    login(page, site["server"].url, "admin", "admin-password-for-tests")
    page.goto(f"{site['server'].url}/logs/{log_id}")
    page.wait_for_selector(f"text=read as: {trace_of(data).shape}", timeout=15000)
    page.wait_for_selector("#step-1", timeout=15000)
    page.screenshot(path=str(SHOTS / f"trace-{fixture}.png"), full_page=True)


def test_logout_from_the_menu_ends_the_session(page, site):
    base = site["server"].url
    login(page, base, "admin", "admin-password-for-tests")
    page.wait_for_selector("text=Success rate", timeout=15000)
    page.get_by_role("button", name="admin").click()
    page.get_by_role("button", name="Logout").click()
    page.wait_for_url("**/login", timeout=15000)
    page.goto(f"{base}/admin/clients")
    page.wait_for_url("**/login?next=*", timeout=15000)


def test_the_console_after_browser_sessions_shows_no_socket_ids(site):
    """Runs last: every page above opened a socket; none of their ids reached the server output."""
    console = site["server"].log_path.read_text(errors="replace")
    assert "client_id=" not in console and "tab_id=" not in console
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", console)
    assert "Traceback" not in console


def test_api_docs_render_with_no_request_leaving_the_host(page, site):
    """A self-hoster's machine may have no internet: /docs loads everything from the server."""
    off_host: list[str] = []

    def only_local(route):
        if route.request.url.startswith(site["server"].url) or route.request.url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            off_host.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(site["server"].url + "/docs")
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.locator("text=Store one workflow log").count() >= 1
    assert off_host == []


CHART_TEXT_JS = """() => {
  const rgb = (s) => s.match(/[0-9.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const out = {texts: 0, worstContrast: 99, clipped: [], collisions: []};
  for (const chart of document.querySelectorAll('.cl-chart')) {
    const svg = chart.querySelector('svg');
    if (!svg) continue;
    const box = svg.getBoundingClientRect();
    const bg = lum(rgb(getComputedStyle(chart.closest('.q-card')).backgroundColor));
    const texts = [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim());
    const rects = texts.map((t) => t.getBoundingClientRect());
    texts.forEach((t, i) => {
      out.texts++;
      const fg = lum(rgb(getComputedStyle(t).fill));
      out.worstContrast = Math.min(out.worstContrast, (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05));
      const r = rects[i];
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) out.clipped.push(t.textContent);
    });
    const legend = rects.map((r, i) => [r, i]).filter(([r]) => r.top < box.top + 26);
    rects.forEach((r, i) => legend.forEach(([l, j]) => {
      if (i !== j && r.top >= box.top + 26 && r.left < l.right && l.left < r.right && r.top < l.bottom && l.top < r.bottom)
        out.collisions.push(texts[i].textContent + ' / ' + texts[j].textContent);
    }));
  }
  return out;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_overview_charts_are_legible_in_both_themes_with_no_clipped_or_colliding_labels(browser, site, scheme):
    for i, category in enumerate(["billing", "refunds and returns", "shipping delays", "account access"]):
        _api(site["server"], site["acme"], "/api/v1/logs", {"ticket_id": f"CHART-{scheme}-{i}", "status": "ERROR" if i % 2 else "SUCCESS",
                                                            "category": category, "execution_time_seconds": 1.5 + i,
                                                            "metrics": {"confidence": 0.5 + i / 10, "iterations": i + 1}})
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        login(page, site["server"].url, "admin", "admin-password-for-tests")
        page.goto(site["server"].url + "/?range=24h")
        page.wait_for_function("() => document.querySelectorAll('.cl-chart svg text').length > 20", timeout=15000)
        page.wait_for_timeout(500)  # the last chart's layout pass
        found = page.evaluate(CHART_TEXT_JS)
        assert found["texts"] > 20
        assert found["worstContrast"] >= 4.5, f"chart text contrast {found['worstContrast']:.2f} in {scheme} mode"
        assert found["clipped"] == [], found["clipped"]
        assert found["collisions"] == [], found["collisions"]
        if scheme == "dark":
            page.screenshot(path=str(SHOTS / "overview-dark.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_from_the_overview_to_the_failing_tickets_in_two_clicks(browser, site, scheme):
    """An operator sees an error type in "What is failing", clicks it and lands on the list of exactly
    those runs; a click on a chart bar does the same for its time bucket."""
    failing = {"iterations": [{"thought": "Check the carrier.", "action": "carrier_api", "action_input": {"parcel": "P-9"},
                               "error": {"type": f"CarrierDown{scheme.title()}", "message": "carrier API answered 503"}}]}
    for i in range(3):
        _api(site["server"], site["acme"], "/api/v1/logs", {"ticket_id": f"DRILL-{scheme}-{i}", "status": "ERROR",
                                                            "category": "shipping", "payload": failing})
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        login(page, site["server"].url, "admin", "admin-password-for-tests")
        page.goto(site["server"].url + "/?range=1h")
        link = page.get_by_role("link", name=f"CarrierDown{scheme.title()}")
        link.wait_for(timeout=15000)
        assert link.evaluate("(el) => { const c = getComputedStyle(el).color; return c; }")  # rendered, styled
        link.click()
        page.wait_for_url("**/logs?*error_type=*", timeout=15000)
        for i in range(3):
            page.get_by_text(f"DRILL-{scheme}-{i}").first.wait_for(timeout=15000)
        assert page.get_by_text("DRILL-", exact=False).count() >= 3
        assert f"DRILL-{'dark' if scheme == 'light' else 'light'}-" not in page.content()  # only this error type
        # Back on the overview, a click on the volume chart's last bar opens that bucket's tickets.
        page.goto(site["server"].url + "/?range=1h")
        page.wait_for_function("() => document.querySelectorAll('.cl-chart svg path').length > 10", timeout=15000)
        chart = page.locator(".cl-chart").first
        box = chart.bounding_box()
        # The bars: filled paths in the plot area (below the legend), as wide as a bucket.
        bars = chart.locator("svg path").evaluate_all(
            "(ps) => ps.filter((p) => p.getAttribute('fill') === '#5070dd')"  # the Tickets series' colour
            ".map((p) => p.getBoundingClientRect()).filter((r) => r.height > 2 && r.width < 20)"  # not the legend's wider icon
            ".map((r) => [r.x + r.width / 2, r.y + r.height - 2])")
        assert bars, "no bars drawn"
        x, y = max(bars)
        assert box["x"] <= x <= box["x"] + box["width"]
        page.mouse.click(x, y)
        page.wait_for_url("**/logs?*since=*", timeout=15000)
        page.get_by_text(f"DRILL-{scheme}-0").first.wait_for(timeout=15000)
    finally:
        context.close()


def test_an_opentelemetry_trace_reads_as_a_span_waterfall_in_the_browser(page, site):
    """The stock OTLP exporter ships an instrumented agent's spans; its log's detail page shows the
    span tree with the tool, its input and output, the models and the exception message."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from tests.support.otel import provider, run_agent
    from tests.support.server import read_back

    tp, _ = provider(OTLPSpanExporter(endpoint=site["server"].url + "/v1/traces", headers={"x-api-key": site["acme"]}))
    run_agent(tp, "OTEL-BROWSER", fail=True)
    tp.shutdown()
    [item] = [i for i in read_back(site["server"].url, site["acme"]) if i["ticket_id"] == "OTEL-BROWSER"]
    login(page, site["server"].url, "admin", "admin-password-for-tests")
    page.goto(f"{site['server'].url}/logs/{item['id']}")
    page.wait_for_selector("text=read as: OpenTelemetry spans", timeout=15000)
    for text in ("lookup_order", "order service unreachable", "gpt-4o-mini", "Where is my refund for order A-17?"):
        page.get_by_text(text).first.wait_for(timeout=15000)
    assert page.locator(".cl-bar").count() >= 4  # real durations: one time bar per span
    page.screenshot(path=str(SHOTS / "trace-otlp.png"), full_page=True)


def test_the_time_zone_toggle_shows_times_in_the_browsers_zone_and_is_remembered(browser, site):
    _api(site["server"], site["acme"], "/api/v1/logs", {"ticket_id": "TZ-BROWSER", "status": "SUCCESS",
                                                        "executed_at": "2026-06-01T12:00:00Z"})
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        subprocess.run([sys.executable, "-m", "logger_app", "user", "create", "tz-user", "--role", "admin", "--password-stdin"],
                       cwd=REPO, env=site["server"].env, input="tz-user-password\n", check=True, capture_output=True, text=True, timeout=60)
        login(page, site["server"].url, "tz-user", "tz-user-password")
        page.goto(site["server"].url + "/logs?ticket_id=TZ-BROWSER")
        page.get_by_text("2026-06-01 12:00:00").first.wait_for(timeout=15000)
        page.get_by_role("button", name="UTC").click()  # the header's zone toggle
        page.get_by_role("button", name="Asia/Tokyo").wait_for(timeout=15000)
        page.get_by_text("2026-06-01 21:00:00").first.wait_for(timeout=15000)
        page.goto(site["server"].url + "/logs?ticket_id=TZ-BROWSER")  # remembered for this user
        page.get_by_text("2026-06-01 21:00:00").first.wait_for(timeout=15000)
        page.get_by_role("button", name="Asia/Tokyo").click()  # and back to UTC
        page.get_by_text("2026-06-01 12:00:00").first.wait_for(timeout=15000)
    finally:
        context.close()
