"""One agent run as a waterfall: a row per step (indented by nesting, a bar on the run's time
axis where timings exist), and under each row what the step thought, took and gave.

Built from the trace model (services/traces), so every framework's log reads the same way. Big
traces stay fast by budget: the first OPEN_STEPS rows (or OPEN_TEXT characters) show their
details open, later rows open on click, and rows are added PAGE_STEPS at a time. Every value
from the payload is rendered as text (labels), never as HTML."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nicegui import ui

from ..services.traces import Step, Trace
from .guard import rechecked
from .view_utils import fmt_seconds, long_text, to_text

KIND_ICONS = {"thought": "psychology", "llm": "smart_toy", "tool": "build", "retrieval": "search",
              "agent": "support_agent", "chain": "account_tree", "message": "chat", "error": "error",
              "answer": "flag", "other": "help_outline"}
# A 5,000-step trace rendered whole is ~50k elements; these budgets keep the first paint small
# while an ordinary trace (tens of steps) still shows everything without a click.
OPEN_STEPS = 50
OPEN_TEXT = 200_000
PAGE_STEPS = 200
MAX_INDENT = 12


def numbered(trace: Trace) -> list[tuple[int, int, Step]]:
    """(number from 1, depth, step) in run order: the numbers deep links (#step-N) use."""
    out: list[tuple[int, int, Step]] = []

    def visit(steps: list[Step], depth: int) -> None:
        stack: list[tuple[Step, int]] = [(s, depth) for s in reversed(steps)]
        while stack:
            step, level = stack.pop()
            out.append((len(out) + 1, level, step))
            stack.extend((child, level + 1) for child in reversed(step.children))

    visit(trace.steps, 0)
    return out


def _extent(rows: list[tuple[int, int, Step]]) -> float:
    ends = [s.started_at + s.duration for _, _, s in rows if s.started_at is not None and s.duration is not None]
    return max(ends, default=0.0)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str) else (0 if value is None else len(to_text(value)))


def _title(step: Step) -> str:
    name = to_text(step.name)[:120] if step.name else ""
    return f"{step.kind} · {name}" if name else step.kind


def details(step: Step) -> None:
    """What the step thought, took and gave, then its error: long text folded, JSON pretty-printed."""
    labels = {"thought": "Reasoning", "answer": "Answer", "message": "Message"}
    if step.input not in (None, "", {}, []):
        ui.label("Input").classes("text-xs uppercase text-grey-7")
        long_text(step.input, code=not isinstance(step.input, str))
    if step.output not in (None, "", {}, []):
        ui.label(labels.get(step.kind, "Output")).classes("text-xs uppercase text-grey-7")
        long_text(step.output, code=not isinstance(step.output, str))
    if step.error is not None:
        error_block(step.error.type, step.error.message, step.error.traceback)
    ui.label(f"from {step.path}").classes("text-xs text-grey-6 font-mono")


def error_block(kind: str | None, message: str | None, traceback: str | None, where: str | None = None) -> None:
    # cl-error: readable in both themes (see STYLE); Quasar's bg-red-1 kept white text on pink in dark mode.
    with ui.column().classes("cl-error w-full gap-1 p-2 rounded").mark("error-block"):
        with ui.row().classes("items-center gap-2"):
            ui.icon("error", color="negative")
            ui.label(to_text(kind or "Error")[:200]).classes("font-bold")
            if where:
                ui.label(where).classes("text-sm")
        if message:
            long_text(message)
        if traceback:
            long_text(traceback, code=True)


STYLE = """
.cl-error { background: #fdecea; color: #5f2120; border: 1px solid #f1b8b5; }
.body--dark .cl-error { background: #3d1715; color: #ffdad6; border-color: #8c3a35; }
.cl-bar-track { position: relative; height: 6px; width: 12rem; background: rgba(127,127,127,.2); border-radius: 3px; }
.cl-bar { position: absolute; top: 0; height: 6px; border-radius: 3px; background: #5898d4; min-width: 2px; }
.cl-bar.failed { background: #c10015; }
.cl-step:target { outline: 2px solid #5898d4; border-radius: 4px; }
"""

