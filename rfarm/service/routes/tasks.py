"""Tasks: create, read, list, control, logs and results (``/api/tasks``)."""
from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from rfarm.errors import NotFoundError, UsageError
from rfarm.service.deps import Farm, Who
from rfarm.files.manifest import Manifest
from rfarm.submit.request import SubmitRequest
from rfarm.wire import from_doc

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

TaskDoc = dict[str, Any]


class NewTask(BaseModel):
    """What ``rfarm submit`` builds: the request, and the manifest of the files it uploaded."""

    request: dict[str, Any] = Field(description="The SubmitRequest: scene, renderer, frames, test_frames, ...")
    manifest: Optional[dict[str, Any]] = Field(None, description="The manifest of uploaded files (none: in place).")


class Created(BaseModel):
    task_id: int
    warnings: list[str]


class TaskPage(BaseModel):
    tasks: list[TaskDoc]
    next_cursor: Optional[int] = Field(None, description="Pass as ?cursor= for the next, older page.")


class Change(BaseModel):
    task_id: int
    status: str
    frames_cancelled: Optional[int] = None
    frames_requeued: Optional[int] = None
    removed: Optional[bool] = None
    blocklist_cleared: Optional[int] = None


class LogEntry(BaseModel):
    frame: int
    attempt: int
    path: Optional[str]


class LogPiece(BaseModel):
    text: str
    offset: int
    next_offset: int


class LogAnswer(BaseModel):
    log: Optional[LogPiece] = Field(description="None: the frame has no log yet.")


class Result(BaseModel):
    path: str
    key: str
    hash: str
    xxhash: str
    size: int
    frame: Optional[int] = None


def _request(doc: dict[str, Any]) -> SubmitRequest:
    try:
        return from_doc(SubmitRequest, doc)
    except ValueError as exc:
        raise UsageError(f"not a task request: {exc}") from None


@router.post("/", status_code=201, response_model=Created, summary="Create a task")
def create_task(body: NewTask, farm: Farm, who: Who) -> Created:
    request = _request(body.request)
    manifest = None
    if body.manifest is not None:
        manifest = Manifest.decode(json.dumps(body.manifest).encode())
    made = farm.submit(who, request, manifest)
    return Created(task_id=made.task_id, warnings=made.warnings)


