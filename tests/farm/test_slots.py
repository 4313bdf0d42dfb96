"""A worker with several slots never hands out more RAM or GPUs than its node has."""
from __future__ import annotations

from typing import Any

from rfarm import nodes, scheduler
from rfarm.allocation import NodeCaps
from rfarm.hardware import Gpu, Hardware
from rfarm.scheduler import SubmitRequest
from rfarm.worker import Worker


def node_hardware() -> Hardware:
    return Hardware("host", "Linux", "6", 16, 64.0, [Gpu(0, "RTX", 24, "550"), Gpu(1, "RTX", 24, "550")], 100, "/")


def test_slots_share_the_node_without_oversubscribing(farm: Any, config: Any) -> None:
    one_gpu = scheduler.submit(SubmitRequest(scene="/a.blend", renderer="blender", frames=[1, 2, 3], gpus=1, ram_gb=16), user="alice")
    worker = Worker(config, name="n1", slots=3, hardware=node_hardware())
    nodes.register_node("n1", worker.hardware, tags=[], renderers={"blender": "5.0"})
    worker._caps = NodeCaps(64.0, 2, 24.0, frozenset(), {"blender": "5.0"})  # what run() builds
    first, gpus_a = worker._claim()
    second, gpus_b = worker._claim()
    third, gpus_c = worker._claim()
    assert first is not None and second is not None and first.task_id == second.task_id == one_gpu
    assert sorted(gpus_a + gpus_b) == [0, 1] and len(gpus_a) == len(gpus_b) == 1, "each render gets its own GPU"
    assert third is None and gpus_c == [], "no GPU left for the third frame"
    assert worker._free_ram == 32.0
    worker._release(first, gpus_a)
    again, gpus = worker._claim()
    assert again is not None and gpus == gpus_a
    cpu = scheduler.submit(SubmitRequest(scene="/b.blend", renderer="blender", frames=[1], ram_gb=40), user="alice")
    assert worker._claim() == (None, []), "40 GB do not fit in the 32 GB the other slots leave"
    worker._release(second, gpus_b)
    big, gpus = worker._claim()
    assert big is not None and big.task_id == cpu and gpus == []
    assert worker._free_ram == 64.0 - 16 - 40
