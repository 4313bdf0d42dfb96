"""Every scheduler state transition, on SQLite and on PostgreSQL.

The ``any_farm`` fixture is parametrized over both databases; each test gets
a fresh one. Times are injected (``now=``) so lease expiry needs no sleeping.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import TEST_USER, clean_env, run_together

from rfarm.state import scheduler, taskinfo
from rfarm.errors import NotFoundError, StateError, UsageError
from rfarm.state.models import Event, Frame, Task, utcnow
from rfarm.state.scheduler import Claim, Limits, NodeCaps, SubmitRequest

LEASE = 30


def submit(
    frames: Iterable[int] = range(1, 11), *, user: str = TEST_USER, limits: Limits | None = None, **kw: Any
) -> int:
    request = SubmitRequest(scene="/scenes/shot.blend", renderer="blender", frames=list(frames), **kw)
    return scheduler.submit(request, user=user, limits=limits or Limits())


def claim(node: str = "n1", *, now: datetime | None = None, caps: NodeCaps | None = None) -> Claim | None:
    return scheduler.claim(node, lease_s=LEASE, now=now, caps=caps or NodeCaps())


def must_claim(node: str = "n1", *, now: datetime | None = None) -> Claim:
    c = claim(node, now=now)
    assert c is not None, "expected a claimable frame"
    return c


def numbers(c: Claim | None) -> list[int]:
    assert c is not None
    return [f.number for f in c.frames]


def frames_of(task_id: int) -> dict[int, Frame]:
    return {f.number: f for f in Frame.select().where(Frame.task == task_id)}


def task_status(task_id: int) -> str:
    return str(Task.get_by_id(task_id).status)


def events(task_id: int, kind: str | None = None) -> list[Event]:
    query = Event.select().where(Event.task == task_id).order_by(Event.id)
    if kind:
        query = query.where(Event.kind == kind)
    return list(query)


def finish(c: Claim, *, now: datetime | None = None) -> None:
    for f in c.frames:
        scheduler.finish_frame(f.id, c.token, outputs=[f"/out/frame_{f.number:04d}.png"], now=now)


# -- submit ---------------------------------------------------------------------------


def test_submit_records_frames_chunks_and_test_frames(any_farm: Any) -> None:
    tid = submit(range(1, 11), test_frames=[5], chunk_size=3, priority="default", frames_spec="1-10")
    task = Task.get_by_id(tid)
    assert (task.status, task.user.name, task.priority, task.chunk_size, task.frames_spec) == (
        "queued", TEST_USER, 1, 3, "1-10")
    rows = frames_of(tid)
    assert sorted(rows) == list(range(1, 11))
    test = rows[5]
    assert (test.is_test, test.is_released, test.chunk, test.rank, test.status, test.attempts) == (
        True, True, 0, 0, "queued", 0)
    chunks: dict[int, list[int]] = {}
    for n, f in sorted(rows.items()):
        if n == 5:
            continue
        assert (f.is_test, f.is_released, f.rank, f.status) == (False, False, 3, "queued")
        chunks.setdefault(f.chunk, []).append(n)
    assert chunks == {1: [1, 2, 3], 2: [4, 6, 7], 3: [8, 9, 10]}
    assert [e.kind for e in events(tid)] == ["submitted"]


def test_submit_without_test_frames_releases_everything(any_farm: Any) -> None:
    tid = submit(range(1, 5), priority="low")
    assert all(f.is_released and f.rank == 5 and not f.is_test for f in frames_of(tid).values())
    tid = submit(range(1, 3), priority="high")
    assert {f.rank for f in frames_of(tid).values()} == {1}


def test_submit_ten_thousand_frames(any_farm: Any) -> None:
    tid = submit(range(1, 10_001), test_frames=[1, 5000, 10_000], chunk_size=10)
    assert Frame.select().where(Frame.task == tid).count() == 10_000
    assert Frame.select().where((Frame.task == tid) & (Frame.is_test == True)).count() == 3
    assert taskinfo.queued_count() == 3


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"priority": "urgent"}, "unknown priority"),
        ({"frames": []}, "no frames"),
        ({"test_frames": [50]}, "test frame 50"),
    ],
)
def test_submit_refuses_bad_requests_and_writes_nothing(any_farm: Any, kw: dict[str, Any], message: str) -> None:
    kw = dict(kw)
    frames = kw.pop("frames", range(1, 11))
    with pytest.raises(UsageError, match=message):
        submit(frames, **kw)
    assert Task.select().count() == 0 and Frame.select().count() == 0


# -- claim order ----------------------------------------------------------------------


def test_claim_marks_frames_running(any_farm: Any) -> None:
    t0 = utcnow()
    tid = submit(range(1, 3))
    c = must_claim("node-a", now=t0)
    assert (c.task_id, c.user, c.scene, c.renderer) == (tid, TEST_USER, "/scenes/shot.blend", "blender")
    assert [(f.number, f.attempt, f.is_test) for f in c.frames] == [(1, 1, False)]
    f = frames_of(tid)[1]
    assert (f.status, f.worker, f.lease_token, f.attempts, f.started_at) == ("running", "node-a", c.token, 1, t0)
    assert f.lease_until == t0 + timedelta(seconds=LEASE)
    assert task_status(tid) == "rendering"
    assert events(tid, "claimed")[0].node == "node-a"


def test_test_frames_come_first_then_priority_then_age(any_farm: Any) -> None:
    low = submit(range(1, 3), priority="low")
    default = submit(range(1, 3), priority="default")
    high = submit(range(1, 3), priority="high")
    # submitted last, at low priority, but its test frame goes first
    tested = submit(range(1, 4), priority="low", test_frames=[2])
    default2 = submit(range(1, 2), priority="default")
    order = []
    while (c := claim()) is not None:
        order.append((c.task_id, numbers(c)))
    assert order == [
        (tested, [2]),
        (high, [1]), (high, [2]),
        (default, [1]), (default, [2]), (default2, [1]),
        (low, [1]), (low, [2]),
    ]
    # the tested task's other frames wait for their test frame
    assert taskinfo.queued_count() == 0
    assert all(not f.is_released for n, f in frames_of(tested).items() if n != 2)


def test_claim_takes_whole_chunks(any_farm: Any) -> None:
    tid = submit(range(1, 8), chunk_size=3)
    claims = [must_claim() for _ in range(3)]
    assert claim() is None
    assert [numbers(c) for c in claims] == [[1, 2, 3], [4, 5, 6], [7]]
    assert len({c.token for c in claims}) == 3
    rows = frames_of(tid)
    for c in claims:
        assert {rows[n].lease_token for n in numbers(c)} == {c.token}


def test_test_frames_are_rendered_alone_even_with_chunks(any_farm: Any) -> None:
    tid = submit(range(1, 11), chunk_size=5, test_frames=[1, 10])
    first, second = must_claim(), must_claim()
    assert (numbers(first), numbers(second)) == ([1], [10])
    assert claim() is None
    finish(first)
    assert claim() is None, "other frames wait for every test frame"
    finish(second)
    assert [numbers(c) for c in (must_claim(), must_claim())] == [[2, 3, 4, 5, 6], [7, 8, 9]]
    assert task_status(tid) == "rendering"


def test_claim_respects_node_caps(any_farm: Any) -> None:
    submit(range(1, 2), ram_gb=16, gpus=1)
    assert claim(caps=NodeCaps(ram_gb=8, gpus=4)) is None
    assert claim(caps=NodeCaps(ram_gb=64, gpus=0)) is None
    assert numbers(claim(caps=NodeCaps(ram_gb=16, gpus=1))) == [1]


def test_concurrent_claims_from_threads_never_share_a_frame(any_farm: Any) -> None:
    tid = submit(range(1, 61))
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(name: str) -> None:
        mine: list[int] = []
        try:
            start.wait(timeout=30)
            while True:
                c = scheduler.claim(name, lease_s=LEASE)
                if c is None:
                    if taskinfo.queued_count() == 0:
                        break
                    continue
                mine.extend(numbers(c))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            got[name] = mine
            any_farm.db.close()

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    claimed = [n for frames in got.values() for n in frames]
    assert sorted(claimed) == list(range(1, 61)), Counter(claimed).most_common(3)
    rows = frames_of(tid)
    assert all(f.status == "running" and f.attempts == 1 for f in rows.values())
    for name, frames in got.items():
        assert all(rows[n].worker == name for n in frames)


_CLAIM_SETUP = """
from rfarm.config import load_config
from rfarm.state.farm import open_farm

