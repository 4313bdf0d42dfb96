"""Which node may render which task: hardware needs, tags, renderers, blocklists.

The claim query in :mod:`rfarm.state.scheduler` filters by the numbers (RAM, GPU
count and memory) in SQL and by tags and renderer versions here, task by
task, so a task that no node can take never hides the tasks behind it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rfarm.errors import UsageError
from rfarm.state.models import Node, NodeFailure, Task
from rfarm.renderers.base import major_version

#: failed renders of one task on one node before the node is blocklisted for it
BLOCKLIST_AFTER = 3
#: nodes seen within this long count when a submit checks that some node fits
NODE_MEMORY = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class NodeCaps:
    """What a node offers now; ``renderers`` None means it renders anything."""

    ram_gb: float = float("inf")
    gpus: int = 1 << 30
    gpu_memory_gb: float = float("inf")
    tags: frozenset[str] = frozenset()
    renderers: Mapping[str, str] | None = None

    @classmethod
    def of_node(cls, node: Node) -> NodeCaps:
        return cls(node.ram_gb, node.gpus, node.gpu_memory_gb if node.gpus else 0.0,
                   frozenset(node.tags or ()), dict(node.renderers or {}))


@dataclass(frozen=True, slots=True)
class Needs:
    """What a task asks of a node."""

    ram_gb: float = 0
    gpus: int = 0
    gpu_memory_gb: float = 0
    tags: frozenset[str] = field(default_factory=frozenset)
    renderer: str = ""
    renderer_version: str = ""

    @classmethod
    def of_task(cls, task: Task) -> Needs:
        return cls(task.ram_gb, task.gpus, task.gpu_memory_gb, frozenset(task.tags or ()),
                   task.renderer, task.renderer_version or "")


def fits(needs: Needs, caps: NodeCaps) -> bool:
    """Whether a node offering ``caps`` can render a task that ``needs``."""
    if needs.ram_gb > caps.ram_gb or needs.gpus > caps.gpus:
        return False
    if needs.gpus and needs.gpu_memory_gb > caps.gpu_memory_gb:
        return False
    if not needs.tags <= caps.tags:
        return False
    if caps.renderers is not None and needs.renderer:
        if needs.renderer not in caps.renderers:
            return False
        have = major_version(caps.renderers[needs.renderer])
        if needs.renderer_version and have and have != major_version(needs.renderer_version):
            return False
    return True


def sql_filter(ram_gb: Any, gpus: Any, gpu_memory_gb: Any):  # type: ignore[no-untyped-def]
    """The part of :func:`fits` that SQL can check (numbers only): a node's offer, as numbers or query parameters."""
    cond = (Task.ram_gb <= ram_gb) & (Task.gpus <= gpus)
    return cond & ((Task.gpus == 0) | (Task.gpu_memory_gb <= gpu_memory_gb))


def blocklisted_tasks(node: str):  # type: ignore[no-untyped-def]
    """A subquery of the task ids ``node`` is blocklisted for."""
    return NodeFailure.select(NodeFailure.task).where(
        (NodeFailure.node == node) & (NodeFailure.failures >= BLOCKLIST_AFTER)
    )


def live_nodes(now: datetime):  # type: ignore[no-untyped-def]
    """Enabled nodes seen recently: the farm a submit is checked against."""
    return Node.select().where((Node.is_enabled == True) & (Node.last_seen >= now - NODE_MEMORY))  # noqa: E712


def check_capacity(needs: Needs, now: datetime) -> str | None:
    """Refuse needs no live node meets (UsageError naming the renderers offered, else the largest node);
    a warning when no node is known."""
    nodes = list(live_nodes(now))
    if not nodes:
        return "no render node has registered yet: the task waits for one that meets its needs"
    if any(fits(needs, NodeCaps.of_node(n)) for n in nodes):
        return None
    if needs.renderer:
        renders = [n for n in nodes if fits(Needs(renderer=needs.renderer, renderer_version=needs.renderer_version),
                                             NodeCaps(renderers=NodeCaps.of_node(n).renderers))]
        if not renders:
            any_version = any(needs.renderer in (n.renderers or {}) for n in nodes)
            wanted = f"{needs.renderer} {needs.renderer_version}" if any_version else needs.renderer
            raise UsageError(f"no node offers {wanted}; {_offered(nodes)}")
        nodes = renders
    largest = max(nodes, key=lambda n: (n.gpus, n.ram_gb, n.gpu_memory_gb))
    caps = NodeCaps.of_node(largest)
    wanted = f"{needs.ram_gb:g} GB RAM, {needs.gpus} GPUs" + (f", tags {', '.join(sorted(needs.tags))}" if needs.tags else "")
    offered = f"{caps.ram_gb:g} GB RAM, {caps.gpus} GPUs" + (f", tags {', '.join(sorted(caps.tags))}" if caps.tags else "")
    raise UsageError(f"not enough hardware: the task needs {wanted}; the largest node, {largest.name}, offers {offered}")


def _offered(nodes: list[Node]) -> str:
    """``nodes offer: blender 5.0, maya 2024`` (each renderer and version once)."""
    pairs = sorted({" ".join(filter(None, (name, version)))
                    for n in nodes for name, version in (n.renderers or {}).items()})
    return f"nodes offer: {', '.join(pairs)}" if pairs else "the nodes offer no renderer"


def eligible_nodes_left(task: Task, now: datetime) -> bool:
    """Whether some live node that fits ``task`` is not blocklisted for it."""
    needs = Needs.of_task(task)
    blocked = {f.node for f in NodeFailure.select(NodeFailure.node).where(
        (NodeFailure.task == task.id) & (NodeFailure.failures >= BLOCKLIST_AFTER))}
    return any(n.name not in blocked and fits(needs, NodeCaps.of_node(n)) for n in live_nodes(now))
