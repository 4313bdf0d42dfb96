"""Live events as Server-Sent Events (``/api/events``), resumable with ``Last-Event-ID``."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Optional

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from rfarm.api import EVENT_POLL_S
from rfarm.service.deps import Farm, Who

router = APIRouter(prefix="/api", tags=["events"])

#: seconds between the comments that keep an idle stream (and the proxies on its way) open
KEEPALIVE_S = 15.0


@router.get(
    "/events", summary="The events the token may see, as Server-Sent Events",
    response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    request: Request,
    farm: Farm,
    who: Who,
    task: Annotated[Optional[str], Query(max_length=40, description="Only this task's events.")] = None,
    after: Annotated[Optional[int], Query(ge=0, le=2**63 - 1, description="Events after this id.")] = None,
    last_event_id: Annotated[Optional[str], Header(max_length=40)] = None,
) -> StreamingResponse:
    """Each event is ``id: N``, ``event: KIND`` and ``data: {...}`` (the event's document);
    without ``Last-Event-ID`` or ``after`` the stream starts with what happens from now on."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        after = int(last_event_id.strip())
    cursor, first = await run_in_threadpool(farm.wait_events, who, after=after, task_id=task)

    async def stream() -> AsyncIterator[str]:
        nonlocal cursor
        yield f"retry: 1000\nid: {cursor}\n\n"
        batch, quiet_since = first, time.monotonic()
        while not await request.is_disconnected():
            for event in batch:
                yield f"id: {event.id}\nevent: {event.kind}\ndata: {json.dumps(event.to_dict())}\n\n"
            if batch:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(0 if batch else EVENT_POLL_S)
            cursor, batch = await run_in_threadpool(farm.wait_events, who, after=cursor, task_id=task)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