open_farm(load_config())
"""
_CLAIM_CHILD = """
import json
from rfarm.state import scheduler, taskinfo

got = []
while True:
    c = scheduler.claim(me, lease_s=60)
    if c is None:
        if taskinfo.queued_count() == 0:
            break
        continue
    got += [f.number for f in c.frames]
print(json.dumps(got))
"""


@pytest.mark.e2e
def test_concurrent_claims_from_processes_never_share_a_frame(any_farm: Any, tmp_path: Path) -> None:
    tid = submit(range(1, 81), chunk_size=2)
    env = clean_env({
        "RFARM_HOME": str(any_farm.config.home_dir), "RFARM_USER": TEST_USER,
        "RFARM_DATABASE_URL": any_farm.config.database,
    })
    outs = run_together(_CLAIM_CHILD, 4, env, tmp_path / "sync", setup=_CLAIM_SETUP)
    per_child = [json.loads(out) for out in outs]
    claimed = [n for frames in per_child for n in frames]
    assert sorted(claimed) == list(range(1, 81)), Counter(claimed).most_common(3)
    rows = frames_of(tid)
    assert all(f.status == "running" and f.attempts == 1 for f in rows.values())
    for i, frames in enumerate(per_child):
        assert all(rows[n].worker == f"p{i}" for n in frames)


# -- leases -------------------------------------------------------------------------


def test_renew_and_held_frames(any_farm: Any) -> None:
    t0 = utcnow()
    tid = submit(range(1, 5), chunk_size=2)
    c = must_claim(now=t0)
    ids = {f.id for f in c.frames}
    assert scheduler.held_frames(c.token) == ids
    t1 = t0 + timedelta(seconds=10)
    assert scheduler.renew(c.token, lease_s=LEASE, progress={1: 40.0, 2: 5.0}, now=t1) == ids
    rows = frames_of(tid)
    assert rows[1].lease_until == rows[2].lease_until == t1 + timedelta(seconds=LEASE)
    assert (rows[1].progress, rows[2].progress) == (40.0, 5.0)
    assert rows[3].lease_until is None
    assert scheduler.renew("not-a-token", lease_s=LEASE) == set()
    assert scheduler.held_frames("not-a-token") == set()
    first = c.frames[0]
    scheduler.finish_frame(first.id, c.token, outputs=["/out/1.png"])
    assert scheduler.held_frames(c.token) == {c.frames[1].id}
    assert scheduler.renew(c.token, lease_s=LEASE) == {c.frames[1].id}


def test_a_stale_token_cannot_finish_a_frame(any_farm: Any) -> None:
    t0 = utcnow()
    tid = submit(range(1, 2))
    stale = must_claim("old", now=t0)
    assert scheduler.requeue_expired(now=t0 + timedelta(seconds=LEASE + 1)) == 1
    fresh = must_claim("new", now=t0 + timedelta(seconds=LEASE + 2))
    frame_id = stale.frames[0].id
    assert fresh.frames[0].id == frame_id and fresh.token != stale.token
    with pytest.raises(StateError):
        scheduler.finish_frame(frame_id, stale.token, outputs=["/stale.png"])
    with pytest.raises(StateError):
        scheduler.fail_frame(frame_id, stale.token, error="stale failure")
    assert scheduler.renew(stale.token, lease_s=LEASE) == set()
    row = frames_of(tid)[1]
    assert (row.status, row.worker, row.lease_token, row.failures, row.error, row.attempts) == (
        "running", "new", fresh.token, 0, None, 2)
    scheduler.finish_frame(frame_id, fresh.token, outputs=["/fresh.png"])
    row = frames_of(tid)[1]
    assert (row.status, row.outputs, row.lease_token) == ("done", ["/fresh.png"], fresh.token)
    assert task_status(tid) == "done"
    with pytest.raises(StateError):
        scheduler.finish_frame(frame_id, fresh.token, outputs=["/again.png"])


def test_fail_frame_uses_attempts_then_fails(any_farm: Any) -> None:
    tid = submit(range(1, 2), limits=Limits(max_attempts=3))
    for attempt in (1, 2):
        c = must_claim()
        assert c.frames[0].attempt == attempt
        assert scheduler.fail_frame(c.frames[0].id, c.token, error=f"boom {attempt}", log_path="/l") == "queued"
        row = frames_of(tid)[1]
        assert (row.status, row.failures, row.error, row.lease_token, row.finished_at) == (
            "queued", attempt, f"boom {attempt}", None, None)
        assert task_status(tid) in ("queued", "rendering")
    c = must_claim()
    assert scheduler.fail_frame(c.frames[0].id, c.token, error="boom 3") == "failed"
    row = frames_of(tid)[1]
    assert (row.status, row.failures, row.attempts, row.error) == ("failed", 3, 3, "boom 3")
    assert row.finished_at is not None
    assert claim() is None
    task = Task.get_by_id(tid)
    assert task.status == "failed" and task.finished_at is not None
    assert [e.kind for e in events(tid) if e.frame_id is not None and e.kind in ("retry", "failed")] == [
        "retry", "retry", "failed"]
    assert [e.kind for e in events(tid) if e.frame_id is None][-1] == "failed"  # the task's own event


def test_requeue_expired_does_not_use_an_attempt(any_farm: Any) -> None:
    t = utcnow()
    tid = submit(range(1, 3), limits=Limits(max_attempts=3, max_lost_leases=5))
    c = must_claim(now=t)
    assert scheduler.requeue_expired(now=t + timedelta(seconds=LEASE - 1)) == 0
    assert frames_of(tid)[1].status == "running"
    for lost in range(1, 5):
        assert scheduler.requeue_expired(now=t + timedelta(seconds=LEASE + 1)) == 1
        row = frames_of(tid)[1]
        assert (row.status, row.lost_leases, row.failures, row.lease_token, row.lease_until) == (
            "queued", lost, 0, None, None)
        t += timedelta(seconds=LEASE + 2)
        c = must_claim(now=t)
        assert numbers(c) == [1]
    # the fifth lost lease fails the frame
    assert scheduler.requeue_expired(now=t + timedelta(seconds=LEASE + 1)) == 1
    row = frames_of(tid)[1]
    assert (row.status, row.lost_leases, row.failures, row.attempts) == ("failed", 5, 0, 5)
    assert "lease lost 5 times" in row.error
    assert len(events(tid, "lease_expired")) == 5
    assert frames_of(tid)[2].status == "queued"


def test_requeue_expired_leaves_live_leases(any_farm: Any) -> None:
    t0 = utcnow()
    submit(range(1, 3))
    old = must_claim("a", now=t0)
    young = must_claim("b", now=t0 + timedelta(seconds=20))
    assert scheduler.requeue_expired(now=t0 + timedelta(seconds=LEASE + 1)) == 1
    assert scheduler.held_frames(old.token) == set()
    assert scheduler.held_frames(young.token) == {young.frames[0].id}


def test_release_frames_gives_back_without_using_an_attempt(any_farm: Any) -> None:
    tid = submit(range(1, 4), chunk_size=3)
    c = must_claim()
    assert scheduler.release_frames(c.token) == 3
    rows = frames_of(tid)
    assert all((f.status, f.failures, f.lost_leases, f.worker, f.lease_token) == ("queued", 0, 0, None, None)
               for f in rows.values())
    assert task_status(tid) == "queued"
    assert numbers(must_claim()) == [1, 2, 3]


# -- test-frame outcomes --------------------------------------------------------------


def test_stop_after_test_failed_test_fails_the_task(any_farm: Any) -> None:
    tid = submit(range(1, 6), test_frames=[3], stop_after_test=True, limits=Limits(max_attempts=1))
    c = must_claim()
    assert numbers(c) == [3] and c.frames[0].is_test
    assert claim() is None
    assert scheduler.fail_frame(c.frames[0].id, c.token, error="bad shader") == "failed"
    rows = frames_of(tid)
    assert rows[3].status == "failed"
    assert {n: f.status for n, f in rows.items() if n != 3} == {1: "cancelled", 2: "cancelled", 4: "cancelled", 5: "cancelled"}
    assert task_status(tid) == "failed"
    assert claim() is None
    assert events(tid, "test_failed")


def test_hold_after_test_failed_test_holds_the_task(any_farm: Any) -> None:
    tid = submit(range(1, 4), test_frames=[1], hold_after_test=True, limits=Limits(max_attempts=1))
    c = must_claim()
    assert scheduler.fail_frame(c.frames[0].id, c.token, error="bad") == "failed"
    assert task_status(tid) == "held"
    assert {f.status for n, f in frames_of(tid).items() if n != 1} == {"queued"}
    assert claim() is None
    scheduler.resume_task(tid, actor=TEST_USER)
    assert [numbers(must_claim()), numbers(must_claim())] == [[2], [3]]


def test_hold_after_test_success_holds_until_resume(any_farm: Any) -> None:
    tid = submit(range(1, 5), test_frames=[2], hold_after_test=True)
    c = must_claim()
    finish(c)
    rows = frames_of(tid)
    assert rows[2].status == "done"
    # released in the same transaction, but the held task dispatches nothing
    assert all(f.is_released and f.status == "queued" for n, f in rows.items() if n != 2)
    assert task_status(tid) == "held"
    assert claim() is None and taskinfo.queued_count() == 0
    assert events(tid, "held")
    scheduler.resume_task(tid, actor=TEST_USER)
    assert task_status(tid) == "rendering"
    got = [numbers(must_claim()) for _ in range(3)]
    assert got == [[1], [3], [4]]


def test_release_after_test_is_one_transaction_with_the_finish(any_farm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tid = submit(range(1, 4), test_frames=[1])
    c = must_claim()
    real = scheduler._after_test_frames

    def release_then_crash(task_id: int, now: datetime) -> None:
        real(task_id, now)
        raise RuntimeError("crash after the release")

    monkeypatch.setattr(scheduler, "_after_test_frames", release_then_crash)
    with pytest.raises(RuntimeError):
        finish(c)
    rows = frames_of(tid)
    # nothing of the half-done finish is visible: the frame is still running, the rest still held back
    assert (rows[1].status, rows[1].lease_token) == ("running", c.token)
    assert not rows[2].is_released and not rows[3].is_released
    monkeypatch.setattr(scheduler, "_after_test_frames", real)
    finish(c)
    assert all(f.is_released for f in frames_of(tid).values())
    assert numbers(must_claim()) == [2]


def test_failed_test_without_a_flag_lets_the_rest_go_on(any_farm: Any) -> None:
    tid = submit(range(1, 4), test_frames=[2], limits=Limits(max_attempts=1))
    c = must_claim()
    assert scheduler.fail_frame(c.frames[0].id, c.token, error="meh") == "failed"
    assert task_status(tid) == "rendering"
    rest = [must_claim(), must_claim()]
    assert [numbers(r) for r in rest] == [[1], [3]]
    for r in rest:
        finish(r)
    assert task_status(tid) == "failed"  # one frame failed for good


def test_successful_test_releases_the_rest(any_farm: Any) -> None:
    tid = submit(range(1, 4), test_frames=[2])
    finish(must_claim())
    for _ in range(2):
        finish(must_claim())
    assert task_status(tid) == "done"
    assert {f.status for f in frames_of(tid).values()} == {"done"}
    assert events(tid, "released") and events(tid, "done")


# -- control ----------------------------------------------------------------------


def test_cancel_takes_running_frames_away(any_farm: Any) -> None:
    tid = submit(range(1, 6))
    done = must_claim()
    finish(done)
    running = must_claim()
    assert scheduler.cancel_task(tid, actor=TEST_USER) == 4
    rows = frames_of(tid)
    assert rows[1].status == "done"
    assert {n: f.status for n, f in rows.items() if n != 1} == dict.fromkeys([2, 3, 4, 5], "cancelled")
    assert scheduler.renew(running.token, lease_s=LEASE) == set()
    with pytest.raises(StateError):
        finish(running)
    task = Task.get_by_id(tid)
    assert task.status == "cancelled" and task.finished_at is not None
    assert claim() is None
    with pytest.raises(UsageError, match="already cancelled"):
        scheduler.cancel_task(tid, actor=TEST_USER)


def test_pause_and_resume(any_farm: Any) -> None:
    tid = submit(range(1, 4))
    running = must_claim()
    scheduler.pause_task(tid, actor=TEST_USER)
    assert task_status(tid) == "paused"
    assert claim() is None
    # a frame already rendering still finishes while paused
    finish(running)
    assert task_status(tid) == "paused"
    with pytest.raises(UsageError):
        scheduler.pause_task(tid, actor=TEST_USER)
    scheduler.resume_task(tid, actor=TEST_USER)
    assert task_status(tid) == "rendering"
    with pytest.raises(UsageError, match="not paused or held"):
        scheduler.resume_task(tid, actor=TEST_USER)
    finish(must_claim())
    finish(must_claim())
    assert task_status(tid) == "done"
    with pytest.raises(UsageError):
        scheduler.pause_task(tid, actor=TEST_USER)


def test_retry_failed_only_or_everything(any_farm: Any) -> None:
    tid = submit(range(1, 5), limits=Limits(max_attempts=1))
    c = must_claim()
    scheduler.fail_frame(c.frames[0].id, c.token, error="boom")
    finish(must_claim())  # frame 2 done
    scheduler.cancel_task(tid, actor=TEST_USER)  # frames 3, 4 cancelled
    assert {n: f.status for n, f in frames_of(tid).items()} == {1: "failed", 2: "done", 3: "cancelled", 4: "cancelled"}
    assert scheduler.retry_task(tid, actor=TEST_USER, failed_only=True).frames == 1
    rows = frames_of(tid)
    assert (rows[1].status, rows[1].failures, rows[1].error) == ("queued", 0, None)
    assert (rows[3].status, rows[4].status) == ("cancelled", "cancelled")
    assert task_status(tid) in ("queued", "rendering")
    with pytest.raises(UsageError, match="no failed frames"):
        scheduler.retry_task(tid, actor=TEST_USER, failed_only=True)
    assert scheduler.retry_task(tid, actor=TEST_USER).frames == 2
    assert {n: f.status for n, f in frames_of(tid).items()} == {1: "queued", 2: "done", 3: "queued", 4: "queued"}
    for _ in range(3):
        finish(must_claim())
    task = Task.get_by_id(tid)
    assert (task.status, frames_of(tid)[1].attempts) == ("done", 2)
    with pytest.raises(UsageError):
        scheduler.retry_task(tid, actor=TEST_USER)


def test_task_info_shape(any_farm: Any) -> None:
    t0 = utcnow()
    tid = submit(range(1, 4), test_frames=[3], name="shot.blend", frames_spec="1-3")
    c = must_claim("n9", now=t0)
    scheduler.finish_frame(c.frames[0].id, c.token, outputs=["/o/3.png"], now=t0 + timedelta(seconds=2))
    info = taskinfo.task_info(taskinfo.find_task(tid))
    assert (info.task_id, info.status, info.user, info.name, info.priority, info.frames_spec) == (
        tid, "rendering", TEST_USER, "shot.blend", "default", "1-3")
    assert [f.frame for f in info.frames] == [3, 1, 2]  # test frames first
    test = info.frames[0]
    assert (test.status, test.is_test, test.worker, test.attempts, test.outputs) == ("done", True, "n9", 1, ["/o/3.png"])
    assert test.started_at == t0.isoformat(timespec="microseconds") + "+00:00"
    assert datetime.fromisoformat(test.finished_at) - datetime.fromisoformat(test.started_at) == timedelta(seconds=2)
    assert info.frames[1].started_at is None and info.frames[1].finished_at is None
    assert info.counts == {"queued": 2, "running": 0, "done": 1, "failed": 0, "cancelled": 0}
    with pytest.raises(UsageError):
        taskinfo.list_tasks(user=TEST_USER, status=["exploded"])
    assert [t.task_id for t in taskinfo.list_tasks(user=TEST_USER, status=["rendering"])] == [tid]
    assert taskinfo.list_tasks(user=TEST_USER, status=["done"]) == []


def test_users_are_created_once(any_farm: Any) -> None:
    from rfarm.state.users import get_user

    a = get_user("carol")
    b = get_user("carol")
    assert a.id == b.id and len(a.unionid) == 32


# -- schema creation ------------------------------------------------------------------

_SCHEMA_CHILD = """
from rfarm.state.db import open_database

