"""Every task and frame state transition, in one place.

The database is the truth. Each change is a conditional UPDATE inside one
transaction (``BEGIN IMMEDIATE`` on SQLite; ``FOR UPDATE SKIP LOCKED`` claims
on PostgreSQL), and every write for a running frame carries its lease token,
so a worker that lost its lease can never mark a frame done.

Frame states: queued → running → done | failed | cancelled, with running →
queued when a render fails with attempts left or a lease expires. Frames held
back behind test frames stay ``queued`` with ``is_released`` false. Every
status write goes through :func:`_move_frames` or :func:`_move_task`, which
allow only the moves :mod:`rfarm.state.states` lists.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from peewee import SQL, Expression, ModelUpdate, Query, Tuple, fn

from rfarm.state.allocation import (
    BLOCKLIST_AFTER,
    Needs,
    NodeCaps,
    blocklisted_tasks,
    eligible_nodes_left,
    fits,
    sql_filter,
)
from rfarm.state.db import db_now, is_postgres
from rfarm.errors import StateError, UsageError
from rfarm.submit.frames import format_frames
from rfarm.state.prepared import Prepared, Slot
from rfarm.state.models import Event, Frame, NodeFailure, Task, User, database
from rfarm.state.states import (
    CLAIMABLE,
    FRAME_MOVES,
    PAUSABLE,
    TASK_MOVES,
    TERMINAL,
    EventKind,
    FrameState,
    Priority,
    TaskState,
    check_move,
)
from rfarm.submit.request import SubmitRequest
from rfarm.state.taskinfo import MAX_ID
from rfarm.state.users import get_user


@dataclass(frozen=True, slots=True)
class Limits:
    """Attempts a frame gets before it fails."""

    max_attempts: int = 3
    max_lost_leases: int = 5


@dataclass(frozen=True, slots=True)
class ClaimedFrame:
    id: int
    number: int
    is_test: bool
    attempt: int


@dataclass(frozen=True, slots=True)
class Claim:
    """Frames one worker won, rendered by one process under one lease token."""

    token: str
    task_id: int
    user: str
    scene: str
    renderer: str
    camera: str | None
    layers: tuple[str, ...]
    output_dir: str | None
    timeout_s: int | None
    no_progress_timeout_s: int | None
    ram_gb: float
    gpus: int
    options: dict[str, Any]
    frames: tuple[ClaimedFrame, ...]


# -- submit -----------------------------------------------------------------


def submit(request: SubmitRequest, *, user: str, limits: Limits = Limits(), now: datetime | None = None) -> int:
    """Record a task and its frames in one transaction; returns the task id."""
    priority = Priority.named(request.priority).order
    tests = list(dict.fromkeys(request.test_frames))
    now = now or db_now()
    owner = get_user(user)
    test_set = set(tests)
    rest = [f for f in request.frames if f not in test_set]
    with database.atomic():
        task = Task.create(
            user=owner,
            name=request.name,
            scene=request.scene,
            renderer=request.renderer,
            priority=priority,
            frames_spec=request.frames_spec,
            camera=request.camera,
            layers=list(request.layers),
            output_dir=request.output_dir,
            chunk_size=request.chunk_size,
            timeout_s=request.timeout_s,
            ram_gb=request.ram_gb,
            gpus=request.gpus,
            gpu_memory_gb=request.gpu_memory_gb,
            tags=sorted(set(request.tags)),
            renderer_version=request.renderer_version,
            no_progress_timeout_s=request.no_progress_timeout_s,
            max_attempts=limits.max_attempts,
            max_lost_leases=limits.max_lost_leases,
            stop_after_test=request.stop_after_test,
            hold_after_test=request.hold_after_test,
            options=dict(request.options),
            created_at=now,
        )
        tid, first, size, rank = task.id, len(tests), request.chunk_size, priority * 2 + 1
        # Test frames: one chunk each, claimed first at high priority; then the rest in chunks of
        # ``size`` in order (as rfarm.submit.frames.chunk_frames groups them), computed rather than built: a task may
        # have 100,000 frames.
        rows: list[tuple[Any, ...]] = [(tid, number, chunk, True, True, 0) for chunk, number in enumerate(tests)]
        released = not tests
        rows.extend((tid, number, first + i // size, False, released, rank) for i, number in enumerate(rest))
        _insert_frames(rows)
        _event(task.id, None, EventKind.SUBMITTED, f"{len(rows)} frames, {len(tests)} test frames", now=now,
               actor=user)
    return int(task.id)


def _insert_frames(rows: list[tuple[Any, ...]]) -> None:
    """Insert ``(task, number, chunk, is_test, is_released, rank)`` rows in bulk.

    Ten thousand frames go in as one statement (PostgreSQL: arrays unnested
    server-side) or one ``executemany`` (SQLite): building peewee queries row
    by row would cost more than the inserts themselves.
    """
    table = Frame._meta.table_name
    names = ('"task_id", "number", "chunk", "is_test", "is_released", "rank", "status", "attempts", '
             '"failures", "lost_leases", "progress", "outputs"')
    constants = f"'{FrameState.QUEUED}', 0, 0, 0, 0, '[]'"
    cursor = database.cursor()
    if is_postgres(database.obj):
        tasks, numbers, chunks, tests, released, ranks = (list(col) for col in zip(*rows))
        cursor.execute(
            f'INSERT INTO "{table}" ({names}) SELECT %s, unnest(%s::int[]), unnest(%s::int[]), '
            f"unnest(%s::bool[]), unnest(%s::bool[]), unnest(%s::int[]), {constants}",
            (tasks[0], numbers, chunks, tests, released, ranks),
        )
    else:
        cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES (?, ?, ?, ?, ?, ?, {constants})', rows)


# -- claim and lease --------------------------------------------------------


def claim(node: str, *, lease_s: int, caps: NodeCaps = NodeCaps(), now: datetime | None = None) -> Claim | None:
    """Atomically take the next chunk of frames for ``node``, or None.

    Three statements in one transaction: the claimable tasks with their
    owners, an ``UPDATE ... RETURNING`` that takes the best chunk of the
    first task that fits, and the ``claimed`` event.
    """
    now = now or db_now()
    with database.atomic():
        tasks = _CLAIMABLE_TASKS.rows(ram=caps.ram_gb, gpus=caps.gpus, gpu_memory=caps.gpu_memory_gb, node=node)
        token = uuid.uuid4().hex
        won: list[tuple[Any, ...]] = []
        for task in tasks:
            if not fits(Needs.of_task(task), caps):
                continue
            won = _take_chunk(task.id, node=node, token=token, lease_until=now + timedelta(seconds=lease_s), now=now)
            if won:
                break
        if not won:
            return None
        if task.status == TaskState.QUEUED:
            _move_task(task.id, frm=TaskState.QUEUED, to=TaskState.RENDERING)
        frames = tuple(sorted((ClaimedFrame(fid, number, bool(is_test), attempts)
                               for fid, number, is_test, attempts in won), key=lambda f: f.number))
        _event(task.id, None, EventKind.CLAIMED, ",".join(str(f.number) for f in frames), node=node, now=now)
    return Claim(
        token=token,
        task_id=task.id,
        user=task.user.name,
        scene=task.scene,
        renderer=task.renderer,
        camera=task.camera,
        layers=tuple(task.layers or ()),
        output_dir=task.output_dir,
        timeout_s=task.timeout_s,
        no_progress_timeout_s=task.no_progress_timeout_s,
        ram_gb=task.ram_gb,
        gpus=task.gpus,
        options=dict(task.options or {}),
        frames=frames,
    )


def _waiting(task_id: Any) -> Expression:
    return (Frame.task == task_id) & (Frame.status == FrameState.QUEUED) & (Frame.is_released == True)  # noqa: E712


def _claimable_tasks(pg: bool) -> Query:
    """One row per claimable task with its owner, best first.

    Each MIN is one index probe, so the cost grows with the number of
    tasks, not of queued frames.
    """
    best = Frame.select(fn.MIN(Frame.rank)).where(_waiting(Task.id))
    return (
        Task.select(Task, User.name, best.alias("best"))
        .join(User)
        .where(
            (Task.status.in_(CLAIMABLE))
            & sql_filter(Slot("ram"), Slot("gpus"), Slot("gpu_memory"))
            & (Task.id.not_in(blocklisted_tasks(Slot("node"))))
            & fn.EXISTS(Frame.select(Frame.id).where(_waiting(Task.id)))
        )
        .order_by(best, Task.id)
    )


def _best_chunk(task: Any) -> Expression:
    """The frames of the task's best waiting chunk.

    Found by the ``(rank, chunk)`` of its best waiting frame (a chunk's frames
    share their rank, set per chunk at submit), so that both the subquery and
    the frames it names are read by the index on ``(task, status,
    is_released, rank, chunk, number)`` alone, however many frames wait.
    """
    head = (Frame.select(Frame.rank, Frame.chunk).where(_waiting(task))
            .order_by(Frame.rank, Frame.chunk, Frame.number).limit(1))
    return _waiting(task) & (Tuple(Frame.rank, Frame.chunk) == head)


def _start_frames(pg: bool) -> Query:
    """Move the frames of the task's best waiting chunk to running under a lease.

    On PostgreSQL the chunk is first locked by a ``SELECT ... FOR UPDATE SKIP
    LOCKED`` in a ``WITH`` (run once, before the update), so concurrent claims
    take different chunks instead of waiting on each other; on SQLite one
    writer runs at a time and the ``UPDATE`` finds the chunk itself.
    """
    if pg:
        picked = Frame.select(Frame.id).where(_best_chunk(Slot("task"))).for_update(skip_locked=True).cte("picked")
        where = Frame.id.in_(picked.select(picked.c.id))
    else:
        where = _best_chunk(Slot("task"))
    query = _frames_update(
        where, FrameState.QUEUED, FrameState.RUNNING,
        dict(worker=Slot("node"), lease_token=Slot("token"), lease_until=Slot("until"),
             attempts=Frame.attempts + 1, started_at=Slot("now"), finished_at=None, progress=0, error=None),
    )
    if pg:
        query = query.with_cte(picked)
    return query.returning(Frame.id, Frame.number, Frame.is_test, Frame.attempts).tuples()


_CLAIMABLE_TASKS = Prepared(_claimable_tasks)
_START_FRAMES = Prepared(_start_frames)


def _take_chunk(task_id: int, *, node: str, token: str, lease_until: datetime, now: datetime) -> list[tuple[Any, ...]]:
    """Move the task's best waiting chunk to running under ``token``; its frames' ``(id, number, is_test, attempts)``."""
    return _START_FRAMES.rows(task=task_id, node=node, token=token, until=lease_until, now=now)


def renew(token: str, *, lease_s: int, progress: dict[int, float] | None = None, now: datetime | None = None) -> set[int]:
    """Extend the lease on the frames ``token`` still holds; returns their ids.

    A frame missing from the answer was cancelled or lost its lease: its
    render must stop.
    """
    now = now or db_now()
    held = held_frames(token)
    if not held:
        return set()
    with database.atomic():
        Frame.update(lease_until=now + timedelta(seconds=lease_s)).where(
            (Frame.lease_token == token) & (Frame.status == FrameState.RUNNING)
        ).execute()
        for number, pct in (progress or {}).items():
            Frame.update(progress=pct).where(
                (Frame.lease_token == token) & (Frame.status == FrameState.RUNNING) & (Frame.number == number)
            ).execute()
    return held_frames(token)


def held_frames(token: str) -> set[int]:
    """The ids of the frames ``token`` still holds (one cheap read)."""
    return {f.id for f in Frame.select(Frame.id).where((Frame.lease_token == token) & (Frame.status == FrameState.RUNNING))}


# -- the only status writes -------------------------------------------------


def _move_frames(where: Expression, *, frm: str | Iterable[str], to: FrameState, **values: Any) -> int:
    """Move the frames matching ``where`` that are in a state of ``frm`` to ``to``; returns how many moved.

    One conditional UPDATE, so a frame another transaction moved meanwhile is
    left alone. StateError if :data:`FRAME_MOVES` forbid a move asked for.
    """
    if not check_move(FRAME_MOVES, frm, to):
        return 0
    return int(_frames_update(where, frm, to, values).execute())


def _frames_update(where: Expression, frm: str | Iterable[str], to: FrameState, values: dict[str, Any]) -> ModelUpdate:
    """The one statement that writes a frame status (it matches nothing when no state of ``frm`` moves to ``to``)."""
    moving = check_move(FRAME_MOVES, frm, to)
    return Frame.update(status=to, **values).where(where & Frame.status.in_(moving))


def _move_task(task_id: int, *, frm: str | Iterable[str], to: TaskState, **values: Any) -> int:
    """Move the task to ``to`` if it is in a state of ``frm``; as :func:`_move_frames`, by :data:`TASK_MOVES`."""
    moving = check_move(TASK_MOVES, frm, to)
    if not moving:
        return 0
    return int(Task.update(status=to, **values).where((Task.id == task_id) & Task.status.in_(moving)).execute())


#: what a transition of a held frame needs to know about it afterwards
_HELD_COLUMNS = (Frame.id, Frame.task, Frame.number, Frame.is_test, Frame.status, Frame.worker)


def _move_held(frame_id: int, token: str, to: FrameState, **values: Any) -> Frame:
    """Move a running frame held by ``token`` to ``to``; StateError if the lease is gone.

    Answers the frame's id, task, number, is_test, status and worker as they are after the move.
    """
    query = _frames_update((Frame.id == frame_id) & (Frame.lease_token == token), FrameState.RUNNING, to, values)
    return _held(frame_id, list(query.returning(*_HELD_COLUMNS).tuples()))


def _held(frame_id: int, rows: list[tuple[Any, ...]]) -> Frame:
    if len(rows) != 1:
        raise StateError(f"frame {frame_id} is no longer held by this worker")
    fid, task_id, number, is_test, status, worker = rows[0]
    return Frame(id=fid, task=task_id, number=number, is_test=bool(is_test), status=status, worker=worker)


#: a frame rendered: :func:`finish_frame`'s move, the most frequent write of all
_FINISH = Prepared(lambda pg: _frames_update(
    (Frame.id == Slot("frame")) & (Frame.lease_token == Slot("token")), FrameState.RUNNING, FrameState.DONE,
    dict(outputs=Slot("outputs"), finished_at=Slot("now"), progress=100.0, lease_until=None,
         log_path=Slot("log_path"), error=None),
).returning(*_HELD_COLUMNS).tuples())


def finish_frame(frame_id: int, token: str, *, outputs: Sequence[str], log_path: str | None = None, now: datetime | None = None) -> None:
    """Record a frame rendered; releases the task's other frames if it was its last test frame."""
    now = now or db_now()
    with database.atomic():
        frame = _held(frame_id, _FINISH.rows(frame=frame_id, token=token, outputs=Frame.outputs.db_value(list(outputs)),
                                             now=now, log_path=log_path))
        _event(frame.task_id, frame.id, EventKind.DONE, f"frame {frame.number}", node=frame.worker, now=now)
        _after_frame(frame, now)


