"""Errors reported for the run as a whole, in whatever shape the steps are: `payload.error` (a string
or an object), `payload.exception` ({type, message, traceback}), `payload.errors` (a list of either).

They are read here once for every shape, so no adapter reads them and none can forget them; a step's
own error (a failed tool result, an error inside a step) is the adapter's to read, with fields.step_error."""

from __future__ import annotations

from .bounds import MAX_STEPS, bounded
from .fields import error_info
from .model import Step


def payload_errors(payload: dict) -> list[Step]:
    found: list[Step] = []
    for key in ("error", "exception"):
        info = error_info(payload.get(key))
        if info is not None:
            found.append(Step("error", f"payload.{key}", name=info.type, error=info))
    errors = payload.get("errors")
    items = errors if isinstance(errors, list) else ([errors] if errors is not None else [])
    for index, item in enumerate(bounded(items)):
        info = error_info(item)
        if info is not None:
            path = f"payload.errors[{index}]" if isinstance(errors, list) else "payload.errors"
            found.append(Step("error", path, name=info.type, error=info))
    return found[:MAX_STEPS]
