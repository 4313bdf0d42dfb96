"""Named hardware needs (``rfarm hwconfig``) that tasks ask for with ``--hardware-config NAME``."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rfarm.errors import UsageError
from rfarm.state.models import HardwareConfig, database
from rfarm.submit.request import SubmitRequest, check_needs


@dataclass(frozen=True, slots=True)
class HardwareConfigInfo:
    name: str
    ram_gb: float
    gpus: int
    gpu_memory_gb: float
    tags: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ram_gb": self.ram_gb, "gpus": self.gpus,
                "gpu_memory_gb": self.gpu_memory_gb, "tags": list(self.tags)}


def add_hardware_config(name: str, *, ram_gb: float = 0, gpus: int = 0, gpu_memory_gb: float = 0,
                        tags: tuple[str, ...] = ()) -> HardwareConfigInfo:
    """Create or replace the named hardware config."""
    if not name.strip():
        raise UsageError("a hardware config needs a name")
    check_needs(ram_gb, gpus, gpu_memory_gb)
    with database.atomic():
        HardwareConfig.delete().where(HardwareConfig.name == name).execute()
        HardwareConfig.create(name=name, ram_gb=ram_gb, gpus=gpus, gpu_memory_gb=gpu_memory_gb, tags=sorted(set(tags)))
    return HardwareConfigInfo(name, ram_gb, gpus, gpu_memory_gb, sorted(set(tags)))


def list_hardware_configs() -> list[HardwareConfigInfo]:
    return [HardwareConfigInfo(c.name, c.ram_gb, c.gpus, c.gpu_memory_gb, list(c.tags or []))
            for c in HardwareConfig.select().order_by(HardwareConfig.name)]


def remove_hardware_config(name: str) -> None:
    if HardwareConfig.delete().where(HardwareConfig.name == name).execute() == 0:
        raise UsageError(f"no hardware config named {name!r}")


def with_hardware_config(request: SubmitRequest) -> SubmitRequest:
    """``request`` with the needs of its named hardware config (explicit needs win)."""
    name = request.options.get("hardware_config")
    if not name:
        return request
    config = HardwareConfig.get_or_none(HardwareConfig.name == name)
    if config is None:
        raise UsageError(f"no hardware config named {name!r}; see `rfarm hwconfig list`")
    return replace(
        request,
        ram_gb=request.ram_gb or config.ram_gb,
        gpus=request.gpus or config.gpus,
        gpu_memory_gb=request.gpu_memory_gb or config.gpu_memory_gb,
        tags=tuple(sorted(set(request.tags) | set(config.tags or ()))),
    )
