"""Plain async functions shared by the HTTP API, the pages and the CLI.

Nothing here knows about FastAPI or NiceGUI."""
