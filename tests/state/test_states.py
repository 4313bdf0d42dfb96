"""One vocabulary for states, one writer of them, and only the moves the tables list.

The single-writer check reads the source of every module under ``rfarm/``
with :mod:`ast`; the move check records, with SQLite triggers, every status
change the scheduler's public functions make while tasks live their lives.
"""
from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import TEST_USER

from rfarm.state import nodes, scheduler
from rfarm.state.allocation import BLOCKLIST_AFTER
from rfarm.errors import StateError, UsageError
from rfarm.node.hardware import Hardware
from rfarm.state.models import Event, Frame, Task, database, utcnow
from rfarm.state.scheduler import Claim, Limits, SubmitRequest
from rfarm.state.states import (
    FRAME_MOVES,
    TASK_MOVES,
    EventKind,
    FrameState,
    Priority,
    TaskState,
    check_move,
    sources,
)

SCHEDULER = Path(scheduler.__file__)
PACKAGE = SCHEDULER.parents[1]
LEASE = 30

# -- the single writer ------------------------------------------------------------------

#: peewee calls that write the columns named in their arguments
_WRITE_CALLS = {"update", "insert", "insert_many", "insert_from", "create", "get_or_create",
                "replace", "replace_many", "bulk_create", "bulk_update"}
#: raw SQL that writes a status of the frame or task table
_SQL_WRITE = re.compile(r'\b(?:UPDATE|INSERT\s+INTO|REPLACE\s+INTO)\s+"?(?:frame|task)"?\b.*\bstatus\b', re.I | re.S)