db = open_database((sync / "url").read_text(), create=True)
from rfarm.state.models import SchemaInfo
print(SchemaInfo.get(SchemaInfo.key == "version").value)
"""


@pytest.mark.e2e
def test_schema_created_by_several_processes_at_once(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from rfarm.state.db import SCHEMA_VERSION

    if db_kind == "postgresql":
        url = request.getfixturevalue("fresh_pg_url")
    else:
        url = "sqlite:///" + (tmp_path / "fresh" / "rfarm.db").as_posix()
    sync = tmp_path / "sync"
    sync.mkdir()
    (sync / "url").write_text(url)
    outs = run_together(_SCHEMA_CHILD, 4, clean_env(), sync)
    assert [o.strip() for o in outs] == [str(SCHEMA_VERSION)] * 4
    if db_kind == "postgresql":
        from urllib.parse import urlsplit

        import psycopg2

        parts = urlsplit(url)
        conn = psycopg2.connect(host=parts.hostname, port=parts.port, user=parts.username, dbname=parts.path[1:])
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT key, value FROM schema_info")
                rows = cur.fetchall()
                cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
                tables = {r[0] for r in cur.fetchall()}
        finally:
            conn.close()
    else:
        import sqlite3

        conn = sqlite3.connect(tmp_path / "fresh" / "rfarm.db")
        try:
            rows = conn.execute("SELECT key, value FROM schema_info").fetchall()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()
    assert rows == [("version", str(SCHEMA_VERSION))]
    assert {"schema_info", "user", "task", "frame", "node", "event", "hardware_config"} <= tables


def test_a_node_whose_previous_run_died_gets_its_frames_requeued_before_their_lease_ends(farm: Any) -> None:
    task = scheduler.submit(SubmitRequest(scene="/a.blend", renderer="blender", frames=[1, 2]), user="alice")
    dead = scheduler.claim("n1", lease_s=3600)
    alive = scheduler.claim("n2", lease_s=3600)
    assert dead is not None and alive is not None
    assert scheduler.requeue_expired() == 0  # every lease still runs
    assert scheduler.requeue_expired(worker="n1") == 1
    by_worker = {f.number: (f.status, f.lost_leases) for f in Frame.select().where(Frame.task == task)}
    assert by_worker == {dead.frames[0].number: ("queued", 1), alive.frames[0].number: ("running", 0)}
