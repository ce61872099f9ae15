"""Bridge from the standard ``logging`` module to a LogShipper.

Which log a record becomes, in order:

1. ``logger.info("...", extra={"central_log": {...}})`` — that dict is the log;
2. ``logger.info({...})`` — a dict message is the log;
3. anything else — a minimal log built from the record (see ``record_to_log``).

In all three cases fields the log lacks are filled from the record: ``ticket_id`` (the
record attribute ``ticket_id``, e.g. from ``extra={"ticket_id": ...}``, else the handler's
``default_ticket_id``, else the logger name — the server requires one, and a log filed
under its logger name is more useful than a log silently lost), ``status`` (ERROR for
level >= ERROR, else SUCCESS) and ``executed_at`` (the record's creation time, which is
closer to the truth than the time the batch reaches the server).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .shipper import LogShipper

_OWN_LOGGER = "logger_app.client"


def record_to_log(
    record: logging.LogRecord,
    *,
    default_ticket_id: str | None = None,
    environment: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    explicit = getattr(record, "central_log", None)
    if isinstance(explicit, Mapping):
        log = dict(explicit)
    elif isinstance(record.msg, Mapping):
        log = dict(record.msg)
    else:
        payload: dict[str, Any] = {
            "message": record.getMessage(),
            "logger": record.name,
            "level": record.levelname,
        }
        if record.exc_info:
            payload["exception"] = logging.Formatter().formatException(record.exc_info)
        log = {"payload": payload}
    ticket_id = getattr(record, "ticket_id", None) or default_ticket_id or record.name
    log.setdefault("ticket_id", str(ticket_id))
    log.setdefault("status", "ERROR" if record.levelno >= logging.ERROR else "SUCCESS")
    log.setdefault("executed_at", datetime.fromtimestamp(record.created, timezone.utc).isoformat())
    if environment is not None:
        log.setdefault("environment", environment)
    if category is not None:
        log.setdefault("category", category)
    return log


class LogShipperHandler(logging.Handler):
    """``logging.Handler`` that ships each record through a (possibly shared) LogShipper.

    ``close()`` leaves the shipper open unless ``close_shipper=True``: several handlers
    may share one shipper, and the shipper drains itself at interpreter exit anyway.
    """

    def __init__(
        self,
        shipper: LogShipper,
        level: int = logging.NOTSET,
        *,
        default_ticket_id: str | None = None,
        environment: str | None = None,
        category: str | None = None,
        flush_timeout: float = 1.0,
        close_shipper: bool = False,
    ) -> None:
        super().__init__(level)
        self.shipper = shipper
        self.default_ticket_id = default_ticket_id
        self.environment = environment
        self.category = category
        self.flush_timeout = flush_timeout
        self.close_shipper = close_shipper

    def emit(self, record: logging.LogRecord) -> None:
        # The shipper reports its own trouble via logging; shipping those reports through
        # the same (possibly broken) shipper would only feed the trouble.
        if record.name == _OWN_LOGGER or record.name.startswith(_OWN_LOGGER + "."):
            return
        try:
            log = record_to_log(
                record,
                default_ticket_id=self.default_ticket_id,
                environment=self.environment,
                category=self.category,
            )
        except Exception:  # noqa: BLE001 - e.g. a bad %-format in the message
            self.handleError(record)
            return
        self.shipper.ship(log)

    def flush(self) -> None:
        self.shipper.flush(self.flush_timeout)

    def close(self) -> None:
        try:
            if self.close_shipper:
                self.shipper.close()
        finally:
            super().close()
