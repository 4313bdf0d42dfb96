"""Render nodes: registration, heartbeats, state, enabling and disabling."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any
from datetime import datetime, timedelta

from rfarm import __version__
from rfarm.state.db import db_now
from rfarm.errors import NotFoundError
from rfarm.node.hardware import Hardware
from rfarm.state.models import Frame, Node
from rfarm.state.taskinfo import iso

#: a node not heard from for this long is shown offline
OFFLINE_AFTER = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    state: str
    is_enabled: bool
    hostname: str
    os: str
    cpu_count: int
    ram_gb: float
    gpus: int
    gpu_memory_gb: float
    tags: list[str]
    renderers: dict[str, str]
    version: str
    last_seen: str | None
    cpu_percent: float
    ram_used_gb: float
    running_frames: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def register_node(name: str, hardware: Hardware, *, tags: list[str], renderers: dict[str, str]) -> Node:
    """Create or refresh ``name``'s record (a node keeps its enabled flag across restarts)."""
    values = dict(
        hostname=hardware.hostname, os=hardware.os, pid=os.getpid(), cpu_count=hardware.cpu_count,
        ram_gb=hardware.ram_gb, gpus=len(hardware.gpus), gpu_memory_gb=hardware.gpu_memory_gb,
        tags=sorted(set(tags)), renderers=renderers, version=__version__, state="idle", last_seen=db_now(),
    )
    if Node.update(**values).where(Node.name == name).execute() == 0:
        Node.insert(name=name, **values).on_conflict_ignore().execute()
    return Node.get(Node.name == name)


def heartbeat(name: str, state: str | None = None) -> bool:
    """Record that ``name`` is alive and its load; returns whether it is enabled."""
    import psutil

    values: dict[str, object] = {
        "last_seen": db_now(),
        "cpu_percent": psutil.cpu_percent(None),
        "ram_used_gb": round(psutil.virtual_memory().used / 2**30, 1),
    }
    if state is not None:
        values["state"] = state
    Node.update(**values).where(Node.name == name).execute()
    node = Node.get_or_none(Node.name == name)
    return bool(node and node.is_enabled)


def set_enabled(name: str, enabled: bool) -> None:
    if Node.update(is_enabled=enabled).where(Node.name == name).execute() == 0:
        raise NotFoundError(f"no node named {name!r}; see `rfarm nodes`")


def list_nodes(*, now: datetime | None = None) -> list[NodeInfo]:
    now = now or db_now()
    running: dict[str, list[str]] = {}
    for frame in Frame.select(Frame.worker, Frame.task, Frame.number).where(Frame.status == "running"):
        running.setdefault(frame.worker, []).append(f"{frame.task_id}:{frame.number}")
    out = []
    for node in Node.select().order_by(Node.name):
        offline = node.last_seen < now - OFFLINE_AFTER or node.state == "offline"
        state = f"offline since {iso(node.last_seen)}" if offline else node.state
        out.append(NodeInfo(
            name=node.name, state=state, is_enabled=node.is_enabled, hostname=node.hostname, os=node.os,
            cpu_count=node.cpu_count, ram_gb=node.ram_gb, gpus=node.gpus, gpu_memory_gb=node.gpu_memory_gb,
            tags=list(node.tags or []), renderers=dict(node.renderers or {}), version=node.version,
            last_seen=iso(node.last_seen), cpu_percent=node.cpu_percent, ram_used_gb=node.ram_used_gb,
            running_frames=running.get(node.name, []),
        ))
    return out
