"""``rfarm status TASK``: a task's summary and a bounded frame table, or its whole document streamed.

A task may have 100,000 frames: the summary is a few aggregate reads, the table
shows at most :data:`TABLE_LIMIT` frames (or those ``--frames`` / ``--state``
choose, up to :data:`FILTERED_LIMIT`), and ``--json`` writes every frame as it
is read.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text

from rfarm.cli.output import cell, local_time, print_json_stream, state_cell

if TYPE_CHECKING:
    from rfarm.api import FarmAPI
    from rfarm.state.taskinfo import FrameInfo, TaskSummary
    from rfarm.state.users import Caller

#: frames the table shows without a filter, and with one
TABLE_LIMIT = 100
FILTERED_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class FrameFilter:
    """Which frames ``status`` shows: ``--frames`` (parsed) and ``--state``."""

    frames: list[int] | None = None
    states: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str | None, states: Sequence[str]) -> FrameFilter:
        from rfarm.submit.frames import parse_frames

        return cls(None if spec is None else parse_frames(spec), tuple(states))

    @property
    def active(self) -> bool:
        return self.frames is not None or bool(self.states)

    def read(self, api: FarmAPI, caller: Caller, task: int | str, limit: int | None = None) -> Iterator[FrameInfo]:
        """The chosen frames; a bad filter is refused before anything is printed."""
        found = api.iter_frames(caller, task, frames=self.frames, states=self.states, limit=limit)
        first = next(found, None)
        return iter(()) if first is None else chain((first,), found)


def status_doc(summary: TaskSummary) -> dict[str, Any]:
    """The ``status TASK --json`` document without its frames: the task, its progress, ETA and why it waits."""
    return {**summary.task.to_dict(with_frames=False), "progress": summary.progress, "eta_s": summary.eta_s,
            "waiting": list(summary.waiting)}


def print_status_json(api: FarmAPI, caller: Caller, task: int | str, chosen: FrameFilter, *,
                      compact: bool = False) -> TaskSummary:
    """The task's document with every chosen frame, streamed; returns the summary it began with."""
    summary = api.task_summary(caller, task)
    frames = chosen.read(api, caller, summary.task.task_id)
    print_json_stream(status_doc(summary), "frames", (f.to_dict() for f in frames), compact=compact)
    return summary


def status_view(api: FarmAPI, caller: Caller, task: int | str, chosen: FrameFilter) -> tuple[TaskSummary, Group]:
    """The summary lines and the bounded frame table, ready to print."""
    summary = api.task_summary(caller, task)
    limit = FILTERED_LIMIT if chosen.active else TABLE_LIMIT
    frames = list(chosen.read(api, caller, summary.task.task_id, limit=limit + 1))
    shown = frames[:limit]
    parts: list[Any] = [*summary_lines(summary), frames_table(summary, shown)]
    total = sum(summary.task.counts.values())
    if len(frames) > limit:
        tid = summary.task.task_id
        of = f" of {total:,}" if not chosen.active else ""
        parts.append(Text(f"showing the first {len(shown):,} frames{of}: rfarm status {tid} --frames A-B "
                          "or --state STATE shows others, --json every one"))
    return summary, Group(*parts)


def summary_lines(summary: TaskSummary) -> list[Text]:
    t = summary.task
    counts = ", ".join(f"{n:,} {state}" for state, n in t.counts.items() if n)
    eta = f", about {duration(summary.eta_s)} left" if summary.eta_s is not None else ""
    total = sum(t.counts.values())
    lines = [Text(f"{total:,} frame{'' if total == 1 else 's'}: {counts or 'none'}"),
             Text(f"progress {summary.progress:g}%{eta}")]
    failed = t.counts.get("failed", 0)
    for f in summary.failing:
        error = (f.error or "").strip().splitlines()
        lines.append(Text.assemble("failing: ", (f"frame {f.frame}", "red"),
                                   f" ({f.status}, attempt {f.attempts}): {error[0] if error else 'no error recorded'}"))
    if failed > len([f for f in summary.failing if f.status == "failed"]):
        lines.append(Text(f"{failed:,} frames failed in all: rfarm status {t.task_id} --state failed lists them"))
    for reason in summary.waiting:
        lines.append(Text.assemble(("waiting: ", "yellow"), reason))
    return lines


def frames_table(summary: TaskSummary, frames: Sequence[FrameInfo]):  # type: ignore[no-untyped-def]
    from rich.table import Table

    t = summary.task
    title = Text.assemble(f"task {t.task_id} ", cell(t.name), ": ", state_cell(t.status))
    table = Table("frame", "status", "progress", "attempts", "worker", "finished", "error", title=title)
    table.columns[6].overflow = "fold"
    for f in frames:
        label = f"{f.frame}{' (test)' if f.is_test else ''}"
        table.add_row(label, state_cell(f.status), f"{f.progress:.0f}%", str(f.attempts), cell(f.worker),
                      local_time(f.finished_at), cell((f.error or "")[:200]))
    return table


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 days 4 h``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} days {s % 86400 // 3600} h"
