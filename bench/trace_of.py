"""Benchmark: trace_of on a large log: 5,000 flat ReAct steps in just under 1 MiB of JSON.

The payload is parsed once (the detail page gets it parsed from the store); what is timed is
trace_of alone, median of --runs runs after one warm-up run. Target: <= 100 ms.

    .venv/bin/python bench/trace_of.py [--steps 5000] [--bytes 1048000] [--runs 21]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logger_app.services.traces import trace_of

TOOLS = ("search_kb", "get_order", "get_customer", "create_refund", "send_reply")


def payload(steps: int, size: int) -> dict:
    """A ReAct run whose JSON is just under `size` bytes: the thoughts are padded to fill it."""
    def build(pad: int) -> dict:
        return {
            "input": "Hello, I need help with my refund.",
            "steps": [{
                "thought": f"Use {TOOLS[i % 5]}. " + "x" * pad,
                "action": {"tool": TOOLS[i % 5], "input": {"q": f"refund {i}"}},
                "observation": f"{i % 4} result(s)",
                "duration_seconds": round(0.2 + (i % 10) / 10, 2),
            } for i in range(steps)],
            "final_answer": "Your refund was issued.",
        }

    base = len(json.dumps(build(0), separators=(",", ":")))
    if base > size:
        raise SystemExit(f"{steps} steps need {base:,} bytes at least")
    return build((size - base) // steps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--bytes", type=int, default=1_048_000, help="size of the JSON, just under 1 MiB by default")
    p.add_argument("--runs", type=int, default=21)
    args = p.parse_args()
    data = payload(args.steps, args.bytes)
    body = json.dumps(data, separators=(",", ":"))
    data = json.loads(body)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    trace = trace_of(data)  # warm-up, and a check that the whole run was read
    assert trace.shape == "ReAct steps" and trace.step_count() == 2 * args.steps, (trace.shape, trace.step_count())
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        trace_of(data)
        times.append(time.perf_counter() - start)
    print(f"payload {len(body):,} bytes, {args.steps:,} steps -> {trace.step_count():,} trace steps")
    print(f"trace_of: median {statistics.median(times) * 1000:.1f} ms, min {min(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms over {args.runs} runs (target <= 100 ms)")


if __name__ == "__main__":
    main()
