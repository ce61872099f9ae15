"""The README's quick start runs as written, top to bottom, on a fresh database.

Every command of its bash blocks runs in bash against a real server (started here in place of
`make run`, on a throw-away SQLite file), and the sample output it shows is what the server says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from tests.support.server import REPO, start_server

README = (REPO / "README.md").read_text()


def quick_start_blocks() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def json_objects(text: str) -> list[dict]:
    """The JSON objects curl printed (curl -s adds no newline, so they may share a line)."""
    decoder, found, at = json.JSONDecoder(), [], text.find('{"')
    while at >= 0:
        value, end = decoder.raw_decode(text, at)
        found.append(value)
        at = text.find('{"', end)
    return found


def test_the_quick_start_section_has_the_commands_this_test_runs():
    blocks = quick_start_blocks()
    assert blocks[0].strip() == "make run"
    assert any("logger-app demo" in b for b in blocks) and any("curl" in b for b in blocks)


def test_the_quick_start_runs_top_to_bottom(tmp_path):
    server = start_server(f"sqlite+aiosqlite:///{tmp_path}/logger.db", tmp_path)
    try:
        # `.venv/bin/logger-app` is the entry point `make run` installs; this test's interpreter
        # stands in for it (the same package, whichever venv runs the suite).
        shim = tmp_path / ".venv" / "bin"
        shim.mkdir(parents=True)
        (shim / "logger-app").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m logger_app "$@"\n')
        (shim / "logger-app").chmod(0o755)
        script = "set -euo pipefail\n" + "\n".join(quick_start_blocks()[1:])
        script = script.replace("http://127.0.0.1:8080", server.url)
        env = {**server.env, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        replies = json_objects(done.stdout)
    finally:
        server.stop()
    # The sample reply under the POST (`# {"id": "log_...", "duplicate": false}`) is what it printed.
    sample = json.loads(re.search(r'# (\{"id".*\})', README).group(1))
    stored = replies[0]
    assert set(stored) == set(sample) and stored["duplicate"] is False and re.fullmatch(r"log_[0-9a-f]{16}", stored["id"])
    listed = replies[1]
    assert [item["ticket_id"] for item in listed["items"]] == ["T-1042"]
