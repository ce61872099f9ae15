"""Entry point: `python main.py` serves the API and the dashboard (see README)."""

import os

from logger_app.app import build
from logger_app.config import get_settings

settings = get_settings()
app = build(settings)

# NiceGUI's user test fixture runs this file as __main__; it drives the app in-process instead.
if __name__ in {"__main__", "__mp_main__"} and not os.environ.get("NICEGUI_USER_SIMULATION"):
    from logger_app.server import serve

    serve(app, settings)
