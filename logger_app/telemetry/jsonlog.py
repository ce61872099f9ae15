"""LOGGER_LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request_id).

Applied after edge/logfilter.py's ScrubFilter (a filter runs before the formatter), so a JSON
line carries the same scrubbed message as a text line: no query strings, SQL or tracebacks."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from ..edge.access_log import current_request_id


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # The access line names its request explicitly; any other line written while a request is
        # served gets the id from the edge middleware's context variable.
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id:
            line["request_id"] = request_id
        return json.dumps(line, ensure_ascii=False)
