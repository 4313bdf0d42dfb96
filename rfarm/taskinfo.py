"""Reading tasks and frames for people and scripts: what ``rfarm status``, ``list`` and ``logs`` show.

Only :mod:`rfarm.scheduler` changes frame and task states; this module reads them.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from peewee import fn

from rfarm.errors import NotFoundError, UsageError
from rfarm.models import Frame, Task, User
from rfarm.states import CLAIMABLE, FrameState, Priority, TaskState


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


def iso(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as ISO 8601 with microseconds and ``+00:00``."""
    if value is None:
        return None
    return value.isoformat(timespec="microseconds") + "+00:00"


def owned_task(task_id: int | str, user: str, *, is_admin: bool = False) -> Task:
    """The task, if ``user`` may see it (admins see all); else NotFoundError."""
    try:
        tid = int(task_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"no task {task_id!r}: task ids are numbers") from None
    query = Task.select(Task, User).join(User).where(Task.id == tid)
    if not is_admin:
        query = query.where(User.name == user)
    task = query.first()
    if task is None:
        raise NotFoundError(f"no task {tid} for user {user!r}")
    return task


def task_info(task_id: int | str, *, user: str, is_admin: bool = False, with_frames: bool = True) -> TaskInfo:
    task = owned_task(task_id, user, is_admin=is_admin)
    frames = list(Frame.select().where(Frame.task == task.id).order_by(Frame.is_test.desc(), Frame.number)) if with_frames else []
    counts = frame_counts([task.id]).get(task.id, {})
    return _info(task, counts, frames)


def list_tasks(*, user: str, all_users: bool = False, status: Iterable[str] = (), limit: int = 200) -> list[TaskInfo]:
    query = Task.select(Task, User).join(User)
    if not all_users:
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


def frame_log(task_id: int | str, number: int | None, *, user: str, is_admin: bool = False) -> list[tuple[int, int, str | None]]:
    """``(frame, latest attempt, local log path)`` for the task's frames (or one frame)."""
    task = owned_task(task_id, user, is_admin=is_admin)
    query = Frame.select(Frame.number, Frame.attempts, Frame.log_path).where(Frame.task == task.id).order_by(Frame.number)
    if number is not None:
        query = query.where(Frame.number == number)
        if not query.exists():
            raise NotFoundError(f"task {task.id} has no frame {number}")
    return [(f.number, f.attempts, f.log_path) for f in query]


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


def _info(task: Task, counts: dict[str, int], frames: list[Frame]) -> TaskInfo:
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
        frames=[
            FrameInfo(
                frame=f.number,
                status=f.status,
                attempts=f.attempts,
                is_test=f.is_test,
                worker=f.worker,
                error=f.error,
                started_at=iso(f.started_at),
                finished_at=iso(f.finished_at),
                outputs=list(f.outputs or []),
                progress=f.progress,
            )
            for f in frames
        ],
    )


