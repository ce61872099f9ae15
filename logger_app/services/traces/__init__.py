"""The trace model: one agent run as a tree of steps, read from whatever shape the payload has.

    from logger_app.services.traces import trace_of
    trace = trace_of(log["payload"])   # never raises; trace.shape names the shape it recognised

Shapes, what is read from each and where the shapes come from: docs/TRACE_SHAPES.md."""

from .model import KINDS, UNRECOGNISED, ErrorInfo, Loop, Step, Trace
from .reader import ADAPTERS, trace_of

__all__ = ["ADAPTERS", "KINDS", "UNRECOGNISED", "ErrorInfo", "Loop", "Step", "Trace", "trace_of"]
