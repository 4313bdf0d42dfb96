"""A worker with several slots never hands out more RAM or GPUs than its node has."""
from __future__ import annotations

from typing import Any

from rfarm.state import scheduler
from rfarm.node.hardware import Gpu, Hardware
from rfarm.state.scheduler import SubmitRequest
from rfarm.node.worker import Worker


def node_hardware() -> Hardware:
    return Hardware("host", "Linux", "6", 16, 64.0, [Gpu(0, "RTX", 24, "550"), Gpu(1, "RTX", 24, "550")], 100, "/")


def test_slots_share_the_node_without_oversubscribing(farm: Any, config: Any) -> None:
    one_gpu = scheduler.submit(SubmitRequest(scene="/a.blend", renderer="blender", frames=[1, 2, 3], gpus=1, ram_gb=16), user="alice")
    worker = Worker(config, name="n1", slots=3, hardware=node_hardware(), renderers={"blender": "5.0"})
    worker.register()
    first, gpus_a = worker.claim()
    second, gpus_b = worker.claim()
    third, gpus_c = worker.claim()
    assert first is not None and second is not None and first.task_id == second.task_id == one_gpu
    assert sorted(gpus_a + gpus_b) == [0, 1] and len(gpus_a) == len(gpus_b) == 1, "each render gets its own GPU"
    assert third is None and gpus_c == [], "no GPU left for the third frame"
    assert worker.free_ram_gb == 32.0
    worker.release(first, gpus_a)
    again, gpus = worker.claim()
    assert again is not None and gpus == gpus_a
    cpu = scheduler.submit(SubmitRequest(scene="/b.blend", renderer="blender", frames=[1], ram_gb=40), user="alice")
    assert worker.claim() == (None, []), "40 GB do not fit in the 32 GB the other slots leave"
    worker.release(second, gpus_b)
    big, gpus = worker.claim()
    assert big is not None and big.task_id == cpu and gpus == []
    assert worker.free_ram_gb == 64.0 - 16 - 40


def test_a_node_claims_only_tasks_of_the_major_version_it_runs(farm: Any, config: Any) -> None:
    maya = scheduler.submit(SubmitRequest(scene="/shot.ma", renderer="maya", renderer_version="2024", frames=[1]),
                            user="alice")
    old = Worker(config, name="old", hardware=node_hardware(), renderers={"maya": "2023"})
    old.register()
    assert old.claim() == (None, [])
    new = Worker(config, name="new", hardware=node_hardware(), renderers={"maya": "2024ff07"})
    new.register()
    claim, _ = new.claim()
    assert claim is not None and claim.task_id == maya
