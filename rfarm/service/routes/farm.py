"""The farm: who is asking, nodes, hardware configs and statistics."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from rfarm.service.deps import Farm, Who
from rfarm.api import MAX_STATS_HOURS

router = APIRouter(prefix="/api", tags=["farm"])



class Me(BaseModel):
    user: str
    role: str


class NodeSwitch(BaseModel):
    node: str
    enabled: bool


class HardwareConfig(BaseModel):
    ram_gb: float = Field(0, ge=0, le=1e6)
    gpus: int = Field(0, ge=0, le=1024)
    gpu_memory_gb: float = Field(0, ge=0, le=1e6)
    tags: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field([], max_length=100)


class HardwareConfigDoc(HardwareConfig):
    name: str


class Removed(BaseModel):
    name: str
    removed: bool


@router.get("/whoami", response_model=Me, summary="The user and role the token stands for")
def whoami(who: Who) -> Me:
    return Me(user=who.user, role=str(who.role))


@router.get("/nodes", response_model=list[dict[str, Any]], summary="Render nodes, their state and load")
def nodes(farm: Farm, who: Who) -> list[dict[str, Any]]:
    return [n.to_dict() for n in farm.nodes(who)]


@router.post("/nodes/{name}/enable", response_model=NodeSwitch)
def enable(name: str, farm: Farm, who: Who) -> NodeSwitch:
    farm.set_node_enabled(who, name, True)
    return NodeSwitch(node=name, enabled=True)


@router.post("/nodes/{name}/disable", response_model=NodeSwitch)
def disable(name: str, farm: Farm, who: Who) -> NodeSwitch:
    farm.set_node_enabled(who, name, False)
    return NodeSwitch(node=name, enabled=False)


@router.get("/hwconfigs", response_model=list[HardwareConfigDoc])
def hwconfigs(farm: Farm, who: Who) -> list[HardwareConfigDoc]:
    return [HardwareConfigDoc(**c.to_dict()) for c in farm.hardware_configs(who)]


@router.put("/hwconfigs/{name}", response_model=HardwareConfigDoc, summary="Create or replace a hardware config")
def put_hwconfig(name: str, body: HardwareConfig, farm: Farm, who: Who) -> HardwareConfigDoc:
    made = farm.add_hardware_config(who, name, ram_gb=body.ram_gb, gpus=body.gpus,
                                    gpu_memory_gb=body.gpu_memory_gb, tags=tuple(body.tags))
    return HardwareConfigDoc(**made.to_dict())


@router.delete("/hwconfigs/{name}", response_model=Removed)
def delete_hwconfig(name: str, farm: Farm, who: Who) -> Removed:
    farm.remove_hardware_config(who, name)
    return Removed(name=name, removed=True)


@router.get("/stats", response_model=dict[str, Any], summary="Queue lengths and outcomes over a window")
def stats(farm: Farm, who: Who, hours: Annotated[float, Query(gt=0, le=MAX_STATS_HOURS, allow_inf_nan=False)] = 24,
          ) -> dict[str, Any]:
    return farm.stats(who, window=timedelta(hours=hours)).to_dict()
