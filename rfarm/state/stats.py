"""Farm metrics: queue lengths, running frames, success rate and frame times, per node."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any
from datetime import datetime, timedelta

from rfarm.state.db import db_now
from rfarm.state.models import Event, Frame, Task
from rfarm.state.states import CLAIMABLE, EventKind, FrameState, Priority, TaskState
from rfarm.state.taskinfo import iso


@dataclass(frozen=True, slots=True)
class NodeStats:
    node: str
    running: int
    done: int
    failed_renders: int
    mean_frame_s: float | None
    upload_mb_s: float | None
    download_mb_s: float | None


@dataclass(frozen=True, slots=True)
class FarmStats:
    since: str
    queued: dict[str, int]
    held_back: int
    running: int
    done: int
    failed_renders: int
    success_rate: float | None
    mean_frame_s: float | None
    upload_mb_s: float | None
    download_mb_s: float | None
    nodes: list[NodeStats] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def farm_stats(*, window: timedelta = timedelta(hours=24), now: datetime | None = None) -> FarmStats:
    """Queue lengths now, and outcomes of the frames finished within ``window``."""
    now = now or db_now()
    since = now - window
    queued = {str(p): 0 for p in Priority}
    held_back = 0
    rows = (
        Frame.select(Frame.is_released, Task.priority)
        .join(Task)
        .where((Frame.status == FrameState.QUEUED) & Task.status.in_((*CLAIMABLE, TaskState.HELD, TaskState.PAUSED)))
        .tuples()
    )
    for is_released, priority in rows:
        if is_released:
            queued[Priority.of_order(priority) or Priority.DEFAULT] += 1
        else:
            held_back += 1
    running: dict[str, int] = defaultdict(int)
    for (worker,) in Frame.select(Frame.worker).where(Frame.status == FrameState.RUNNING).tuples():
        running[worker or "?"] += 1
    times: dict[str, list[float]] = defaultdict(list)
    for worker, started, finished in (
        Frame.select(Frame.worker, Frame.started_at, Frame.finished_at)
        .where((Frame.status == FrameState.DONE) & (Frame.finished_at >= since))
        .tuples()
    ):
        if started and finished:
            times[worker or "?"].append((finished - started).total_seconds())
    failures: dict[str, int] = defaultdict(int)
    for (node,) in Event.select(Event.node).where(
        Event.kind.in_((EventKind.FAILED, EventKind.RETRY)) & (Event.created_at >= since)
    ).tuples():
        failures[node or "?"] += 1
    moved: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for node, kind, size, seconds in Event.select(Event.node, Event.kind, Event.bytes, Event.seconds).where(
        Event.kind.in_((EventKind.UPLOAD, EventKind.DOWNLOAD)) & (Event.created_at >= since) & Event.bytes.is_null(False)
    ).tuples():
        for key in ((node or "?", kind), ("*", kind)):
            moved[key][0] += size
            moved[key][1] += seconds or 0.0
    names = sorted(set(running) | set(times) | set(failures) | {n for n, _ in moved if n != "*"})
    per_node = [
        NodeStats(n, running.get(n, 0), len(times.get(n, [])), failures.get(n, 0), _mean(times.get(n, [])),
                  _rate(moved.get((n, EventKind.UPLOAD))), _rate(moved.get((n, EventKind.DOWNLOAD))))
        for n in names
    ]
    done = sum(len(v) for v in times.values())
    failed = sum(failures.values())
    return FarmStats(
        since=iso(since) or "",
        queued=queued,
        held_back=held_back,
        running=sum(running.values()),
        done=done,
        failed_renders=failed,
        success_rate=round(done / (done + failed), 4) if done + failed else None,
        mean_frame_s=_mean([t for v in times.values() for t in v]),
        upload_mb_s=_rate(moved.get(("*", EventKind.UPLOAD))),
        download_mb_s=_rate(moved.get(("*", EventKind.DOWNLOAD))),
        nodes=per_node,
    )


def record_transfer(kind: str, *, node: str | None, task_id: int | None, size: int, seconds: float) -> None:
    """Note an ``upload`` or ``download`` (:class:`EventKind`) of ``size`` bytes for the rates :func:`farm_stats` reports."""
    if size:
        Event.insert(task=task_id, kind=kind, node=node, bytes=size, seconds=seconds,
                     message=f"{size} bytes in {seconds:.3f} s", created_at=db_now()).execute()


def _rate(total: list[float] | None) -> float | None:
    """MB/s from ``[bytes, seconds]``."""
    if not total or total[1] <= 0:
        return None
    return round(total[0] / total[1] / 1e6, 3)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


@dataclass(frozen=True, slots=True)
class StatsSeries:
    """The farm over time, in equal buckets from ``starts[0]`` (ISO 8601 UTC) of ``bucket_s`` seconds each:
    frames queued per priority at each bucket's end, frames done and renders failed within it, and the
    bytes uploaded and downloaded within it with the seconds those transfers took."""

    starts: list[str]
    bucket_s: int
    queued: dict[str, list[int]]
    done: list[int]
    failed: list[int]
    upload_bytes: list[int]
    upload_s: list[float]
    download_bytes: list[int]
    download_s: list[float]


def farm_series(*, window: timedelta, buckets: int) -> StatsSeries:
    """The farm over the last ``window`` in ``buckets`` equal steps (the dashboard's charts)."""
    end = db_now()
    start = end - window
    step = window / buckets
    ends = [start + step * (i + 1) for i in range(buckets)]

    def bucket(when: datetime) -> int:
        return min(buckets - 1, max(0, int((when - start) / step)))

    # a frame waits from its task's submit until it starts (or ends unstarted, when cancelled)
    queued = {str(p): [0] * buckets for p in Priority}
    waiting = (Frame.select(Task.created_at, Task.priority, Frame.started_at, Frame.finished_at).join(Task)
               .where((Task.created_at <= end)
                      & (Frame.started_at.is_null() | (Frame.started_at > start))
                      & (Frame.finished_at.is_null() | (Frame.finished_at > start))).tuples())
    for created, priority, started, finished in waiting:
        left = min(t for t in (started, finished, end + step) if t is not None)
        row = queued[Priority.of_order(priority) or Priority.DEFAULT]
        for i, at in enumerate(ends):
            if created <= at < left:
                row[i] += 1
    done, failed = [0] * buckets, [0] * buckets
    moved = {EventKind.UPLOAD: ([0] * buckets, [0.0] * buckets), EventKind.DOWNLOAD: ([0] * buckets, [0.0] * buckets)}
    kinds = (EventKind.DONE, EventKind.FAILED, EventKind.RETRY, EventKind.UPLOAD, EventKind.DOWNLOAD)
    for kind, when, frame, size, seconds in (Event.select(Event.kind, Event.created_at, Event.frame, Event.bytes,
                                                           Event.seconds)
                                             .where((Event.created_at > start) & Event.kind.in_(kinds)).tuples()):
        i = bucket(when)
        if kind == EventKind.DONE and frame is not None:
            done[i] += 1
        elif kind in (EventKind.FAILED, EventKind.RETRY) and frame is not None:
            failed[i] += 1
        elif kind in moved:
            moved[kind][0][i] += size or 0
            moved[kind][1][i] += seconds or 0.0
    return StatsSeries([iso(start + step * i) or "" for i in range(buckets)], int(step.total_seconds()), queued, done,
                       failed, *moved[EventKind.UPLOAD], *moved[EventKind.DOWNLOAD])
