"""What the pages show, worked out from the seam's records: render times, progress, which controls apply."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from rfarm.state.states import PAUSABLE, TERMINAL, FrameState, TaskState
from rfarm.state.users import Role

if TYPE_CHECKING:
    from rfarm.files.transfer import ResultFile
    from rfarm.state.taskinfo import FrameInfo

#: the roles, for the templates' ``who.may(...)``
ARTIST, MANAGER, ADMIN = Role.ARTIST, Role.MANAGER, Role.ADMIN

#: the task states in which each control of the task page applies ("retry" also needs a failed frame)
ACTION_STATES: dict[str, list[str]] = {
    "cancel": [s.value for s in TaskState if s not in TERMINAL],
    "pause": [s.value for s in PAUSABLE],
    "resume": [TaskState.PAUSED.value],
    "approve": [TaskState.HELD.value],
    "retry": [s.value for s in TaskState],
}
#: the frames a contact sheet shows
SHEET_STATES = (FrameState.DONE.value, FrameState.FAILED.value)
TASK_STATES = [s.value for s in TaskState]
FRAME_STATES = [s.value for s in FrameState]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def render_seconds(frame: dict[str, Any], now: datetime | None = None) -> float | None:
    """How long the frame rendered (so far, while it runs); None before it started."""
    started = _when(frame.get("started_at"))
    if started is None:
        return None
    finished = _when(frame.get("finished_at"))
    if finished is None:
        if frame.get("status") != FrameState.RUNNING:
            return None
        finished = now or datetime.now(timezone.utc)
    return max(0.0, (finished - started).total_seconds())


def duration(seconds: float | None) -> str:
    """``12.3 s``, ``4 min 05 s``, ``2 h 03 min``; empty for None."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress(counts: dict[str, int]) -> tuple[int, int]:
    """(frames done, frames in all) of a task's counts per frame state."""
    return counts.get(FrameState.DONE, 0), sum(counts.values())


def short_time(value: str | None) -> str:
    """An ISO 8601 UTC time as ``2026-05-01 14:03 UTC``."""
    when = _when(value)
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""


def may_retry(counts: dict[str, int]) -> bool:
    return counts.get(FrameState.FAILED, 0) > 0


def node_state(state: str) -> tuple[str, str | None]:
    """A node's state as (its word, since when: for ``offline since ISO``, else None)."""
    word, _, since = state.partition(" since ")
    return word, since or None


def size(n: int) -> str:
    """``512 B``, ``3.4 KB``, ``1.2 GB`` (powers of 1000, as the CLI writes them)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def first_line(text: str | None) -> str:
    """The first non-empty line of an error (a failed frame's cause, without its traceback)."""
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _name(path: str) -> str:
    """A path's last part, whichever system's separators it uses (a node may run Windows)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def results_by_frame(frames: Iterable[FrameInfo], results: Iterable[ResultFile]) -> dict[int, ResultFile]:
    """Each frame's stored result (its first output that was stored), matched by the output's file name."""
    by_name: dict[str, ResultFile] = {}
    for result in results:
        by_name.setdefault(_name(result.path), result)
    found: dict[int, ResultFile] = {}
    for frame in frames:
        match = next((by_name[n] for n in map(_name, frame.outputs) if n in by_name), None)
        if match is not None:
            found[frame.frame] = match
    return found
