"""The docs cover the features: every setting, CLI command and API route is documented."""

from __future__ import annotations

import re

from logger_app.cli import _parser
from logger_app.config import Settings
from tests.support.server import REPO as ROOT

README = (ROOT / "README.md").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def test_env_example_lists_every_setting_and_nothing_else():
    documented = set(re.findall(r"^#?\s*LOGGER_([A-Z_]+)=", ENV_EXAMPLE, re.M))
    actual = {name.upper() for name in Settings.model_fields}
    assert documented == actual


def test_readme_documents_every_cli_command():
    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for command, subparser in sub.choices.items():
        nested = [a for a in subparser._actions if a.dest == "action"]
        if nested:
            for action in nested[0].choices:
                assert f"{command} {action}" in README, f"{command} {action}"
        else:
            assert f"`{command}" in README, command


def test_readme_documents_every_api_route():
    from logger_app.app import create_api

    app = create_api(Settings(database_url="sqlite+aiosqlite:///:memory:", _env_file=None))
    # The OpenAPI document lists every route (newer FastAPI nests included routers in app.routes).
    paths = [p for p in app.openapi()["paths"] if p.startswith("/api/v1") or p in ("/healthz", "/readyz")]
    assert "/api/v1/logs" in paths and "/healthz" in paths  # the check itself must see the routes
    for path in paths:
        assert path in README, path


def test_docs_links_resolve():
    for doc in ("docs/PERFORMANCE.md", "docs/RELIABILITY.md", "docs/CLIENT.md", "docs/SECURITY.md", "docs/TRACE_SHAPES.md", "docs/DEPLOYMENT.md",
                "docs/deploy/nginx.conf", "docs/OTLP.md", "docs/ROLLUPS.md", "PRIVACY.md", ".env.example"):
        assert doc in README, doc
        assert (ROOT / doc).exists(), doc