def fail_frame(frame_id: int, token: str, *, error: str, log_path: str | None = None, now: datetime | None = None) -> FrameState:
    """Record a failed render: requeued while attempts remain, else failed. Returns the new state."""
    now = now or db_now()
    with database.atomic():
        frame = Frame.get_by_id(frame_id)
        task = Task.get_by_id(frame.task_id)
        new = FrameState.FAILED if frame.failures + 1 >= task.max_attempts else FrameState.QUEUED
        frame = _move_held(
            frame_id, token, new, failures=Frame.failures + 1, error=error[:2000], log_path=log_path,
            lease_token=None, lease_until=None, finished_at=now if new == FrameState.FAILED else None,
        )
        kind = EventKind.FAILED if new == FrameState.FAILED else EventKind.RETRY
        _event(frame.task_id, frame.id, kind, error[:500], node=frame.worker, now=now)
        if frame.worker:
            _count_node_failure(task, frame.worker, now)
        _after_frame(frame, now)
    return new


def _count_node_failure(task: Task, node: str, now: datetime) -> None:
    """Count a failed render on ``node``; fail the task's queued frames when no node is left for it."""
    NodeFailure.insert(task=task.id, node=node, failures=1).on_conflict(
        conflict_target=[NodeFailure.task, NodeFailure.node],
        update={NodeFailure.failures: NodeFailure.failures + 1},
    ).execute()
    row = NodeFailure.get((NodeFailure.task == task.id) & (NodeFailure.node == node))
    if row.failures != BLOCKLIST_AFTER:
        return
    _event(task.id, None, EventKind.BLOCKLISTED, f"node {node} failed this task {row.failures} times", node=node, now=now)
    if not eligible_nodes_left(task, now):
        _move_frames(
            Frame.task == task.id, frm=FrameState.QUEUED, to=FrameState.FAILED,
            finished_at=now, lease_token=None, lease_until=None,
            error=f"no eligible node: every node that can render this task failed it {BLOCKLIST_AFTER} times",
        )


