"""Benchmark: the detail page of a 5,000-step log (just under the 1 MiB body limit) in a real browser.

Starts the real server on a fresh SQLite file, posts the log through the API (bench/trace_of.py's
payload), signs in with Debian's chromium (Playwright) and times, per run, from navigation to the
first waterfall row being visible and to the whole first page of rows (the "show the next ..."
button) being there. Median of --runs runs after one warm-up. Target: <= 2 s.

    .venv/bin/python bench/detail_page.py [--steps 5000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.trace_of import payload  # noqa: E402
from tests.support.server import create_client_key, start_server  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--bytes", type=int, default=1_040_000, help="payload JSON size (the whole body stays under 1 MiB)")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="cl-bench-detail-"))
    server = start_server(f"sqlite+aiosqlite:///{work}/logger.db", work)
    try:
        key = create_client_key(server.env, "acme")
        log = {"ticket_id": "BIG-TRACE", "status": "SUCCESS", "payload": payload(args.steps, args.bytes)}
        body = json.dumps(log, separators=(",", ":")).encode()
        request = urllib.request.Request(server.url + "/api/v1/logs", data=body,
                                         headers={"X-API-Key": key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            log_id = json.loads(response.read())["id"]
        print(f"load average before: {os.getloadavg()[0]:.1f}; body {len(body):,} bytes, {args.steps:,} steps")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{server.url}/login")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill("admin-password-for-tests")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login" not in url, timeout=15000)
            first, whole = [], []
            for run in range(args.runs + 1):
                start = time.perf_counter()
                page.goto(f"{server.url}/logs/{log_id}")
                page.wait_for_selector("#step-1", state="visible", timeout=30000)
                shown = time.perf_counter() - start
                page.wait_for_selector("text=Show the next", state="visible", timeout=30000)
                done = time.perf_counter() - start
                if run:  # the first is the warm-up
                    first.append(shown)
                    whole.append(done)
            browser.close()
        print(f"first row visible: median {statistics.median(first):.2f} s (min {min(first):.2f}, max {max(first):.2f})")
        print(f"first page of rows: median {statistics.median(whole):.2f} s (min {min(whole):.2f}, max {max(whole):.2f}) "
              f"over {args.runs} runs (target <= 2 s)")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
