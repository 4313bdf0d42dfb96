"""Which node may render which task: needs, tags, renderer versions, capacity checks, blocklists."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rfarm.state import nodes, scheduler, taskinfo
from rfarm.state.allocation import BLOCKLIST_AFTER, NodeCaps, Needs, check_capacity, fits
from rfarm.errors import UsageError
from rfarm.node.hardware import Gpu, Hardware
from rfarm.state.models import Frame, Node, utcnow
from rfarm.state.scheduler import SubmitRequest


def hardware(ram_gb: float = 32, gpus: int = 0, gpu_memory_gb: float = 8) -> Hardware:
    return Hardware("host", "Linux", "6", 8, ram_gb, [Gpu(i, "RTX", gpu_memory_gb, "550") for i in range(gpus)], 100, "/")


def add_node(name: str, **kw: Any) -> Node:
    tags = kw.pop("tags", [])
    renderers = kw.pop("renderers", {"blender": "5.0"})
    return nodes.register_node(name, hardware(**kw), tags=tags, renderers=renderers)


def submit(**kw: Any) -> int:
    frames = kw.pop("frames", [1])
    return scheduler.submit(SubmitRequest(scene="/s.blend", renderer=kw.pop("renderer", "blender"), frames=frames, **kw), user="alice")


def test_fits_checks_every_need() -> None:
    caps = NodeCaps(ram_gb=64, gpus=2, gpu_memory_gb=24, tags=frozenset({"gpu", "redshift"}), renderers={"maya": "2024", "blender": "4.2"})
    assert fits(Needs(ram_gb=64, gpus=2, gpu_memory_gb=24, tags=frozenset({"gpu"}), renderer="maya", renderer_version="2024"), caps)
    assert not fits(Needs(ram_gb=65), caps)
    assert not fits(Needs(gpus=3), caps)
    assert not fits(Needs(gpus=1, gpu_memory_gb=32), caps)
    assert fits(Needs(gpus=0, gpu_memory_gb=32), caps), "GPU memory matters only to tasks that use GPUs"
    assert not fits(Needs(tags=frozenset({"gpu", "houdini"})), caps)
    assert not fits(Needs(renderer="unreal"), caps)
    assert not fits(Needs(renderer="maya", renderer_version="2025"), caps)
    assert fits(Needs(renderer="blender", renderer_version="4"), caps)
    assert not fits(Needs(renderer="blender", renderer_version="5"), caps)


def test_submit_capacity_check(farm: Any) -> None:
    now = utcnow()
    assert "no render node has registered" in (check_capacity(Needs(ram_gb=512), now) or "")
    add_node("small", ram_gb=16)
    add_node("big", ram_gb=128, gpus=2, tags=["gpu"])
    assert check_capacity(Needs(ram_gb=100, gpus=2, tags=frozenset({"gpu"})), now) is None
    with pytest.raises(UsageError, match=r"needs 512 GB RAM, 0 GPUs; the largest node, big, offers 128 GB RAM, 2 GPUs"):
        check_capacity(Needs(ram_gb=512), now)
    nodes.set_enabled("big", False)
    with pytest.raises(UsageError, match="the largest node, small"):
        check_capacity(Needs(ram_gb=100), now)
    Node.update(last_seen=now - timedelta(days=8)).where(Node.name == "small").execute()
    assert "no render node" in (check_capacity(Needs(ram_gb=100), now) or ""), "nodes unseen for a week do not count"


def test_claim_skips_tasks_the_node_cannot_render_without_starving_others(any_farm: Any) -> None:
    gpu_task = submit(gpus=2, frames=list(range(1, 50)), priority="high")
    tagged = submit(tags=["houdini"], priority="high")
    plain = submit()
    small = NodeCaps(ram_gb=32, gpus=1, gpu_memory_gb=8, tags=frozenset(), renderers={"blender": "5.0"})
    claim = scheduler.claim("small", lease_s=60, caps=small)
    assert claim is not None and claim.task_id == plain
    assert scheduler.claim("small", lease_s=60, caps=small) is None
    houdini = NodeCaps(ram_gb=32, gpus=0, tags=frozenset({"houdini"}), renderers={"blender": "5.0"})
    claim = scheduler.claim("houdini", lease_s=60, caps=houdini)
    assert claim is not None and claim.task_id == tagged
    gpus = NodeCaps(ram_gb=64, gpus=2, gpu_memory_gb=8, renderers={"blender": "5.0"})
    claim = scheduler.claim("gpus", lease_s=60, caps=gpus)
    assert claim is not None and claim.task_id == gpu_task
    maya_only = NodeCaps(ram_gb=64, gpus=2, gpu_memory_gb=8, renderers={"maya": "2024"})
    assert scheduler.claim("maya", lease_s=60, caps=maya_only) is None


def test_a_node_failing_a_task_three_times_is_blocklisted(any_farm: Any) -> None:
    add_node("a")
    add_node("b")
    tid = submit(frames=[1, 2, 3, 4, 5, 6, 7])
    for _ in range(BLOCKLIST_AFTER):
        claim = scheduler.claim("a", lease_s=60)
        assert claim is not None
        scheduler.fail_frame(claim.frames[0].id, claim.token, error="boom")
    assert scheduler.claim("a", lease_s=60) is None, "a is blocklisted for the task"
    assert scheduler.claim("b", lease_s=60) is not None
    assert taskinfo.task_info(taskinfo.find_task(tid)).status == "rendering"


def test_when_every_node_is_blocklisted_the_queued_frames_fail(any_farm: Any) -> None:
    add_node("only")
    tid = submit(frames=[1, 2, 3, 4, 5])
    for _ in range(BLOCKLIST_AFTER):
        claim = scheduler.claim("only", lease_s=60)
        assert claim is not None
        scheduler.fail_frame(claim.frames[0].id, claim.token, error="license server down")
    info = taskinfo.task_info(taskinfo.find_task(tid))
    assert info.status == "failed"
    failed = [f for f in info.frames if f.status == "failed"]
    assert len(failed) >= 3 and all("no eligible node" in (f.error or "") or f.error == "license server down" for f in failed)
    assert Frame.select().where((Frame.task == tid) & (Frame.status == "queued")).count() == 0


def test_submit_names_the_renderers_the_nodes_offer(farm: Any) -> None:
    now = utcnow()
    add_node("n1", ram_gb=64, renderers={"blender": "5.0"})
    with pytest.raises(UsageError, match=r"^no node offers maya; nodes offer: blender 5\.0$"):
        check_capacity(Needs(renderer="maya", renderer_version="2024"), now)
    add_node("n2", ram_gb=64, renderers={"maya": "2023", "blender": "5.0"})
    with pytest.raises(UsageError, match=r"^no node offers maya 2024; nodes offer: blender 5\.0, maya 2023$"):
        check_capacity(Needs(renderer="maya", renderer_version="2024"), now)
    with pytest.raises(UsageError, match=r"needs 512 GB RAM, 0 GPUs; the largest node, n2, offers 64 GB RAM"):
        check_capacity(Needs(ram_gb=512, renderer="maya", renderer_version="2023"), now)
    assert check_capacity(Needs(ram_gb=32, renderer="blender", renderer_version="5"), now) is None