def release_frames(token: str, *, now: datetime | None = None) -> int:
    """Give back every frame ``token`` holds without using an attempt (a graceful stop)."""
    now = now or db_now()
    with database.atomic():
        frames = list(Frame.select().where((Frame.lease_token == token) & (Frame.status == FrameState.RUNNING)))
        for frame in frames:
            _move_held(frame.id, token, FrameState.QUEUED, lease_token=None, lease_until=None, worker=None, started_at=None)
            _event(frame.task_id, frame.id, EventKind.RELEASED, f"frame {frame.number}", now=now)
        for task_id in {f.task_id for f in frames}:
            _refresh_task(task_id, now)
    return len(frames)


def requeue_expired(*, now: datetime | None = None, worker: str | None = None) -> int:
    """Put back every running frame whose lease has expired; returns how many.

    A lost lease does not use up an attempt; a frame fails after its task's
    ``max_lost_leases`` of them. With ``worker``, that node's running frames
    go back too, whatever their lease: the node knows its previous run is dead.
    """
    now = now or db_now()
    count = 0
    lost_lease = Frame.lease_until < now
    if worker is not None:
        lost_lease = lost_lease | (Frame.worker == worker)
    with database.atomic():
        expired = list(
            Frame.select(Frame, Task.id, Task.max_lost_leases)
            .join(Task)
            .where((Frame.status == FrameState.RUNNING) & lost_lease)
        )
        for frame in expired:
            lost = frame.lost_leases + 1
            new = FrameState.FAILED if lost >= frame.task.max_lost_leases else FrameState.QUEUED
            error = f"lease lost {lost} times (worker {frame.worker} stopped answering)"
            n = _move_frames(
                (Frame.id == frame.id) & (Frame.lease_token == frame.lease_token), frm=FrameState.RUNNING, to=new,
                lost_leases=lost, lease_token=None, lease_until=None,
                error=error if new == FrameState.FAILED else frame.error,
                finished_at=now if new == FrameState.FAILED else None,
            )
            if n:
                count += 1
                _event(frame.task_id, frame.id, EventKind.LEASE_EXPIRED, f"frame {frame.number} from {frame.worker}", now=now)
                _after_frame(Frame.get_by_id(frame.id), now)
    return count


