"""Helpers shared by the tests and the bench scripts, imported by name (never star imports).

  server.py   the real server as a subprocess (ServerProcess, start_server, server_env, cli, ...)
  proxies.py  fault injectors: TcpFaultProxy (in front of PostgreSQL), HttpFaultProxy and Blackhole
              (in front of, or instead of, the server)
  data.py     test data: logs, public ids, API headers
  pages.py    dashboard test helpers (sign-in, waiting for navigation, table rows)
  postgres.py throw-away PostgreSQL databases (tests/conftest.py, bench/kill9.py)

Importing this package (or server.py, proxies.py) needs nothing beyond the standard library, so the
bench scripts can use it without pytest."""
