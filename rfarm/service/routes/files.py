"""Files: which hashes the caller's store lacks, streamed uploads, and scene analysis (``/api/files``, ``/api/scene``)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional, Union

import xxhash
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from rfarm.errors import IntegrityError, UsageError
from rfarm.files.hashing import FileHash
from rfarm.api import LocalFarm
from rfarm.service.deps import Farm, Who
from rfarm.state.users import Caller

router = APIRouter(tags=["files"])

MD5 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")]
XXH64 = Annotated[str, Field(pattern=r"^[0-9]{1,20}$")]
#: the largest file one upload takes (1 TiB)
MAX_UPLOAD = 2**40
#: the most hashes one check_hashes call takes
MAX_HASHES = 100_000


class Hash(BaseModel):
    md5: MD5
    xxh64: XXH64
    size: int = Field(ge=0, le=MAX_UPLOAD)

    def file_hash(self) -> FileHash:
        return FileHash(self.md5.lower(), str(int(self.xxh64)), self.size)


class HashQuery(BaseModel):
    """The original design's shape: MD5 digests; objects with both hashes and the size check exactly."""

    hashes: list[Union[MD5, Hash]] = Field(max_length=MAX_HASHES)


class HashAnswer(BaseModel):
    to_upload: list[Union[MD5, Hash]]
    exists: list[Union[MD5, Hash]]


class Stored(BaseModel):
    md5: str
    xxh64: str
    size: int


@router.post("/api/files/check_hashes", response_model=HashAnswer, summary="Which files the caller's store lacks")
def check_hashes(body: HashQuery, farm: Farm, who: Who) -> HashAnswer:
    exact = [h.file_hash() for h in body.hashes if isinstance(h, Hash)]
    md5s = [h.lower() for h in body.hashes if isinstance(h, str)]
    answer = farm.check_hashes(who, exact) if exact else {"to_upload": [], "exists": []}
    held_md5 = set(farm.held_md5s(who, md5s)) if md5s else set()

    def as_hash(h: FileHash) -> Hash:
        return Hash(md5=h.md5, xxh64=h.xxh64, size=h.size)

    return HashAnswer(
        to_upload=[as_hash(h) for h in answer["to_upload"]] + [m for m in dict.fromkeys(md5s) if m not in held_md5],
        exists=[as_hash(h) for h in answer["exists"]] + [m for m in dict.fromkeys(md5s) if m in held_md5],
    )


@router.post(
    "/api/files/upload", status_code=201, response_model=Stored,
    summary="Store one file, streamed as the raw body; both hashes are checked before it is recorded",
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                       "format": "binary"}}}}},
)
async def upload(
    request: Request,
    farm: Farm,
    who: Who,
    md5: Annotated[str, Query(pattern=r"^[0-9a-fA-F]{32}$")],
    xxh64: Annotated[str, Query(pattern=r"^[0-9]{1,20}$")],
    size: Annotated[int, Query(ge=0, le=MAX_UPLOAD)],
) -> Stored:
    expected = FileHash(md5.lower(), str(int(xxh64)), size)

    def check(got: FileHash) -> None:
        if not got.matches(expected):
            raise IntegrityError(
                f"the uploaded body (MD5 {got.md5}, xxHash64 {got.xxh64}, {got.size} bytes) does not match "
                f"the hashes it was sent with (MD5 {expected.md5}, xxHash64 {expected.xxh64}, {expected.size} bytes); "
                "nothing was stored: send it again"
            )

    got = await store_body(request, farm, who, size, check)
    return Stored(md5=got.md5, xxh64=got.xxh64, size=got.size)


async def store_body(request: Request, farm: LocalFarm, who: Caller, size: int,
                     check: Callable[[FileHash], None]) -> FileHash:
    """Spool the request's body to a file while hashing it, let ``check`` refuse it, then store it
    in the caller's store; the spool file is removed whatever happens."""
    folder = farm.config.home_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=folder)
    spool = Path(name)
    try:
        got = await receive_body(request, fd, size)
        check(got)
        await run_in_threadpool(farm.upload_file, who, spool, got)
    finally:
        spool.unlink(missing_ok=True)
    return got


async def receive_body(request: Request, fd: int, limit: int) -> FileHash:
    """Write the body to ``fd`` while hashing it; a body longer than ``limit`` is refused as it arrives."""
    md5, xx, size = hashlib.md5(usedforsecurity=False), xxhash.xxh64(), 0
    with os.fdopen(fd, "wb") as out:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise UsageError(f"the body is longer than the {limit} bytes its size says; nothing was stored")
                md5.update(chunk)
                xx.update(chunk)
                out.write(chunk)
        except ClientDisconnect:
            raise UsageError("the connection closed before the whole file arrived; nothing was stored") from None
    return FileHash(md5.hexdigest(), str(xx.intdigest()), size)


class AnalyseQuery(BaseModel):
    hash: Optional[MD5] = Field(None, description="The MD5 of a scene in the caller's store.")
    name: Optional[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        None, description="The scene's file name (its kind), when no task has named the stored file yet.")
    path: Optional[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        None, description="A scene path the server can read.")


@router.post("/api/scene/analyse", response_model=dict[str, Any],
             summary="Analyse a stored scene (by hash, cached) or a path the server reads")
def analyse(body: AnalyseQuery, farm: Farm, who: Who) -> dict[str, Any]:
    return farm.analyse_stored(who, md5=body.hash, path=body.path, name=body.name)