# -- task outcome -----------------------------------------------------------


def _after_frame(frame: Frame, now: datetime) -> None:
    """Apply test-frame outcomes and refresh the task after ``frame`` changed."""
    if frame.is_test and frame.status in TERMINAL:
        _after_test_frames(frame.task_id, now)
    _refresh_task(frame.task_id, now)


def _after_test_frames(task_id: int, now: datetime) -> None:
    task = Task.get_by_id(task_id)
    tests = Counter(f.status for f in Frame.select(Frame.status).where((Frame.task == task_id) & (Frame.is_test == True)))  # noqa: E712
    if any(s not in TERMINAL for s in tests):
        return
    held_back = (Frame.task == task_id) & (Frame.is_test == False) & (Frame.is_released == False)  # noqa: E712
    if tests[FrameState.FAILED] and task.stop_after_test:
        _move_frames(held_back, frm=FrameState.QUEUED, to=FrameState.CANCELLED, finished_at=now,
                     error="cancelled: a test frame failed")
        _move_task(task_id, frm=task.status, to=TaskState.FAILED, finished_at=now)
        _event(task_id, None, EventKind.TEST_FAILED, "test frame failed: task stopped", now=now)
        return
    Frame.update(is_released=True).where(held_back).execute()
    if task.hold_after_test and task.status in CLAIMABLE:
        _move_task(task_id, frm=task.status, to=TaskState.HELD)
        _event(task_id, None, EventKind.HELD, "test frames finished: waiting for resume", now=now)
    else:
        _event(task_id, None, EventKind.RELEASED, "test frames finished", now=now)


