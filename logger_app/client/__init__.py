"""Client side of Central Logger: ship logs from a workflow without slowing it down.

Standard library only, on purpose: workflows install this next to their own
dependencies, and must not inherit the server's (SQLAlchemy, NiceGUI, pydantic, ...).
Nothing here may import from ``logger_app`` outside ``logger_app.client``.
"""

from .aio import AsyncLogShipper
from .logging_handler import LogShipperHandler, record_to_log
from .shipper import LogShipper

__all__ = ["AsyncLogShipper", "LogShipper", "LogShipperHandler", "record_to_log"]
