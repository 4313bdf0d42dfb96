"""The submit page: a scene from the browser, through the same check-then-upload flow as ``rfarm upload``.

The page's JavaScript hashes the file (MD5) and asks ``/api/files/check_hashes``
whether the caller's store holds it; only a file it lacks is sent, to
:func:`stage_upload`, which hashes it here (MD5 and xxHash64: the browser
cannot compute the latter cheaply) and stores it through
:meth:`LocalFarm.upload_file`. The analysis comes from ``/api/scene/analyse``;
the form then posts the task, which is recorded with a manifest naming the
stored scene, as :func:`rfarm.submit.submission.send_files` builds one.
"""
from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from rfarm.errors import IntegrityError, NotFoundError, UsageError
from rfarm.files import manifest
from rfarm.files.hashing import FileHash
from rfarm.renderers import major_version, renderer_for_scene
from rfarm.service.deps import Farm, Who
from rfarm.service.routes.files import MAX_UPLOAD, store_body
from rfarm.service.web.dashboard import PageRoute
from rfarm.service.web.pages import Acting, Form, Page, _back, _page
from rfarm.state.states import Priority
from rfarm.submit.frames import parse_frame_list, parse_frames
from rfarm.submit.request import SubmitRequest

router = APIRouter(route_class=PageRoute, include_in_schema=False)
api_router = APIRouter(include_in_schema=False)

#: what the page takes: the scenes rfarm analyses, and a .zip project
SCENE_SUFFIXES = (".blend", ".ma", ".mb", ".zip")
#: where a browser's scene is said to lie on "the submitting machine" (the manifest's original path)
BROWSER_FOLDER = "/browser"


@router.get("/submit")
def submit_page(request: Request, who: Page) -> Response:
    return _page(request, "submit.html", who, suffixes=",".join(SCENE_SUFFIXES),
                 priorities=[str(p) for p in Priority], max_upload=MAX_UPLOAD)


class Staged(BaseModel):
    md5: str
    xxh64: str
    size: int


@api_router.post("/api/dashboard/upload", response_model=Staged)
async def stage_upload(
    request: Request, farm: Farm, who: Who,
    md5: Annotated[str, Query(pattern=r"^[0-9a-fA-F]{32}$")],
    size: Annotated[int, Query(ge=0, le=MAX_UPLOAD)],
) -> Staged:
    """Store the raw body, which the page says has this MD5 and size, after hashing it here."""
    def check(got: FileHash) -> None:
        if got.md5 != md5.lower() or got.size != size:
            raise IntegrityError(f"the uploaded file (MD5 {got.md5}, {got.size} bytes) is not the one the page hashed "
                                 f"(MD5 {md5.lower()}, {size} bytes); nothing was stored: choose it again")

    got = await store_body(request, farm, who, size, check)
    return Staged(md5=got.md5, xxh64=got.xxh64, size=got.size)


def scene_file_name(name: str) -> str:
    """The file name the browser gave, checked to be a scene the page takes."""
    base = PurePath(name.replace("\\", "/")).name.strip()
    if not base or PurePath(base).suffix.lower() not in SCENE_SUFFIXES:
        raise UsageError(f"choose a scene ({', '.join(SCENE_SUFFIXES)}), not {base or 'nothing'!r}")
    return base


def _number(fields: dict[str, str], key: str, label: str, kind: type = float) -> Any:
    text = fields.get(key, "").strip()
    try:
        return kind(text) if text else kind(0)
    except ValueError:
        raise UsageError(f"{label} must be a number, not {text!r}") from None


def build_browser_request(fields: dict[str, str], analysis: dict[str, Any] | None) -> SubmitRequest:
    """The task a submit form asks for; the scene is the stored file the form names."""
    name = scene_file_name(fields.get("name", ""))
    in_zip = fields.get("scene_in_zip", "").strip() or None
    options: dict[str, Any] = {}
    if name.lower().endswith(".zip"):
        if in_zip is None:
            raise UsageError("name the scene inside the .zip project (its path in the archive)")
        options["scene_in_archive"] = in_zip
    frames_spec = fields.get("frames", "").strip()
    if not frames_spec:
        raise UsageError("no frame range: enter the frames (e.g. 1-100)")
    frames = parse_frames(frames_spec)
    tests = parse_frame_list([fields["test_frames"]] if fields.get("test_frames", "").strip() else [])
    info = (analysis or {}).get("scene_info") or {}
    follow = fields.get("after_test", "")
    if follow not in ("", "stop", "hold"):
        raise UsageError("after the test frames: go on, stop on a failure, or hold")
    return SubmitRequest(
        scene=f"{BROWSER_FOLDER}/{name}",
        renderer=renderer_for_scene(in_zip or name),
        renderer_version=major_version(str(info.get("software_version") or "")),
        frames=frames, test_frames=tests, priority=fields.get("priority", "default"),
        chunk_size=_number(fields, "chunk", "Frames per render", int) or 1,
        ram_gb=_number(fields, "ram", "RAM"), gpus=_number(fields, "gpus", "GPUs", int),
        gpu_memory_gb=_number(fields, "gpu_memory", "GPU memory"),
        tags=tuple(t.strip() for t in fields.get("tags", "").split(",") if t.strip()),
        stop_after_test=follow == "stop", hold_after_test=follow == "hold",
        name=name, frames_spec=frames_spec, options=options,
    )


@router.post("/submit")
def submit(farm: Farm, who: Acting, fields: Form) -> Response:
    md5 = fields.get("md5", "").strip().lower()
    found = farm.stored_files(who, [md5]) if len(md5) == 32 else []
    if not found:
        raise NotFoundError("the scene is not in your store yet: choose it and let it upload first")
    stored = found[0]
    name = scene_file_name(fields.get("name", ""))
    analysis = None if name.lower().endswith(".zip") else farm.analyse_stored(who, md5=md5, name=name)
    request = build_browser_request(fields, analysis)
    entry = manifest.ManifestEntry(request.scene, "", stored.md5, stored.xxh64, stored.size, is_scene=True)
    doc = manifest.Manifest(0, manifest.SNAPSHOT, request.scene, (entry,), (),
                            request.options.get("scene_in_archive"))
    recorded = farm.submit(who, request, doc)
    return _back(f"/tasks/{recorded.task_id}")
