"""Turning what a user asks for into a task: validate, default from the scene, record, wake workers."""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfarm import manifest, scheduler, transfer
from rfarm import scene as rfarm_scene
from rfarm.allocation import Needs, check_capacity
from rfarm.config import Config
from rfarm.db import db_now
from rfarm.errors import UsageError
from rfarm.frames import format_frames, parse_frame_list, parse_frames
from rfarm.hashing import HashCache
from rfarm.models import Asset, HardwareConfig, TaskAsset, database
from rfarm.renderers import NAMES, SCENE_SUFFIXES, major_version, renderer_for_scene
from rfarm.states import Priority
from rfarm.storage.base import Storage
from rfarm.storage.keys import manifest_key, object_key
from rfarm.transfer import ProgressCallback, UploadSummary

if TYPE_CHECKING:
    from rfarm.analysis import AnalysisResult


def build_request(
    scene: str,
    *,
    frames: str | None = None,
    test_frames: Sequence[str] = (),
    priority: str = "default",
    chunk: int = 1,
    timeout_min: float | None = None,
    ram_gb: float = 0,
    gpus: int = 0,
    gpu_memory_gb: float = 0,
    tags: Sequence[str] = (),
    hardware_config: str | None = None,
    no_progress_timeout_min: float | None = None,
    renderer: str | None = None,
    resolution: str | None = None,
    camera: str | None = None,
    layers: Sequence[str] = (),
    output_dir: str | None = None,
    stop_after_test: bool = False,
    hold_after_test: bool = False,
    analysis: AnalysisResult | None = None,
    strict: bool = False,
    options: dict[str, Any] | None = None,
    scene_in_archive: str | None = None,
) -> scheduler.SubmitRequest:
    """A validated :class:`SubmitRequest`; raises UsageError naming the bad input.

    ``analysis`` (of the scene) supplies the frame range, resolution and
    renderer version where they are not given; with ``strict`` a missing
    dependency refuses the submit. A ``.zip`` project renders the scene
    ``scene_in_archive`` names inside it (default: its only scene file).
    """
    path = Path(scene).expanduser()
    if not path.is_file():
        raise UsageError(f"scene file {scene} does not exist")
    extra_options: dict[str, Any] = {}
    if path.suffix.lower() == ".zip":
        scene_in_archive = _archive_scene(path, scene_in_archive)
        extra_options["scene_in_archive"] = scene_in_archive
    elif scene_in_archive is not None:
        raise UsageError("--scene-in-zip is only for a .zip project")
    if strict and analysis is not None and analysis.missing:
        (label, missing_path), = analysis.missing[0].items()
        raise UsageError(f"--strict: {len(analysis.missing)} dependencies are missing, first {label}: {missing_path}")
    scene_frames = rfarm_scene.scene_frames(analysis) if analysis is not None else None
    Priority.named(priority)  # UsageError for an unknown name
    if renderer is not None and renderer not in NAMES:
        raise UsageError(f"unknown renderer {renderer!r}: use one of {', '.join(NAMES)}")
    if stop_after_test and hold_after_test:
        raise UsageError("--stop-after-test and --hold-after-test cannot be combined")
    if chunk < 1:
        raise UsageError("--chunk must be at least 1")
    if timeout_min is not None and timeout_min <= 0:
        raise UsageError("--timeout must be a positive number of minutes")
    if ram_gb < 0 or gpus < 0 or gpu_memory_gb < 0:
        raise UsageError("--ram, --gpus and --gpu-memory cannot be negative")
    if no_progress_timeout_min is not None and no_progress_timeout_min <= 0:
        raise UsageError("--no-progress-timeout must be a positive number of minutes")
    if frames is not None:
        frame_list = parse_frames(frames)
    elif scene_frames:
        frame_list = list(scene_frames)
    else:
        raise UsageError("no frame range: pass --frames (e.g. --frames 1-100)")
    tests = parse_frame_list(test_frames)
    outside = sorted(set(tests) - set(frame_list))
    if outside:
        raise UsageError(f"test frame {outside[0]} is not in the frame range {frames or format_frames(frame_list)}")
    if stop_after_test and not tests or hold_after_test and not tests:
        raise UsageError("--stop-after-test and --hold-after-test need --test-frame")
    info = analysis.scene_info if analysis is not None else None
    extra: dict[str, Any] = {}
    if resolution is not None:
        extra = parse_resolution(resolution)
    elif info is not None and info.scene_type == "maya":
        extra = {"width": info.width, "height": info.height}
    return scheduler.SubmitRequest(
        scene=str(path.resolve()),
        renderer_version=major_version(info.software_version or "") if info is not None else "",
        renderer=renderer or renderer_for_scene(scene_in_archive or str(path)),
        frames=frame_list,
        test_frames=tests,
        priority=priority,
        chunk_size=chunk,
        timeout_s=int(timeout_min * 60) if timeout_min else None,
        ram_gb=ram_gb,
        gpus=gpus,
        gpu_memory_gb=gpu_memory_gb,
        tags=tuple(tags),
        no_progress_timeout_s=int(no_progress_timeout_min * 60) if no_progress_timeout_min else None,
        camera=camera,
        layers=tuple(layers),
        output_dir=os.path.abspath(output_dir) if output_dir else None,
        stop_after_test=stop_after_test,
        hold_after_test=hold_after_test,
        name=path.name,
        frames_spec=frames or format_frames(frame_list),
        options={**extra, **extra_options, **(options or {}),
                 **({"hardware_config": hardware_config} if hardware_config else {})},
    )