# Deep links (#step-N) once the rows exist, and arrow keys from step to step.
SCRIPT = """
<script>
(() => {
  const show = (el) => { el.scrollIntoView({block: 'start'}); el.focus({preventScroll: true}); };
  let tries = 0, asked = false;
  const reveal = () => {
    if (!location.hash.startsWith('#step-')) return;
    const el = document.getElementById(location.hash.slice(1));
    if (el) { show(el); return; }
    // Past the rows rendered so far: ask the server to render up to that step, once per link,
    // as soon as the page's socket is up (this script runs before NiceGUI has mounted).
    if (!asked && window.did_handshake && typeof emitEvent === 'function') {
      asked = true;
      emitEvent('cl_step_wanted', parseInt(location.hash.slice(6), 10) || 0);
    }
    if (tries++ < 150) setTimeout(reveal, 100);
  };
  reveal();
  window.addEventListener('hashchange', () => { tries = 0; asked = false; reveal(); });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    if (e.target.closest && e.target.closest('input, textarea, [contenteditable]')) return;
    const rows = [...document.querySelectorAll('.cl-step')];
    if (!rows.length) return;
    const down = e.key === 'ArrowDown';
    let i = rows.indexOf(document.activeElement);
    if (i >= 0) i = Math.max(0, Math.min(rows.length - 1, i + (down ? 1 : -1)));
    else if (down) i = Math.max(0, rows.findIndex((r) => r.getBoundingClientRect().top > 1));
    else i = Math.max(0, rows.findLastIndex((r) => r.getBoundingClientRect().top < -1));
    e.preventDefault();
    history.replaceState(null, '', '#' + rows[i].id);
    show(rows[i]);
  });
})();
</script>
"""


class Waterfall:
    def __init__(self, trace: Trace):
        self.trace = trace
        self.rows = numbered(trace)
        self.extent = _extent(self.rows)
        self.looped = {id(s) for loop in trace.loops() for s in loop.steps}
        self.shown = 0
        self.text_budget = OPEN_TEXT

    def build(self) -> None:
        self.container = ui.column().classes("w-full gap-1").mark("waterfall")
        self.more = ui.button("", on_click=rechecked(self.show_more)).props("flat dense").mark("more-steps")
        self.show_more()
        # A deep link (#step-N) or a "go to step" link past the rendered rows: the browser asks for N.
        ui.on("cl_step_wanted", rechecked(lambda event: self.show_through(event.args)))

    def show_through(self, number: Any) -> None:
        """Render every row up to step `number` (whole pages), so its anchor exists."""
        if not isinstance(number, int) or isinstance(number, bool) or not 0 < number <= len(self.rows):
            return  # from the browser: anything else is ignored
        while self.shown < number:
            self.show_more()

    def show_more(self) -> None:
        batch = self.rows[self.shown:self.shown + PAGE_STEPS]
        with self.container:
            for number, depth, step in batch:
                self.row(number, depth, step)
        self.shown += len(batch)
        left = len(self.rows) - self.shown
        self.more.text = f"Show the next {min(left, PAGE_STEPS):,} of {left:,} more steps"
        self.more.visible = left > 0

    def row(self, number: int, depth: int, step: Step) -> None:
        failed = step.error is not None
        with ui.column().classes("cl-step w-full gap-1 py-1").props(f"id=step-{number} tabindex=-1") \
                .style(f"margin-left: {min(depth, MAX_INDENT) * 1.25}rem").mark(f"step-{number}"):
            with ui.row().classes("items-center gap-2 no-wrap w-full"):
                ui.label(f"#{number}").classes("text-grey-7 font-mono text-xs w-10")
                ui.icon("error" if failed else KIND_ICONS.get(step.kind, "help_outline"),
                        color="negative" if failed else None)
                ui.label(_title(step)).classes("font-medium break-all").mark("step-title")
                if step.model:
                    ui.badge(to_text(step.model)[:60], color="grey-6").props("outline")
                if id(step) in self.looped:
                    ui.badge("repeated call", color="warning").mark("loop-flag")
                ui.space()
                tokens = [t for t in (step.input_tokens, step.output_tokens) if t is not None]
                if tokens:
                    ui.label(f"{sum(tokens):,} tok").classes("text-xs text-grey-7")
                if step.duration is not None:
                    ui.label(fmt_seconds(step.duration)).classes("text-xs text-grey-7")
                self.bar(step, failed)
            size = _size(step.input) + _size(step.output)
            if number <= OPEN_STEPS and size <= self.text_budget:
                self.text_budget -= size
                with ui.column().classes("w-full gap-1 pl-12"):
                    details(step)
            else:
                with ui.expansion("Details").classes("w-full pl-10").props("dense") as folded:
                    holder = ui.column().classes("w-full gap-1")

                def fill(event, holder=holder, step=step) -> None:
                    if event.value and not holder.default_slot.children:
                        with holder:
                            details(step)

                folded.on_value_change(rechecked(fill))

    def bar(self, step: Step, failed: bool) -> None:
        if self.extent <= 0 or step.started_at is None or step.duration is None:
            return
        left = 100 * step.started_at / self.extent
        width = max(100 * step.duration / self.extent, 0.5)
        with ui.element("div").classes("cl-bar-track"):
            ui.element("div").classes("cl-bar" + (" failed" if failed else "")) \
                .style(f"left: {left:.2f}%; width: {min(width, 100 - left):.2f}%")


def iter_errors(trace: Trace, rows: list[tuple[int, int, Step]]) -> Iterator[tuple[int, Step]]:
    numbers = {id(step): number for number, _, step in rows}
    for step in trace.errors():
        yield numbers.get(id(step), 0), step
