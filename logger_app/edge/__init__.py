"""The edge: what every HTTP request and socket passes before any route or page sees it.

Who the peer is (trusted proxies only), the security headers, the browser-binding cookie, and
log lines that never carry socket ids, SQL or tracebacks. Pure ASGI and logging: nothing here
knows a route, a page or a service, so the API's hot path pays a few header operations only."""
