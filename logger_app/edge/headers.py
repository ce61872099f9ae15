"""Security headers: one set for every response, a Content-Security-Policy per kind of response.

The page policy is the strictest NiceGUI works with: its pages boot from inline scripts and Vue
compiles templates at run time ('unsafe-eval'), so script-src cannot drop those; everything else
is same-origin only, and frame-ancestors 'none' stops clickjacking of the admin pages. The
browser tests fail on any CSP violation in the console, so a policy that breaks a page is caught."""

from __future__ import annotations

COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    # Page URLs carry filters and, once, a login ticket: never hand them to another site.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),  # for browsers without CSP frame-ancestors
    (b"cross-origin-opener-policy", b"same-origin"),
)

PAGE_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# JSON and CSV never need to run anything.
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI (api/routes_docs.py): its bundle served from here and an inline bootstrap; nothing
# leaves the host.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"font-src 'self' data:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)

# Paths the API app answers itself (everything else is NiceGUI's, which sets PAGE_CSP).
API_PREFIXES = ("/api/", "/v1/", "/healthz", "/readyz", "/openapi.json")
DOCS_PATHS = ("/docs",)


def api_csp_for(path: str) -> bytes | None:
    if path.startswith(API_PREFIXES):
        return API_CSP
    if path.startswith(DOCS_PATHS):
        return DOCS_CSP
    return None
