"""Reading tasks and frames for people and scripts: what ``rfarm status``, ``list`` and ``logs`` show.

Only :mod:`rfarm.state.scheduler` changes frame and task states; this module reads them.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from peewee import fn

from rfarm.errors import NotFoundError, UsageError
from rfarm.state.models import Asset, Frame, Task, TaskAsset, User, database
from rfarm.state.states import CLAIMABLE, TERMINAL, FrameState, Priority, TaskState


@dataclass(frozen=True, slots=True)
class FrameInfo:
    frame: int
    status: str
    attempts: int
    is_test: bool
    worker: str | None
    error: str | None
    started_at: str | None
    finished_at: str | None
    outputs: list[str]
    progress: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame": self.frame, "status": self.status, "attempts": self.attempts, "is_test": self.is_test,
            "worker": self.worker, "error": self.error, "started_at": self.started_at,
            "finished_at": self.finished_at, "outputs": list(self.outputs), "progress": self.progress,
        }


@dataclass(frozen=True, slots=True)
class TaskInfo:
    task_id: int
    status: str
    user: str
    name: str
    scene: str
    renderer: str
    priority: str
    frames_spec: str
    created_at: str
    finished_at: str | None
    counts: dict[str, int]
    frames: list[FrameInfo] = field(default_factory=list)

    def to_dict(self, *, with_frames: bool = True) -> dict[str, Any]:
        """The ``rfarm status --json`` document (without ``frames`` for task lists)."""
        doc: dict[str, Any] = {
            "task_id": self.task_id, "status": self.status, "user": self.user, "name": self.name,
            "scene": self.scene, "renderer": self.renderer, "priority": self.priority,
            "frames_spec": self.frames_spec, "created_at": self.created_at, "finished_at": self.finished_at,
            "counts": dict(self.counts),
        }
        if with_frames:
            doc["frames"] = [f.to_dict() for f in self.frames]
        return doc

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL


def iso(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as ISO 8601 with microseconds and ``+00:00``."""
    if value is None:
        return None
    return value.isoformat(timespec="microseconds") + "+00:00"


#: the largest id or frame number a database column holds (a signed 64-bit integer)
MAX_ID = 2**63 - 1


def find_task(task_id: int | str, *, owner: str | None = None) -> Task:
    """The task, or NotFoundError; with ``owner``, only if that user submitted it.

    Another user's task is answered exactly as one that does not exist.
    """
    try:
        tid = int(task_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"no task {task_id!r}: task ids are numbers") from None
    if not 0 < tid <= MAX_ID:
        raise NotFoundError(f"no task {tid}")
    query = Task.select(Task, User).join(User).where(Task.id == tid)
    if owner is not None:
        query = query.where(User.name == owner)
    task = query.first()
    if task is None:
        raise NotFoundError(f"no task {tid}" + (f" for user {owner!r}" if owner is not None else ""))
    return task


_FRAME_COLUMNS = (Frame.number, Frame.status, Frame.attempts, Frame.is_test, Frame.worker, Frame.error,
                  Frame.started_at, Frame.finished_at, Frame.outputs, Frame.progress)


def task_info(task: Task, *, with_frames: bool = True) -> TaskInfo:
    """The task and (``with_frames``) its frames, test frames first; rows are read as plain
    values, since a big task's status is asked for often."""
    frames = list(
        Frame.select(*_FRAME_COLUMNS).where(Frame.task == task.id).order_by(Frame.is_test.desc(), Frame.number)
        .dicts()
    ) if with_frames else []
    counts = frame_counts([task.id]).get(task.id, {})
    return _info(task, counts, frames)


def list_tasks(
    *, user: str | None, status: Iterable[str] = (), limit: int = 200, before: int | None = None,
) -> list[TaskInfo]:
    """The newest tasks, of ``user`` (or of everyone when None), optionally in some states;
    with ``before``, only tasks older than that id (the next page of a listing)."""
    query = Task.select(Task, User).join(User)
    if before is not None:
        query = query.where(Task.id < before)
    if user is not None:
        query = query.where(User.name == user)
    statuses = list(status)
    if statuses:
        bad = [s for s in statuses if s not in set(TaskState)]
        if bad:
            raise UsageError(f"unknown task status {bad[0]!r}: use one of {', '.join(TaskState)}")
        query = query.where(Task.status.in_(statuses))
    tasks = list(query.order_by(Task.id.desc()).limit(limit))
    counts = frame_counts([t.id for t in tasks])
    return [_info(t, counts.get(t.id, {}), []) for t in tasks]


#: failing frames a task's summary lists at most
FAILING_SHOWN = 10


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """A task at a glance, whatever its size: counts, progress, an ETA, its failing frames and why it waits.

    ``failing``: up to :data:`FAILING_SHOWN` frames that failed or failed a render and wait to be tried again;
    ``waiting``: one line per reason no node takes its queued frames (:mod:`rfarm.state.waiting`).
    """

    task: TaskInfo
    progress: float
    eta_s: float | None
    failing: list[FrameInfo]
    waiting: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task.to_dict(with_frames=False), "progress": self.progress, "eta_s": self.eta_s,
                "failing": [f.to_dict() for f in self.failing], "waiting": list(self.waiting)}