def _task_outlook(pg: bool) -> Query:
    """The task's status and which frame states it has: index probes, not a count of every frame."""
    def having(*states: FrameState):  # type: ignore[no-untyped-def]
        return fn.EXISTS(Frame.select(SQL("1")).where((Frame.task == Slot("task")) & Frame.status.in_(states)))

    return Task.select(
        Task.status,
        having(FrameState.QUEUED, FrameState.RUNNING),
        having(FrameState.RUNNING, FrameState.DONE, FrameState.FAILED),
        having(FrameState.FAILED),
        having(FrameState.CANCELLED),
    ).where(Task.id == Slot("task")).tuples()


_TASK_OUTLOOK = Prepared(_task_outlook)


def _refresh_task(task_id: int, now: datetime) -> None:
    """Derive the task's state from its frames' (paused, held, cancelled stay until changed).

    One statement reads what it needs, so finishing a frame of a large task
    costs no more than finishing one of a small task.
    """
    status, has_open, has_started, has_failed, has_cancelled = _TASK_OUTLOOK.rows(task=task_id)[0]
    new: TaskState
    if not has_open:
        if has_failed:
            new = TaskState.FAILED
        elif has_cancelled:
            new = TaskState.CANCELLED
        else:
            new = TaskState.DONE
        if status == TaskState.CANCELLED and new != TaskState.DONE:
            new = TaskState.CANCELLED
    elif status in (TaskState.PAUSED, TaskState.HELD, TaskState.CANCELLED, TaskState.FAILED):
        return
    elif has_started:
        new = TaskState.RENDERING
    else:
        new = TaskState.QUEUED
    if new != status:
        values: dict[str, Any] = {"finished_at": now} if new in TERMINAL else {}
        _move_task(task_id, frm=status, to=new, **values)
        if new in TERMINAL:
            _event(task_id, None, EventKind(new), f"task {new}", now=now)