def _archive_scene(archive: Path, member: str | None) -> str:
    """The scene to render inside a .zip project, checked to be there."""
    from rfarm.workspace import zip_names

    names = zip_names(archive)
    if member is None:
        scenes = [n for n in names if Path(n).suffix.lower() in SCENE_SUFFIXES]
        if len(scenes) != 1:
            raise UsageError(f"{archive.name} holds {len(scenes)} scene files: name one with --scene-in-zip")
        return scenes[0]
    member = member.replace("\\", "/").strip("/")
    if member not in names:
        raise UsageError(f"{archive.name} has no file {member}")
    return member


#: task options rfarm itself sets; ``--option`` cannot
RESERVED_OPTIONS = frozenset({"files", "hardware_config", "scene_in_archive", "remap_file", "relative_base",
                              "width", "height"})


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """``{"config": "/Game/Render/Preset"}`` from ``config=/Game/Render/Preset`` (renderer options)."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise UsageError(f"bad option {pair!r}: expected KEY=VALUE, e.g. config=/Game/Render/Preset")
        if key in RESERVED_OPTIONS:
            raise UsageError(f"option {key!r} is set by rfarm itself" + (": use --resolution" if key in ("width", "height") else ""))
        options[key] = value
    return options


def parse_resolution(text: str) -> dict[str, int]:
    """``{"width", "height"}`` from ``1920x1080``."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*[xX*]\s*(\d{1,5})\s*", text)
    if not match or not int(match[1]) or not int(match[2]):
        raise UsageError(f"bad resolution {text!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
    return {"width": int(match[1]), "height": int(match[2])}


def missing_warnings(analysis: AnalysisResult) -> list[str]:
    """One warning per missing dependency (the renders would lack them)."""
    return [f"missing dependency {label}: {path}" for entry in analysis.missing for label, path in entry.items()]


FILE_MODES = (manifest.UPLOAD, manifest.SNAPSHOT, "in-place")
"""How a task's files reach the nodes: all uploaded, a snapshot of the scene
alone (its dependencies read where they are), or the live scene file."""


@dataclass(frozen=True, slots=True)
class Submitted:
    task_id: int
    warnings: list[str]
    upload: UploadSummary | None = None
    files: str = manifest.SNAPSHOT


def submit(
    config: Config,
    request: scheduler.SubmitRequest,
    *,
    files: str = manifest.SNAPSHOT,
    analysis: AnalysisResult | None = None,
    on_progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> Submitted:
    """Check that some node can render it, send its files, record the task and ring the workers.

    Args:
        files: One of :data:`FILE_MODES`. ``upload`` sends the scene and every
            dependency ``analysis`` found (with dedup); ``snapshot`` sends the
            scene alone, so saving it again cannot change frames not yet
            rendered; ``in-place`` renders the live file.
        on_progress: Progress of hashing and uploading.
    """
    from rfarm.farm import open_farm

    if files not in FILE_MODES:
        raise UsageError(f"unknown file mode {files!r}: use one of {', '.join(FILE_MODES)}")
    if files == "in-place" and "scene_in_archive" in request.options:
        raise UsageError("a .zip project cannot render in place: drop --in-place")
    if files == manifest.SNAPSHOT and request.renderer == "unreal" and "scene_in_archive" not in request.options:
        files = "in-place"  # an Unreal project is a folder, not one file: send it as a .zip to snapshot it
    farm = open_farm(config)
    queue = farm.queue  # refuses a misconfigured queue before anything is recorded
    now = now or db_now()
    request = with_hardware_config(request)
    warnings = []
    warning = check_capacity(Needs(request.ram_gb, request.gpus, request.gpu_memory_gb,
                                   frozenset(request.tags), request.renderer, request.renderer_version), now)
    if warning:
        warnings.append(warning)
    limits = scheduler.Limits(config.max_attempts, config.max_lost_leases)
    summary = None
    if files == "in-place":
        task_id = scheduler.submit(request, user=config.user, limits=limits, now=now)
    else:
        paths = _task_files(request.scene, analysis if files == manifest.UPLOAD else None)
        with HashCache(config.home_dir / "hash_cache.db") as cache:
            summary = transfer.upload_with_dedup(
                paths, farm.storage, user=config.user, cache=cache, on_progress=on_progress
            )
        request = replace(request, options={**request.options, "files": files})
        with database.atomic():
            task_id = scheduler.submit(request, user=config.user, limits=limits, now=now)
            _record_manifest(farm.storage, task_id, request, paths, summary, analysis, files, user=config.user)
    chunks = len(request.test_frames) or -(-len(request.frames) // request.chunk_size)
    priority = 0 if request.test_frames else Priority(request.priority).order
    queue.notify(task_id, priority=priority, count=min(chunks, 16))
    return Submitted(task_id, warnings, summary, files)


def _task_files(scene: str, analysis: AnalysisResult | None) -> list[str]:
    """The scene, then each file its dependencies expand to that is present, once each."""
    paths = {scene: None}
    for dep in analysis.dependencies if analysis is not None else ():
        if dep.exists:
            paths.update(dict.fromkeys(f for f in dep.files if Path(f).is_file()))
    return list(paths)


def _record_manifest(
    storage: Storage,
    task_id: int,
    request: scheduler.SubmitRequest,
    paths: list[str],
    summary: UploadSummary,
    analysis: AnalysisResult | None,
    mode: str,
    *,
    user: str,
) -> None:
    """Write the task's TaskAsset rows and its manifest.json."""
    owner = scheduler.get_user(user)
    uploaded = {Path(f.path): f for f in summary.files}
    entries = []
    for path in paths:
        f = uploaded[Path(path)]
        key = object_key(owner.unionid, f.hash, f.xxhash)
        entries.append(manifest.ManifestEntry(path, key, f.hash, f.xxhash, f.size, is_scene=path == request.scene))
    assets = {
        (a.hash, a.xxhash): a.id
        for a in Asset.select(Asset.id, Asset.hash, Asset.xxhash).where(
            (Asset.user == owner) & Asset.hash.in_(sorted({e.hash for e in entries}))
        )
    }
    rows = [
        {"task": task_id, "asset": assets[e.hash, e.xxhash], "path": e.path, "is_scene": e.is_scene}
        for e in entries
    ]
    for start in range(0, len(rows), 100):
        TaskAsset.insert_many(rows[start : start + 100]).execute()
    refs: tuple[manifest.Reference, ...] = ()
    if analysis is not None:
        refs = manifest.references_of(analysis, files=paths if mode == manifest.UPLOAD else None)
    doc = manifest.Manifest(
        task_id, mode, request.scene, tuple(entries), refs, request.options.get("scene_in_archive")
    )
    storage.put_bytes(manifest_key(task_id), doc.encode())


def with_hardware_config(request: scheduler.SubmitRequest) -> scheduler.SubmitRequest:
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
