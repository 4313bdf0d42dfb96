"""What this machine offers a render: CPU cores, RAM, NVIDIA GPUs, OS and free disk."""
from __future__ import annotations

import logging
import os
import platform
import shutil
import socket
from dataclasses import asdict, dataclass, field
from typing import Any
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Gpu:
    index: int
    model: str
    memory_gb: float
    driver: str


@dataclass(frozen=True, slots=True)
class Hardware:
    hostname: str
    os: str
    os_version: str
    cpu_count: int
    ram_gb: float
    gpus: list[Gpu] = field(default_factory=list)
    disk_free_gb: float = 0.0
    disk_path: str = ""

    @property
    def gpu_memory_gb(self) -> float:
        """The smallest GPU's memory: what every GPU of this node can promise."""
        return min((g.memory_gb for g in self.gpus), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_gpus() -> list[Gpu]:
    """NVIDIA GPUs through NVML; none (not an error) when there is no GPU or driver."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        log.debug("no NVIDIA driver: %s", exc)
        return []
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total
            gpus.append(Gpu(index, _text(name), round(memory / 2**30, 1), _text(driver)))
        return gpus
    except pynvml.NVMLError as exc:
        log.warning("cannot read the GPUs: %s", exc)
        return []
    finally:
        pynvml.nvmlShutdown()


def detect_hardware(workspace: Path) -> Hardware:
    """This machine's hardware; disk space is the free space where ``workspace`` lives."""
    import psutil

    probe = workspace
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    disk = shutil.disk_usage(probe)
    return Hardware(
        hostname=socket.gethostname(),
        os=platform.system(),
        os_version=platform.release(),
        cpu_count=os.cpu_count() or 1,
        ram_gb=round(psutil.virtual_memory().total / 2**30, 1),
        gpus=detect_gpus(),
        disk_free_gb=round(disk.free / 2**30, 1),
        disk_path=str(probe),
    )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