@router.get("", response_model=TaskPage, summary="List tasks, newest first")
def list_tasks(
    farm: Farm,
    who: Who,
    status: Annotated[list[str], Query(description="Only tasks in these states.")] = [],  # noqa: B006
    user: Annotated[Optional[str], Query(max_length=200, description="Only this user's tasks.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Annotated[Optional[int], Query(ge=1, le=2**63 - 1, description="From next_cursor.")] = None,
) -> TaskPage:
    found = farm.tasks(who, user=user, status=status, limit=limit, before=cursor)
    docs = [t.to_dict(with_frames=False) for t in found]
    return TaskPage(tasks=docs, next_cursor=found[-1].task_id if len(found) == limit else None)


@router.get("/{task_id}/status", response_model=TaskDoc, summary="A task and its frames (rfarm status ID --json)")
def task_status(task_id: str, farm: Farm, who: Who, frames: bool = True) -> TaskDoc:
    return farm.task(who, task_id, with_frames=frames).to_dict(with_frames=frames)


@router.get("/{task_id}/summary", response_model=TaskDoc,
            summary="Counts, progress, ETA, failing frames and why no node takes the task")
def task_summary(task_id: str, farm: Farm, who: Who) -> TaskDoc:
    return farm.task_summary(who, task_id).to_dict()


def _frame_numbers(spec: Optional[str]) -> Optional[list[int]]:
    from rfarm.submit.frames import parse_frames

    return None if spec is None else parse_frames(spec)


@router.get("/{task_id}/frames", summary="The task's frames, one JSON document a line, streamed",
            response_class=StreamingResponse, responses={200: {"content": {"application/x-ndjson": {}}}})
def task_frames(
    task_id: str, farm: Farm, who: Who,
    frames: Annotated[Optional[str], Query(max_length=10_000, description="Only these frames: 1-100, 1,5,10-20.")] = None,
    state: Annotated[list[str], Query(description="Only frames in these states.")] = [],  # noqa: B006
    limit: Annotated[Optional[int], Query(ge=1, le=2**31)] = None,
) -> StreamingResponse:
    found = farm.iter_frames(who, task_id, frames=_frame_numbers(frames), states=state, limit=limit)

    def lines() -> Iterator[bytes]:
        for frame in found:
            yield (json.dumps(frame.to_dict()) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def _change(change: Any) -> Change:
    return Change(**change.to_dict())


@router.post("/{task_id}/cancel", response_model=Change, response_model_exclude_none=True)
def cancel(task_id: str, farm: Farm, who: Who) -> Change:
    return _change(farm.cancel(who, task_id))


@router.post("/{task_id}/pause", response_model=Change, response_model_exclude_none=True)
def pause(task_id: str, farm: Farm, who: Who) -> Change:
    return _change(farm.pause(who, task_id))


@router.post("/{task_id}/resume", response_model=Change, response_model_exclude_none=True)
def resume(task_id: str, farm: Farm, who: Who) -> Change:
    return _change(farm.resume(who, task_id))


@router.post("/{task_id}/retry", response_model=Change, response_model_exclude_none=True)
def retry(
    task_id: str, farm: Farm, who: Who, failed_only: bool = False,
    frames: Annotated[Optional[str], Query(max_length=10_000, description="Exactly these frames, done ones too.")] = None,
) -> Change:
    return _change(farm.retry(who, task_id, failed_only=failed_only, frames=_frame_numbers(frames)))


@router.post("/{task_id}/cleanup", response_model=Change, response_model_exclude_none=True)
def cleanup(task_id: str, farm: Farm, who: Who, force: bool = False) -> Change:
    return _change(farm.cleanup(who, task_id, force=force))


class Removed(BaseModel):
    task_id: int
    deleted: bool
    frames: int
    frames_cancelled: int
    objects_removed: int
    bytes_freed: int


@router.delete("/{task_id}", response_model=Removed,
               summary="Delete a task: its records, logs, results and the stored files no other task uses")
def delete_task(task_id: str, farm: Farm, who: Who, force: bool = False) -> Removed:
    return Removed(**farm.delete(who, task_id, force=force).to_dict())


@router.get("/{task_id}/logs", response_model=list[LogEntry], summary="The latest log of each frame")
def logs(task_id: str, farm: Farm, who: Who,
         frame: Annotated[Optional[int], Query(ge=-(2**63) + 1, le=2**63 - 1)] = None) -> list[LogEntry]:
    return [LogEntry(frame=e.frame, attempt=e.attempt, path=e.path) for e in farm.frame_logs(who, task_id, frame)]


@router.get("/{task_id}/logs/{frame}/{attempt}", response_model=LogAnswer, summary="A log from a byte offset")
def read_log(
    task_id: str, frame: int, attempt: int, farm: Farm, who: Who,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> LogAnswer:
    chunk = farm.read_log(who, task_id, frame, attempt, offset)
    return LogAnswer(log=None if chunk is None else LogPiece(text=chunk.text, offset=chunk.offset,
                                                             next_offset=chunk.next_offset))


@router.get("/{task_id}/results", response_model=list[Result], summary="The task's stored results")
def results(task_id: str, farm: Farm, who: Who) -> list[Result]:
    return [Result(**r.to_dict()) for r in farm.results(who, task_id)]


@router.get("/{task_id}/results/file", summary="Download one result, verified against its hashes",
            response_class=FileResponse, responses={200: {"content": {"application/octet-stream": {}}}})
def result_file(
    task_id: str, farm: Farm, who: Who, background: BackgroundTasks,
    key: Annotated[str, Query(min_length=1, max_length=4096, description="The result's key, from the list.")],
) -> FileResponse:
    found = next((r for r in farm.results(who, task_id) if r.key == key), None)
    if found is None:
        raise NotFoundError(f"task {task_id} has no result {key}")
    folder = Path(tempfile.mkdtemp(prefix="rfarm-result-"))
    dest = folder / "result"
    farm.fetch_result(who, task_id, found, dest)
    background.add_task(_remove, folder)
    return FileResponse(dest, media_type="application/octet-stream", filename=Path(found.path).name,
                        headers={"X-Rfarm-MD5": found.hash, "X-Rfarm-XXH64": found.xxhash})


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
