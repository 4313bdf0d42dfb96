"""Why a queued task waits, and a retry that clears what keeps it waiting (the blocklist)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rfarm.errors import UsageError
from rfarm.state import nodes, scheduler
from rfarm.state.allocation import BLOCKLIST_AFTER, NodeCaps
from rfarm.state.db import db_now
from rfarm.state.models import Frame, Node, NodeFailure, Task
from rfarm.state.waiting import waiting_reasons
from rfarm_testlib import TEST_USER
from test_allocation import add_node, submit


def reasons(tid: int) -> list[str]:
    return waiting_reasons(Task.get_by_id(tid), db_now())


def fail_on(node: str, times: int = BLOCKLIST_AFTER) -> None:
    for _ in range(times):
        claim = scheduler.claim(node, lease_s=60)
        assert claim is not None
        scheduler.fail_frame(claim.frames[0].id, claim.token, error="wrong camera")


def test_a_retried_task_is_rendered_again_by_the_nodes_that_had_blocklisted_it(any_farm: Any) -> None:
    add_node("a")
    add_node("b")
    tid = submit(frames=list(range(1, 7)))
    fail_on("a")
    fail_on("b")
    assert Task.get_by_id(tid).status == "failed", "every node blocklisted: the queued frames failed"
    retried = scheduler.retry_task(tid, actor=TEST_USER)
    assert (retried.frames, retried.nodes_cleared) == (6, 2)
    assert NodeFailure.select().where(NodeFailure.task == tid).count() == 0
    assert reasons(tid) == []
    claim = scheduler.claim("a", lease_s=60)
    assert claim is not None and claim.task_id == tid, "the blocklist no longer keeps node a away"


def test_a_task_blocklisted_everywhere_says_so_and_how_to_clear_it(any_farm: Any) -> None:
    add_node("a")
    tid = submit(frames=list(range(1, 6)))
    NodeFailure.insert(task=tid, node="a", failures=BLOCKLIST_AFTER).execute()  # failed on a, as fail_on does
    (line,) = reasons(tid)
    assert "blocklisted on every node" in line and "(a:" in line and f"rfarm retry {tid}" in line


def test_no_node_with_the_renderer_ram_gpus_or_tags_one_line_each(any_farm: Any) -> None:
    add_node("small", ram_gb=16, renderers={"blender": "5.0"})
    tid = submit(renderer="maya", ram_gb=64, gpus=2, tags=["redshift"])
    lines = reasons(tid)
    assert len(lines) == 4, lines
    assert lines[0] == "no node has the renderer maya (nodes offer: blender 5.0)"
    assert lines[1] == "no node has 64 GB RAM (the most a node has: 16 GB)"
    assert lines[2].startswith("no node has 2 GPUs")
    assert lines[3] == "no node has the tag redshift"


def test_needs_met_apart_but_not_together(any_farm: Any) -> None:
    add_node("ram", ram_gb=128)
    add_node("gpu", ram_gb=8, gpus=2)
    tid = submit(ram_gb=64, gpus=2)
    assert reasons(tid) == ["no single node has everything it needs (renderer, RAM, GPUs and tags together)"]


def test_no_node_online(any_farm: Any) -> None:
    tid = submit()
    (line,) = reasons(tid)
    assert line.startswith("no node online")
    add_node("gone")
    Node.update(last_seen=db_now() - timedelta(minutes=10)).where(Node.name == "gone").execute()
    assert reasons(tid) == ["no node online: the nodes that can render it (gone) are offline"]
    nodes.heartbeat("gone")
    assert reasons(tid) == []


def test_paused_and_held(any_farm: Any) -> None:
    add_node("a")
    tid = submit(frames=[1, 2])
    scheduler.pause_task(tid, actor=TEST_USER)
    assert reasons(tid) == [f"paused: rfarm resume {tid} lets nodes take its frames again"]
    held = submit(frames=[1, 2, 3], test_frames=[2], hold_after_test=True)
    claim = scheduler.claim("a", lease_s=60)
    assert claim is not None and claim.task_id == held
    scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=[])
    assert reasons(held) == [f"held after its test frames: rfarm resume {held} releases the rest"]


def test_retry_of_chosen_frames_requeues_done_ones_too(any_farm: Any) -> None:
    add_node("a")
    tid = submit(frames=[1, 2, 3])
    for _ in range(3):
        claim = scheduler.claim("a", lease_s=60)
        assert claim is not None
        scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=["/r/x.png"])
    assert Task.get_by_id(tid).status == "done"
    assert scheduler.retry_task(tid, actor=TEST_USER, frames=[2]).frames == 1
    states = {f.number: (f.status, f.outputs) for f in Frame.select().where(Frame.task == tid)}
    assert states == {1: ("done", ["/r/x.png"]), 2: ("queued", []), 3: ("done", ["/r/x.png"])}
    assert Task.get_by_id(tid).status == "rendering"
    claim = scheduler.claim("a", lease_s=60, caps=NodeCaps())
    assert claim is not None and [f.number for f in claim.frames] == [2]
    with pytest.raises(UsageError, match="queued or rendering already"):
        scheduler.retry_task(tid, actor=TEST_USER, frames=[2])
    with pytest.raises(UsageError, match=f"task {tid} has no frame 9 "):
        scheduler.retry_task(tid, actor=TEST_USER, frames=[1, 9, 10])


def test_iter_frames_reads_what_task_info_reads_a_page_at_a_time(any_farm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rfarm.state import taskinfo

    monkeypatch.setattr(taskinfo, "_PAGE", 7)  # several pages of each kind
    add_node("a")
    tid = submit(frames=list(range(1, 31)), test_frames=[4, 20])
    for done in range(3):
        claim = scheduler.claim("a", lease_s=60)
        assert claim is not None
        scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=[f"/r/{done}.png"])
    task = taskinfo.find_task(tid)
    expected = taskinfo.task_info(task).frames
    assert list(taskinfo.iter_frames(task)) == expected
    assert list(taskinfo.iter_frames(task, limit=10)) == expected[:10]
    assert [f.frame for f in taskinfo.iter_frames(task, states=["done"])] == [4, 20, 1]
    assert [f.frame for f in taskinfo.iter_frames(task, numbers=[30, 2, 4, 2**70])] == [4, 2, 30]
    with pytest.raises(UsageError, match="unknown frame state 'rendered'"):
        taskinfo.iter_frames(task, states=["rendered"])
    summary = taskinfo.task_summary(task, db_now())
    assert (summary.progress, summary.task.counts["done"], summary.waiting) == (10.0, 3, [])
    assert summary.eta_s is not None and summary.eta_s >= 0