def task_summary(task: Task, now: datetime) -> TaskSummary:
    """The task's :class:`TaskSummary`: a few aggregate reads, never every frame."""
    from rfarm.state.waiting import waiting_reasons

    info = _info(task, frame_counts([task.id]).get(task.id, {}), [])
    c = info.counts
    total = sum(c.values())
    finished = c[FrameState.DONE] + c[FrameState.FAILED] + c[FrameState.CANCELLED]
    rendering = Frame.select(fn.SUM(Frame.progress)).where(
        (Frame.task == task.id) & (Frame.status == FrameState.RUNNING)).scalar() or 0.0
    progress = round(100.0 * (finished + rendering / 100.0) / total, 1) if total else 100.0
    failing_rows = (Frame.select(*_FRAME_COLUMNS)
                    .where((Frame.task == task.id) & ((Frame.status == FrameState.FAILED)
                           | ((Frame.failures > 0) & Frame.status.in_((FrameState.QUEUED, FrameState.RUNNING)))))
                    .order_by(Frame.number).limit(FAILING_SHOWN).dicts())
    failing = _info(task, {}, list(failing_rows)).frames
    return TaskSummary(info, progress, _eta_s(task, info, now), failing, waiting_reasons(task, now))


def _eta_s(task: Task, info: TaskInfo, now: datetime) -> float | None:
    """Seconds until the last frame is done at the pace frames have been done since the first started."""
    c = info.counts
    left = c[FrameState.QUEUED] + c[FrameState.RUNNING]
    if info.is_finished or not left or not c[FrameState.DONE]:
        return None
    first = Frame.select(fn.MIN(Frame.started_at)).where(Frame.task == task.id).scalar()
    if isinstance(first, str):
        first = datetime.fromisoformat(first)
    if first is None or now <= first:
        return None
    return round((now - first).total_seconds() / c[FrameState.DONE] * left, 1)


def iter_frames(task: Task, *, numbers: Iterable[int] | None = None, states: Iterable[str] = (),
                limit: int | None = None) -> Iterator[FrameInfo]:
    """The task's frames in :func:`task_info`'s order (test frames first), read a page at a time,
    optionally only the frames ``numbers`` names or in ``states``, at most ``limit`` of them."""
    wanted = list(states)
    bad = [s for s in wanted if s not in set(FrameState)]
    if bad:  # refused before the first frame is read (a caller may already be writing them out)
        raise UsageError(f"unknown frame state {bad[0]!r}: use one of {', '.join(FrameState)}")
    # a number no column can hold names no frame
    chosen = None if numbers is None else sorted(n for n in set(numbers) if abs(n) <= MAX_ID)
    return _frame_pages(task, chosen, wanted, limit)


def _frame_pages(task: Task, chosen: list[int] | None, wanted: list[str], limit: int | None) -> Iterator[FrameInfo]:
    query = Frame.select(*_FRAME_COLUMNS).where(Frame.task == task.id)
    if wanted:
        query = query.where(Frame.status.in_(wanted))
    if chosen is not None:
        if not chosen:
            return
        query = query.where((Frame.number >= chosen[0]) & (Frame.number <= chosen[-1]))
        keep = set(chosen)
    left = limit
    for is_test in (True, False):
        after: int | None = None
        while left is None or left > 0:
            page = query.where(Frame.is_test == is_test)
            if after is not None:
                page = page.where(Frame.number > after)
            size = _PAGE if left is None or chosen is not None else min(_PAGE, left)
            rows = _raw_rows(page.order_by(Frame.number).limit(size))
            if not rows:
                break
            after = rows[-1]["number"]
            if chosen is not None:
                rows = [r for r in rows if r["number"] in keep]
            if left is not None:
                rows = rows[:left]
                left -= len(rows)
            yield from map(_frame, rows)


#: frames read from the database at a time
_PAGE = 5000


def _raw_rows(query: Any) -> list[dict[str, Any]]:
    """The rows of a query on :data:`_FRAME_COLUMNS` as :func:`_frame` takes them, converted here rather
    than by the models' fields (three times faster, which a 100,000-frame ``status --json`` feels)."""
    out = []
    for number, status, attempts, is_test, worker, error, started, finished, outputs, progress in (
            database.execute(query).fetchall()):
        out.append({
            "number": number, "status": status, "attempts": attempts, "is_test": bool(is_test), "worker": worker,
            "error": error, "started_at": _stamp(started), "finished_at": _stamp(finished),
            "outputs": [] if outputs in (None, "[]") else json.loads(outputs), "progress": float(progress),
        })
    return out


def _stamp(value: datetime | str | None) -> datetime | None:
    """A stored time as a datetime (SQLite keeps text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class FrameLog:
    """Where a frame's latest log is: a file on this machine, or (``path`` None) only in storage."""

    frame: int
    attempt: int
    path: str | None


