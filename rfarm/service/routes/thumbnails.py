"""Frame thumbnails (``/api/tasks/{id}/frames/{n}/thumbnail``), cached by their hash.

The ETag is the thumbnail's MD5, so a client that has it is answered ``304``
without the image. A frame's thumbnail changes when the frame is rendered
again, so the plain URL is revalidated on each use (``no-cache``); with
``?attempt=N`` it names what one attempt made, which never changes, and may
be kept for a year.
"""
from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import Response

from rfarm.service.deps import Farm, Who

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

#: for a URL whose content may change (a retry renders the frame again): keep it, but ask first
REVALIDATE = "private, no-cache"
#: for an attempt's thumbnail, which never changes
IMMUTABLE = "private, max-age=31536000, immutable"


@router.get(
    "/{task_id}/frames/{frame}/thumbnail",
    summary="A done frame's thumbnail (JPEG, at most 320 px); a failed frame answers 404 with its error line",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The thumbnail; its ETag is its MD5"},
               304: {"description": "The thumbnail is the one If-None-Match names"}},
)
def thumbnail(
    task_id: str,
    frame: Annotated[int, Path(ge=-(2**63) + 1, le=2**63 - 1)],
    farm: Farm,
    who: Who,
    attempt: Annotated[Optional[int], Query(ge=1, le=2**31 - 1,
                                            description="Only the thumbnail this attempt made (cached for good).")] = None,
    if_none_match: Annotated[Optional[str], Header(max_length=4096)] = None,
) -> Response:
    data, md5 = farm.thumbnail(who, task_id, frame, attempt=attempt)
    headers = {"ETag": f'"{md5}"', "Cache-Control": IMMUTABLE if attempt is not None else REVALIDATE}
    if if_none_match is not None and _matches(if_none_match, md5):
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type="image/jpeg", headers=headers)


def _matches(if_none_match: str, md5: str) -> bool:
    """Whether an If-None-Match header names this ETag (weakly compared, as RFC 9110 asks for it)."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == f'"{md5}"' for tag in tags)
