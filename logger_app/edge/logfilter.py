"""Server log lines that are safe to ship: no socket ids, no SQL or its parameters, no tracebacks.

uvicorn logs every websocket accept at INFO through `uvicorn.error` with the full URL, and
NiceGUI's socket URL carries `client_id` and `tab_id` - together enough to attach to a live page
(docs/SECURITY.md). SQLAlchemy errors put the statement and, on PostgreSQL, its parameters (a
payload's values) into the message; a traceback repeats them. This filter, on every handler the
server installs, strips query strings from request lines, drops the per-socket open/close noise
and turns exceptions into one line: the type and where it was raised."""

from __future__ import annotations

import copy
import logging
import re
import traceback
from typing import Any

_QUERY = re.compile(r"(/[^\s?\"]*)\?[^\s\"]*")
_NOISE = ("connection open", "connection closed")


def _strip_query(value: Any) -> Any:
    return _QUERY.sub(r"\1", value) if isinstance(value, str) and "?" in value else value


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if not frames:
        return ""
    last = frames[-1]
    return f" at {last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("uvicorn") and record.getMessage() in _NOISE:
            return False
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_strip_query(a) for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = _strip_query(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message = record.getMessage()
            # The message of a database error is the SQL; of any other error it may quote a payload.
            record.msg = f"{_strip_query(message) if message != str(exc) else ''} [{type(exc).__name__}{_where(exc)}]".strip()
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def uvicorn_log_config(log_format: str = "text") -> dict:
    """uvicorn's own logging configuration with the filter on both of its handlers
    (and, for LOGGER_LOG_FORMAT=json, one JSON object per line on every handler)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        config["formatters"] = {name: {"()": "logger_app.telemetry.jsonlog.JsonFormatter"} for name in config["formatters"]}
    config["filters"] = {"scrub": {"()": ScrubFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = ["scrub"]
    # Everything else (NiceGUI, SQLAlchemy, our own logger) reaches the root: one handler, filtered.
    config["handlers"]["root"] = {"formatter": "default", "class": "logging.StreamHandler",
                                  "stream": "ext://sys.stderr", "filters": ["scrub"]}
    config["root"] = {"handlers": ["root"], "level": "WARNING"}
    config["loggers"]["logger_app"] = {"level": "INFO"}
    return config
