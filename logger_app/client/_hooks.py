"""Process-wide hooks every live shipper needs: after fork() and at interpreter exit."""

from __future__ import annotations

import atexit
import os
import time
import weakref
from typing import Any

# Weak: a shipper the program dropped should be collected, not kept alive for the hooks.
_live: weakref.WeakSet[Any] = weakref.WeakSet()


def register(shipper: Any) -> None:
    _live.add(shipper)


def _reinit_after_fork() -> None:
    for shipper in list(_live):
        shipper._after_fork_in_child()


def _close_all_at_exit() -> None:
    # Close in parallel: with several shippers the exit delay is the longest timeout, not the sum.
    shippers = list(_live)
    for shipper in shippers:
        try:
            shipper._check_pid()
            shipper._begin_close()
        except Exception:  # noqa: BLE001 - exit must go on whatever one shipper does
            pass
    start = time.monotonic()
    for shipper in shippers:
        try:
            shipper._finish_close(start + shipper._atexit_timeout)
        except Exception:  # noqa: BLE001
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
# Registered when the client is first imported, so it runs before logging's own exit hook
# (atexit is last-in, first-out) and LogShipperHandler.flush() then finds the queue drained.
atexit.register(_close_all_at_exit)