def status_writes(source: str) -> list[int]:
    """The lines of ``source`` that write a ``status`` column or attribute.

    Found: ``x.status = ...`` (any assignment), ``setattr(x, "status", ...)``,
    a peewee write call (``Frame.update``, ``Task.insert``, ``create``, ...)
    given ``status=``, a dict naming ``"status"`` or ``Frame.status``, or
    ``**values`` where ``values`` is such a dict; and SQL text that updates or
    inserts into ``frame``/``task`` naming ``status``. Reading a status (in a
    query, a comparison, a JSON document) is no write.
    """
    tree = ast.parse(source)
    holders = _dicts_holding_status(tree)
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for target in targets for t in ast.walk(target)):
                lines.add(node.lineno)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "setattr" and len(node.args) > 1 and _is_status_key(node.args[1]):
                lines.add(node.lineno)
            elif name in _WRITE_CALLS and _call_writes_status(node, holders):
                lines.add(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_WRITE.search(node.value):
            lines.add(node.lineno)
    return sorted(lines)


def _is_status_key(node: ast.AST | None) -> bool:
    return (isinstance(node, ast.Constant) and node.value == "status") or (
        isinstance(node, ast.Attribute) and node.attr == "status")


def _names_status(node: ast.AST) -> bool:
    """Whether a dict in ``node`` (a row, a list of rows, ``fields=[...]``) names the status."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Dict) and any(_is_status_key(k) for k in sub.keys):
            return True
        if isinstance(sub, ast.Call) and getattr(sub.func, "id", "") == "dict" and any(k.arg == "status" for k in sub.keywords):
            return True
    return False


def _dicts_holding_status(tree: ast.AST) -> set[str]:
    """Names bound to a dict that names the status, or given one by ``name["status"] = ...``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _names_status(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and _is_status_key(t.slice):
                    names.add(t.value.id)
    return names


def _call_writes_status(call: ast.Call, holders: set[str]) -> bool:
    for kw in call.keywords:
        if kw.arg == "status" or (kw.arg == "fields" and any(_is_status_key(n) for n in ast.walk(kw.value))):
            return True
        if kw.arg is None and (_names_status(kw.value) or (isinstance(kw.value, ast.Name) and kw.value.id in holders)):
            return True
    return any(_names_status(arg) for arg in call.args)


def test_only_the_scheduler_writes_task_and_frame_states() -> None:
    writers = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != SCHEDULER
        for line in status_writes(path.read_text(encoding="utf-8"))
    ]
    assert writers == [], "only rfarm/state/scheduler.py may write a task or frame status"


def test_the_check_sees_the_schedulers_own_writes() -> None:
    source = SCHEDULER.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = {lines[n - 1].strip() for n in status_writes(source)}
    assert any(line.startswith("return Frame.update(status=to") for line in found), found
    assert any(line.startswith("return int(Task.update(status=to") for line in found), found


@pytest.mark.parametrize("code", [
    'Frame.update(status="done").where(Frame.id == 1).execute()',
    'Task.update(status=TaskState.PAUSED).where(Task.id == 1).execute()',
    'Task.update({Task.status: "paused"}).execute()',
    'Frame.update({"status": "queued"}).execute()',
    'Frame.insert(task=1, number=1, status="queued").execute()',
    'Frame.insert_many([{"task": 1, "number": n, "status": "queued"} for n in range(3)]).execute()',
    'Task.create(name="x", status="done")',
    'Frame.bulk_update(frames, fields=[Frame.status])',
    'frame.status = "done"\nframe.save()',
    'task.status: str = "failed"',
    'setattr(task, "status", "cancelled")',
    'values = {"finished_at": now}\nvalues["status"] = new\nTask.update(**values).execute()',
    'values = dict(status=new)\nTask.update(**values).execute()',
    'database.execute_sql(\'UPDATE "frame" SET "status" = ? WHERE id = ?\', ("done", 1))',
    'cursor.execute("INSERT INTO task (name, status) VALUES (%s, %s)", ("x", "queued"))',
])
def test_the_check_finds_a_planted_write(code: str) -> None:
    source = f"def sneaky(frame, task, frames, now, new, cursor):\n{_indent(code)}\n"
    assert status_writes(source), f"not seen: {code}"


@pytest.mark.parametrize("code", [
    'Frame.select().where((Frame.status == "queued") & Task.status.in_(CLAIMABLE))',
    'Frame.update(progress=50).where(Frame.status == "running").execute()',
    'done = sum(1 for f in one.frames if f.status in TERMINAL)',
    'print_json({"task_id": 1, "status": "cancelled"})',
    'values = dict(state="idle", last_seen=now)\nNode.update(**values).execute()',
    'database.execute_sql("SELECT status FROM frame WHERE task_id = ?", (1,))',
])
def test_the_check_lets_reads_be(code: str) -> None:
    source = f"def reader(one, now):\n{_indent(code)}\n"
    assert status_writes(source) == []


def _indent(code: str) -> str:
    return "\n".join("    " + line for line in code.splitlines())


# -- the moves ------------------------------------------------------------------------------


@pytest.fixture
def record_moves(farm: Any) -> None:
    """From now on, every status change of a frame or task lands in ``moves`` (SQLite triggers)."""
    database.execute_sql("CREATE TABLE moves (kind TEXT, old TEXT, new TEXT)")
    for model in (Frame, Task):
        table = model._meta.table_name
        database.execute_sql(
            f'CREATE TRIGGER record_{table}_moves AFTER UPDATE OF status ON "{table}" '
            f"WHEN OLD.status IS NOT NEW.status BEGIN "
            f"INSERT INTO moves VALUES ('{table}', OLD.status, NEW.status); END"
        )


def submit(frames: list[int], limits: Limits = Limits(), **kw: Any) -> int:
    request = SubmitRequest(scene="/scenes/shot.blend", renderer="blender", frames=frames, **kw)
    return scheduler.submit(request, user=TEST_USER, limits=limits)


def claim(node: str = "n1", **kw: Any) -> Claim:
    won = scheduler.claim(node, lease_s=LEASE, **kw)
    assert won is not None, "expected a claimable frame"
    return won


def finish(won: Claim) -> None:
    for f in won.frames:
        scheduler.finish_frame(f.id, won.token, outputs=[f"/out/{f.number}.png"])


def fail(won: Claim) -> str:
    return scheduler.fail_frame(won.frames[0].id, won.token, error="boom")


def status(task_id: int) -> str:
    return str(Task.get_by_id(task_id).status)


def edges(table: dict[Any, frozenset[Any]]) -> set[tuple[str, str]]:
    return {(str(s), str(t)) for s, targets in table.items() for t in targets}


def test_every_move_the_scheduler_makes_is_in_the_tables(record_moves: None) -> None:
    """Tasks that render, fail, lose leases, stop, get cancelled, retried, held and paused.

    Each task ends before the next is submitted, so each claim takes its frames.
    """
    t1 = submit([1, 2], Limits(max_attempts=2))
    finish(claim())
    assert fail(claim()) == FrameState.QUEUED
    assert fail(claim()) == FrameState.FAILED and status(t1) == TaskState.FAILED
    scheduler.retry_task(t1, actor=TEST_USER, failed_only=True)
    finish(claim())
    assert status(t1) == TaskState.DONE

    t2 = submit([1], Limits(max_lost_leases=2))
    for _ in range(2):
        at = utcnow()
        claim(now=at)
        assert scheduler.requeue_expired(now=at + timedelta(seconds=LEASE + 1)) == 1
    assert status(t2) == TaskState.FAILED

    t3 = submit([1, 2])
    assert scheduler.release_frames(claim().token) == 1
    claim()
    assert scheduler.cancel_task(t3, actor=TEST_USER) == 2  # one running, one queued
    assert scheduler.retry_task(t3, actor=TEST_USER).frames == 2
    scheduler.pause_task(t3, actor=TEST_USER)
    scheduler.cancel_task(t3, actor=TEST_USER)

    nodes.register_node("only", Hardware("host", "Linux", "6", 8, 32), tags=[], renderers={"blender": "5.0"})
    t4 = submit([1, 2, 3, 4, 5])
    for _ in range(BLOCKLIST_AFTER):
        fail(claim("only"))
    assert status(t4) == TaskState.FAILED
    assert "no eligible node" in (Frame.get((Frame.task == t4) & (Frame.number == 5)).error or "")

    t5 = submit([1, 2, 3], Limits(max_attempts=1), test_frames=[2], stop_after_test=True)
    fail(claim())
    assert status(t5) == TaskState.FAILED

    t6 = submit([1, 2, 3], test_frames=[2], hold_after_test=True)
    finish(claim())
    assert status(t6) == TaskState.HELD
    scheduler.pause_task(t6, actor=TEST_USER)
    scheduler.resume_task(t6, actor=TEST_USER)
    finish(claim())
    finish(claim())
    assert status(t6) == TaskState.DONE
    assert scheduler.retry_task(t6, actor=TEST_USER, frames=[3]).frames == 1  # a done frame named again
    finish(claim())
    assert status(t6) == TaskState.DONE

    recorded = set(database.execute_sql("SELECT kind, old, new FROM moves").fetchall())
    frame_moves = {(old, new) for kind, old, new in recorded if kind == Frame._meta.table_name}
    task_moves = {(old, new) for kind, old, new in recorded if kind == Task._meta.table_name}
    assert frame_moves == edges(FRAME_MOVES), "every frame move allowed, and each one made"
    assert task_moves <= edges(TASK_MOVES), sorted(task_moves - edges(TASK_MOVES))
    assert {("queued", "rendering"), ("rendering", "held"), ("held", "paused"), ("paused", "queued"),
            ("failed", "queued"), ("cancelled", "queued"), ("rendering", "cancelled"),
            ("rendering", "done"), ("rendering", "failed"), ("done", "queued")} <= task_moves


def test_a_frame_not_held_cannot_be_moved(farm: Any) -> None:
    submit([1])
    won = claim()
    finish(won)
    with pytest.raises(StateError, match="no longer held"):
        scheduler.finish_frame(won.frames[0].id, won.token, outputs=[])
    with pytest.raises(StateError, match="no longer held"):
        scheduler.fail_frame(won.frames[0].id, won.token, error="late")
    assert Frame.get_by_id(won.frames[0].id).status == FrameState.DONE


@pytest.mark.parametrize(("table", "kind"), [(FRAME_MOVES, FrameState), (TASK_MOVES, TaskState)])
def test_check_move_refuses_what_the_table_forbids(table: Any, kind: Any) -> None:
    for frm in kind:
        for to in kind:
            if frm == to:
                assert check_move(table, frm, to) == ()
            elif to in table[frm]:
                assert check_move(table, [str(frm)], to) == (frm,)
                assert frm in sources(table, to)
            else:
                with pytest.raises(StateError, match=f"cannot move from {frm} to {to}"):
                    check_move(table, (frm,), to)
                assert frm not in sources(table, to)


def test_done_frames_and_tasks_only_go_back_to_the_queue() -> None:
    """A done frame is rendered again only when a retry names it (``rfarm retry TASK --frames N``)."""
    assert FRAME_MOVES[FrameState.DONE] == frozenset({FrameState.QUEUED})
    assert TASK_MOVES[TaskState.DONE] == frozenset({TaskState.QUEUED})


# -- the vocabulary ---------------------------------------------------------------------------


def test_states_are_the_strings_the_database_stores() -> None:
    """``--json`` prints these strings and databases hold them: they must not change."""
    assert list(TaskState) == ["queued", "rendering", "held", "paused", "done", "failed", "cancelled"]
    assert list(FrameState) == ["queued", "running", "done", "failed", "cancelled"]
    assert {"queued": 1}[TaskState.QUEUED] == 1 and f"{FrameState.RUNNING}" == "running"


def test_priorities_sort_high_first_and_are_found_by_name() -> None:
    assert [(p, p.order) for p in Priority] == [("high", 0), ("default", 1), ("low", 2)]
    assert Priority.named("low") is Priority.LOW and Priority.of_order(0) is Priority.HIGH
    assert Priority.of_order(7) is None
    with pytest.raises(UsageError, match="unknown priority 'urgent': use high, default or low"):
        Priority.named("urgent")


def test_pause_records_its_event_on_the_given_clock(farm: Any) -> None:
    tid = submit([1])
    at = Task.get_by_id(tid).created_at + timedelta(hours=1)
    scheduler.pause_task(tid, actor=TEST_USER, now=at)
    event = Event.get((Event.task == tid) & (Event.kind == EventKind.PAUSED))
    assert event.created_at == at and status(tid) == TaskState.PAUSED