# -- control ----------------------------------------------------------------


def cancel_task(task_id: int, *, actor: str, now: datetime | None = None) -> int:
    """Cancel every frame not yet finished; running renders see their lease gone."""
    now = now or db_now()
    with database.atomic():
        task = Task.get_by_id(task_id)
        if task.status in TERMINAL:
            raise UsageError(f"task {task.id} is already {task.status}")
        n = _move_frames(
            Frame.task == task.id, frm=(FrameState.QUEUED, FrameState.RUNNING), to=FrameState.CANCELLED,
            lease_token=None, lease_until=None, finished_at=now, error="cancelled",
        )
        _move_task(task.id, frm=task.status, to=TaskState.CANCELLED, finished_at=now)
        _event(task.id, None, EventKind.CANCELLED, f"by {actor}", now=now, actor=actor)
    return n


def pause_task(task_id: int, *, actor: str, now: datetime | None = None) -> None:
    """Stop dispatching the task's frames; frames already rendering finish."""
    now = now or db_now()
    with database.atomic():
        task = Task.get_by_id(task_id)
        if task.status not in PAUSABLE:
            raise UsageError(f"task {task.id} is {task.status} and cannot be paused")
        _move_task(task.id, frm=task.status, to=TaskState.PAUSED)
        _event(task.id, None, EventKind.PAUSED, f"by {actor}", now=now, actor=actor)


def resume_task(task_id: int, *, actor: str, now: datetime | None = None) -> None:
    """Let a paused or held task's frames be claimed again."""
    now = now or db_now()
    with database.atomic():
        task = Task.get_by_id(task_id)
        if task.status not in (TaskState.PAUSED, TaskState.HELD):
            raise UsageError(f"task {task.id} is {task.status}, not paused or held")
        _move_task(task.id, frm=task.status, to=TaskState.QUEUED)
        _event(task.id, None, EventKind.RESUMED, f"by {actor}", now=now, actor=actor)
        _refresh_task(task.id, now)


@dataclass(frozen=True, slots=True)
class Retried:
    """What a retry did: frames queued again, and on how many nodes the task's blocklist was cleared."""

    frames: int
    nodes_cleared: int


