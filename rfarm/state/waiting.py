"""Why a task's queued frames are taken by no node: one line per reason.

A task can wait for a reason its owner can fix (it is paused or held), a
reason a farm admin can fix (no node offers its renderer, enough RAM, GPUs
or its tags; no such node is online) or one a retry clears (every node
that could take it is blocklisted for it). The claim in
:mod:`rfarm.state.scheduler` decides by the same rules (:func:`~rfarm.state.allocation.fits`,
the blocklist); this module only explains, and reads nothing it would not.
"""
from __future__ import annotations

from datetime import datetime

from rfarm.renderers.base import major_version
from rfarm.state.allocation import BLOCKLIST_AFTER, NODE_MEMORY, Needs, NodeCaps, fits
from rfarm.state.models import Frame, Node, NodeFailure, Task
from rfarm.state.nodes import OFFLINE_AFTER
from rfarm.state.states import FrameState, TaskState


def waiting_reasons(task: Task, now: datetime) -> list[str]:
    """Why no node takes ``task``'s queued frames; empty when a node may take them, or none wait."""
    if task.status == TaskState.PAUSED:
        return [f"paused: rfarm resume {task.id} lets nodes take its frames again"]
    if task.status == TaskState.HELD:
        return [f"held after its test frames: rfarm resume {task.id} releases the rest"]
    if task.status not in (TaskState.QUEUED, TaskState.RENDERING):
        return []
    waiting = (Frame.task == task.id) & (Frame.status == FrameState.QUEUED) & (Frame.is_released == True)  # noqa: E712
    if not Frame.select(Frame.id).where(waiting).exists():
        return []
    nodes = list(Node.select().where((Node.is_enabled == True) & (Node.last_seen >= now - NODE_MEMORY)))  # noqa: E712
    if not nodes:
        return ["no node online: no enabled render node has been seen in the last "
                f"{NODE_MEMORY.days} days (start one with rfarm worker)"]
    needs = Needs.of_task(task)
    fitting = [n for n in nodes if fits(needs, NodeCaps.of_node(n))]
    if not fitting:
        return _unmet(needs, [NodeCaps.of_node(n) for n in nodes])
    blocked = {row.node for row in NodeFailure.select(NodeFailure.node).where(
        (NodeFailure.task == task.id) & (NodeFailure.failures >= BLOCKLIST_AFTER))}
    free = [n for n in fitting if n.name not in blocked]
    if not free:
        names = ", ".join(sorted(n.name for n in fitting))
        return [f"blocklisted on every node that can render it ({names}: each failed it {BLOCKLIST_AFTER} times); "
                f"rfarm retry {task.id} clears the blocklist"]
    online = [n for n in free if n.last_seen >= now - OFFLINE_AFTER and n.state != "offline"]
    if not online:
        names = ", ".join(sorted(n.name for n in free))
        return [f"no node online: the nodes that can render it ({names}) are offline"]
    return []


def _unmet(needs: Needs, offers: list[NodeCaps]) -> list[str]:
    """One line for each need no known node meets (or one line when only their combination is unmet)."""
    lines = []
    if needs.renderer and not any(fits(Needs(renderer=needs.renderer, renderer_version=needs.renderer_version), c)
                                  for c in offers):
        wanted = f"{needs.renderer} {major_version(needs.renderer_version)}".strip()
        offered = sorted({f"{name} {version}".strip() for c in offers for name, version in (c.renderers or {}).items()})
        lines.append(f"no node has the renderer {wanted} (nodes offer: {', '.join(offered) or 'none'})")
    if needs.ram_gb and not any(needs.ram_gb <= c.ram_gb for c in offers):
        lines.append(f"no node has {needs.ram_gb:g} GB RAM (the most a node has: {max(c.ram_gb for c in offers):g} GB)")
    if needs.gpus and not any(needs.gpus <= c.gpus for c in offers):
        lines.append(f"no node has {needs.gpus} GPUs (the most a node has: {max(c.gpus for c in offers)})")
    if needs.gpus and needs.gpu_memory_gb and not any(needs.gpu_memory_gb <= c.gpu_memory_gb for c in offers):
        lines.append(f"no node has {needs.gpu_memory_gb:g} GB of GPU memory "
                     f"(the most a node has: {max(c.gpu_memory_gb for c in offers):g} GB)")
    for tag in sorted(needs.tags):
        if not any(tag in c.tags for c in offers):
            lines.append(f"no node has the tag {tag}")
    return lines or ["no single node has everything it needs (renderer, RAM, GPUs and tags together)"]