def frame_logs(task: Task, number: int | None) -> list[FrameLog]:
    """The latest log of each of the task's frames (or of one frame)."""
    query = Frame.select(Frame.number, Frame.attempts, Frame.log_path).where(Frame.task == task.id).order_by(Frame.number)
    if number is not None:
        if abs(number) > MAX_ID:
            raise NotFoundError(f"task {task.id} has no frame {number}")
        query = query.where(Frame.number == number)
        if not query.exists():
            raise NotFoundError(f"task {task.id} has no frame {number}")
    return [FrameLog(f.number, f.attempts, f.log_path) for f in query]


@dataclass(frozen=True, slots=True)
class TaskFile:
    """One file of a task's manifest; ``reused`` when an earlier task had already stored it (dedup sent nothing)."""

    path: str
    size: int
    md5: str
    xxh64: str
    is_scene: bool
    reused: bool


@dataclass(frozen=True, slots=True)
class TaskDetails:
    """What a task was submitted with: its settings as (name, value) pairs, and its files (empty without a manifest)."""

    settings: list[tuple[str, str]]
    files: list[TaskFile]

    @property
    def reused_files(self) -> int:
        return sum(f.reused for f in self.files)

    @property
    def reused_bytes(self) -> int:
        """Bytes dedup saved this task: its files that were already stored."""
        return sum(f.size for f in self.files if f.reused)


def _needs(task: Task) -> str:
    parts = [f"{task.ram_gb:g} GB RAM" if task.ram_gb else "", f"{task.gpus} GPU" if task.gpus else "",
             f"{task.gpu_memory_gb:g} GB GPU memory" if task.gpu_memory_gb else "", ", ".join(task.tags or [])]
    return ", ".join(p for p in parts if p) or "none"


def task_details(task: Task) -> TaskDetails:
    """The task's settings and its manifest's files (scene first, then by path)."""
    settings = [
        ("Renderer", f"{task.renderer} {task.renderer_version}".strip()),
        ("Priority", str(Priority.of_order(task.priority) or task.priority)),
        ("Frames", task.frames_spec),
        ("Chunk", f"{task.chunk_size} frame{'s' if task.chunk_size != 1 else ''}"),
        ("Needs", _needs(task)),
        ("Camera", task.camera or "the scene's"),
        ("Layers", ", ".join(task.layers or []) or "the scene's"),
        ("Output", task.output_dir or "the farm's results"),
        ("Files", str((task.options or {}).get("files") or "shared path")),
    ]
    rows = list(TaskAsset.select(TaskAsset.path, TaskAsset.is_scene, Asset.id, Asset.size, Asset.hash, Asset.xxhash)
                .join(Asset).where(TaskAsset.task == task.id)
                .order_by(TaskAsset.is_scene.desc(), TaskAsset.path).tuples())
    # a file is reused when an earlier task already used it: this task found it stored and sent nothing
    # (an asset's created_at cannot tell, since a new file is stored by its upload, before the submit)
    ids = sorted({r[2] for r in rows})
    earlier = TaskAsset.select(TaskAsset.asset).where((TaskAsset.task < task.id) & TaskAsset.asset.in_(ids))
    reused = {asset for (asset,) in earlier.distinct().tuples()} if ids else set()
    files = [TaskFile(path, size, md5, xxh64, bool(is_scene), asset in reused)
             for path, is_scene, asset, size, md5, xxh64 in rows]
    return TaskDetails(settings, files)


def queued_count() -> int:
    """Frames waiting to be claimed in claimable tasks."""
    return (
        Frame.select()
        .join(Task)
        .where((Frame.status == FrameState.QUEUED) & (Frame.is_released == True) & Task.status.in_(CLAIMABLE))  # noqa: E712
        .count()
    )


def frame_counts(task_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {tid: {} for tid in task_ids}
    if not task_ids:
        return out
    rows = (
        Frame.select(Frame.task, Frame.status, fn.COUNT(Frame.id).alias("n"))
        .where(Frame.task.in_(task_ids))
        .group_by(Frame.task, Frame.status)
        .tuples()
    )
    for tid, status, n in rows:
        out[tid][status] = n
    return out


def _info(task: Task, counts: dict[str, int], frames: list[dict[str, Any]]) -> TaskInfo:
    return TaskInfo(
        task_id=task.id,
        status=task.status,
        user=task.user.name,
        name=task.name,
        scene=task.scene,
        renderer=task.renderer,
        priority=str(Priority.of_order(task.priority) or task.priority),
        frames_spec=task.frames_spec,
        created_at=iso(task.created_at) or "",
        finished_at=iso(task.finished_at),
        counts={str(s): counts.get(s, 0) for s in FrameState},
        frames=[_frame(f) for f in frames],
    )


def _frame(f: dict[str, Any]) -> FrameInfo:
    return FrameInfo(
        frame=f["number"],
        status=f["status"],
        attempts=f["attempts"],
        is_test=f["is_test"],
        worker=f["worker"],
        error=f["error"],
        started_at=iso(f["started_at"]),
        finished_at=iso(f["finished_at"]),
        outputs=list(f["outputs"] or []),
        progress=f["progress"],
    )