def retry_task(task_id: int, *, actor: str, failed_only: bool = False, frames: Sequence[int] | None = None,
               now: datetime | None = None) -> Retried:
    """Queue the task's failed (and, unless ``failed_only``, cancelled) frames again, or with ``frames``
    exactly those frames, finished ones included; clears the task's blocklist in the same transaction,
    since a node blocklisted for it would otherwise never take the frames again."""
    now = now or db_now()
    with database.atomic():
        task = Task.get_by_id(task_id)
        if frames is None:
            states: tuple[FrameState, ...] = (FrameState.FAILED,) if failed_only else (FrameState.FAILED, FrameState.CANCELLED)
            batches = [Frame.task == task.id]
        else:
            states = (FrameState.FAILED, FrameState.CANCELLED, FrameState.DONE)
            batches = _chosen_frames(task.id, frames)
        n = sum(_move_frames(
            chosen, frm=states, to=FrameState.QUEUED,
            failures=0, lost_leases=0, error=None, finished_at=None, progress=0, outputs=[],
            lease_token=None, lease_until=None, worker=None, is_released=True,
        ) for chosen in batches)
        if n == 0:
            if frames is not None:
                raise UsageError(f"frames {format_frames(frames)} of task {task.id} are queued or rendering already")
            raise UsageError(f"task {task.id} has no {' or '.join(states)} frames to retry")
        cleared = NodeFailure.delete().where(
            (NodeFailure.task == task.id) & (NodeFailure.failures >= BLOCKLIST_AFTER)).execute()
        NodeFailure.delete().where(NodeFailure.task == task.id).execute()
        _move_task(task.id, frm=task.status, to=TaskState.QUEUED, finished_at=None)
        blocklist = f"; blocklist cleared on {cleared} node{'s' if cleared != 1 else ''}" if cleared else ""
        _event(task.id, None, EventKind.RETRIED, f"{n} frames by {actor}{blocklist}", now=now, actor=actor)
        _refresh_task(task.id, now)
    return Retried(n, int(cleared))


#: frame numbers one statement names at most (SQLite binds up to 32,766 values)
_BATCH = 10_000


def _chosen_frames(task_id: int, numbers: Sequence[int]) -> list[Expression]:
    """The task's frames named ``numbers``, in batches of :data:`_BATCH`; UsageError naming one it lacks."""
    wanted = sorted(set(numbers))
    batches = [[n for n in wanted[i:i + _BATCH] if abs(n) <= MAX_ID] for i in range(0, len(wanted), _BATCH)]
    have: set[int] = set()
    for part in batches:
        have.update(n for (n,) in Frame.select(Frame.number)
                    .where((Frame.task == task_id) & Frame.number.in_(part)).tuples())
    missing = [n for n in wanted if n not in have]
    if missing:
        more = f" (nor {len(missing) - 1} more of the frames asked for)" if len(missing) > 1 else ""
        raise UsageError(f"task {task_id} has no frame {missing[0]}{more}")
    return [(Frame.task == task_id) & Frame.number.in_(part) for part in batches]


# -- worker helpers ---------------------------------------------------------


def set_log_path(frame_id: int, token: str, path: str) -> None:
    Frame.update(log_path=path).where((Frame.id == frame_id) & (Frame.lease_token == token)).execute()


def _event(task_id: int | None, frame_id: int | None, kind: EventKind, message: str, *, now: datetime,
           node: str | None = None, actor: str | None = None) -> None:
    """Record what happened; ``actor`` is the user whose call caused it (None for a node's own doing)."""
    _EVENT.count(task=task_id, frame=frame_id, kind=kind.value, message=message, node=node, actor=actor, now=now)


_EVENT = Prepared(lambda pg: Event.insert(
    task=Slot("task"), frame=Slot("frame"), kind=Slot("kind"), message=Slot("message"), node=Slot("node"),
    actor=Slot("actor"), created_at=Slot("now"),
))


__all__ = [
    "Claim", "ClaimedFrame", "Limits", "NodeCaps", "Retried", "SubmitRequest",
    "cancel_task", "claim", "fail_frame", "finish_frame", "pause_task", "release_frames",
    "renew", "requeue_expired", "resume_task", "retry_task", "submit",
]
