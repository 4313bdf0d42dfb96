"""Notifications and the audit trail: ``/api/webhooks`` and ``/api/audit``."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from rfarm.service.deps import Farm, Who
from rfarm.state.webhooks import MAX_URL

router = APIRouter(prefix="/api", tags=["notifications"])

Doc = dict[str, Any]


class NewWebhook(BaseModel):
    url: str = Field(min_length=1, max_length=MAX_URL, description="An http:// or https:// URL to POST events to.")
    events: list[Annotated[str, Field(max_length=100)]] = Field(
        min_length=1, max_length=20, description="task.done, task.failed, task.cancelled, test_frame.done, frame.failed")
    farm_wide: bool = Field(False, description="Every task's events, not only the caller's (managers).")


class RemovedWebhook(BaseModel):
    id: int
    removed: bool


@router.get("/webhooks", response_model=list[Doc], summary="The caller's webhooks (every one for managers)")
def webhooks(farm: Farm, who: Who) -> list[Doc]:
    return [w.to_dict() for w in farm.webhooks(who)]


@router.post("/webhooks", status_code=201, response_model=Doc,
             summary="Add a webhook; the answer holds its signing secret, shown only this once")
def add_webhook(body: NewWebhook, farm: Farm, who: Who) -> Doc:
    return farm.add_webhook(who, body.url, body.events, farm_wide=body.farm_wide).to_dict()


@router.delete("/webhooks/{webhook_id}", response_model=RemovedWebhook)
def remove_webhook(webhook_id: Annotated[int, Path(ge=1, le=2**63 - 1)], farm: Farm, who: Who) -> RemovedWebhook:
    farm.remove_webhook(who, webhook_id)
    return RemovedWebhook(id=webhook_id, removed=True)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[Doc], summary="A webhook's delivery log")
def deliveries(webhook_id: Annotated[int, Path(ge=1, le=2**63 - 1)], farm: Farm, who: Who,
               limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[Doc]:
    return [d.to_dict() for d in farm.deliveries(who, webhook_id, limit=limit)]


@router.get("/audit", response_model=list[Doc], summary="Who did what to which task, node, user or token (managers)")
def audit(farm: Farm, who: Who,
          since: Annotated[Optional[datetime], Query(description="ISO 8601; without a zone, UTC.")] = None,
          limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> list[Doc]:
    if since is not None and since.tzinfo is not None:
        since = since.astimezone(timezone.utc).replace(tzinfo=None)
    return [e.to_dict() for e in farm.audit(who, since=since, limit=limit)]
