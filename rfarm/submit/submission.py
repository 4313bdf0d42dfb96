"""Turning what a user asks for into a task, on the submitting machine: parse and default
from the scene (:func:`build_request`), send the files, then hand the task to the farm."""
from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfarm.files import manifest
from rfarm.submit import scene as rfarm_scene
from rfarm.errors import UsageError
from rfarm.submit.frames import format_frames, parse_frame_list, parse_frames
from rfarm.files.hashing import HashCache
from rfarm.files.progress import ProgressCallback
from rfarm.renderers import NAMES, SCENE_SUFFIXES, major_version, renderer_for_scene
from rfarm.submit.request import SubmitRequest
from rfarm.files.upload import UploadSummary, upload_files
from rfarm.state.users import Caller

if TYPE_CHECKING:
    from rfarm.analysis import AnalysisResult
    from rfarm.api import FarmAPI


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
    force: bool = False,
    options: dict[str, Any] | None = None,
    scene_in_archive: str | None = None,
) -> SubmitRequest:
    """A validated :class:`SubmitRequest`; raises UsageError naming the bad input.

    ``analysis`` (of the scene) supplies the frame range, resolution and
    renderer version where they are not given, and is checked against: a
    ``layers`` name it does not list is refused, and so (unless ``force``) is a
    ``camera`` it does not list or a scene it says cannot render
    (:func:`refusals`). With ``strict`` a missing dependency refuses the
    submit. A ``.zip`` project renders the scene ``scene_in_archive`` names
    inside it (default: its only scene file).
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
    if analysis is not None:
        _check_layers(analysis, layers)
        reasons = refusals(analysis, camera=camera, layers=layers)
        if reasons and not force:
            raise UsageError(f"{path.name}: {reasons[0]}" + (f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else "")
                             + "; --force submits anyway")
    if strict and analysis is not None and analysis.missing:
        (label, missing_path), = analysis.missing[0].items()
        raise UsageError(f"--strict: {len(analysis.missing)} dependencies are missing, first {label}: {missing_path}")
    scene_frames = rfarm_scene.scene_frames(analysis) if analysis is not None else None
    if renderer is not None and renderer not in NAMES:
        raise UsageError(f"unknown renderer {renderer!r}: use one of {', '.join(NAMES)}")
    if frames is not None:
        frame_list = parse_frames(frames)
    elif scene_frames:
        frame_list = list(scene_frames)
    else:
        raise UsageError("no frame range: pass --frames (e.g. --frames 1-100)")
    tests = parse_frame_list(test_frames)
    info = analysis.scene_info if analysis is not None else None
    extra: dict[str, Any] = {}
    if resolution is not None:
        extra = parse_resolution(resolution)
    elif info is not None and info.scene_type == "maya":
        extra = {"width": info.width, "height": info.height}
    return SubmitRequest(
        scene=str(path.resolve()),
        renderer_version=major_version(info.software_version or "") if info is not None else "",
        renderer=renderer or renderer_for_scene(scene_in_archive or str(path)),
        frames=frame_list,
        test_frames=tests,
        priority=priority,
        chunk_size=chunk,
        timeout_s=_seconds(timeout_min, "--timeout"),
        ram_gb=ram_gb,
        gpus=gpus,
        gpu_memory_gb=gpu_memory_gb,
        tags=tuple(tags),
        no_progress_timeout_s=_seconds(no_progress_timeout_min, "--no-progress-timeout"),
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
    from rfarm.files.workspace import zip_names

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


#: the longest time limit a task may set: a year
MAX_LIMIT_MIN = 366 * 24 * 60


def _seconds(minutes: float | None, flag: str) -> int | None:
    """Whole seconds of a time limit given in minutes (a part second counts as one)."""
    if minutes is None:
        return None
    if not 0 < minutes <= MAX_LIMIT_MIN:  # NaN fails every comparison
        raise UsageError(f"{flag} must be a positive number of minutes, at most {MAX_LIMIT_MIN} (a year); got {minutes:g}")
    return math.ceil(minutes * 60)


def _check_layers(analysis: AnalysisResult, layers: Sequence[str]) -> None:
    """Refuse a ``--layer`` the scene does not have (the analysis lists every layer), naming those it has."""
    info = analysis.scene_info
    if not layers or "render_layers" in info.defaulted:
        return
    known = [layer.name for layer in info.render_layers]
    unknown = [name for name in layers if name not in known]
    if unknown:
        raise UsageError(f"--layer {unknown[0]!r}: {Path(info.path).name} has no such render layer; "
                         f"its layers: {', '.join(known) or 'none'}")


def refusals(analysis: AnalysisResult, *, camera: str | None = None, layers: Sequence[str] = ()) -> list[str]:
    """Why the scene, as the analysis reads it, would fail on every node: a ``camera`` it does not list
    and its ``error`` tips (less a missing renderable layer when ``layers`` names them)."""
    info = analysis.scene_info
    reasons = []
    if camera is not None and "cameras" not in info.defaulted and camera not in info.cameras:
        listed = ", ".join(info.cameras) or "none"
        reasons.append(f"--camera {camera!r} is not a renderable camera of the scene; its cameras: {listed}")
    for tip in analysis.tips:
        if tip.level != "error" or (tip.code == "no_renderable_layer" and layers):
            continue
        if tip.code == "no_renderable_camera" and camera is not None:
            continue  # said above, with the camera's name
        reasons.append(f"cannot render as it stands ({tip.code}): {tip.message.rstrip('.')}")
    return reasons


def missing_warnings(analysis: AnalysisResult) -> list[str]:
    """One warning per missing dependency (the renders would lack them)."""
    return [f"missing dependency {label}: {path}" for entry in analysis.missing for label, path in entry.items()]


def analysis_warnings(analysis: AnalysisResult, request: SubmitRequest) -> list[str]:
    """What the submitter should know from the analysis: each missing dependency, and each refusal ``--force`` overrode."""
    forced = refusals(analysis, camera=request.camera, layers=request.layers)
    return [f"--force: {reason}" for reason in forced] + missing_warnings(analysis)


FILE_MODES = (manifest.UPLOAD, manifest.SNAPSHOT, "in-place")
"""How a task's files reach the nodes: all uploaded, a snapshot of the scene
alone (its dependencies read where they are), or the live scene file."""


@dataclass(frozen=True, slots=True)
class Submitted:
    """A submitted task: its id, what was uploaded for it and every warning on the way."""

    task_id: int
    frames: int
    test_frames: list[int]
    warnings: list[str]
    upload: UploadSummary | None = None
    files: str = manifest.SNAPSHOT

    def to_dict(self) -> dict[str, Any]:
        """The ``rfarm submit --json`` document."""
        return {"task_id": self.task_id, "status": "queued", "frames": self.frames,
                "test_frames": list(self.test_frames), "warnings": list(self.warnings), "files": self.files,
                "upload": None if self.upload is None else self.upload.counts()}


def submit(
    api: FarmAPI,
    caller: Caller,
    request: SubmitRequest,
    *,
    files: str = manifest.SNAPSHOT,
    analysis: AnalysisResult | None = None,
    cache: HashCache | None = None,
    on_progress: ProgressCallback | None = None,
) -> Submitted:
    """Send the task's files (:func:`send_files`), then record it on the farm in one call.

    Args:
        files: One of :data:`FILE_MODES`. ``upload`` sends the scene and every
            dependency ``analysis`` found (with dedup); ``snapshot`` sends the
            scene alone, so saving it again cannot change frames not yet
            rendered; ``in-place`` renders the live file.
        cache: The hash cache of this machine.
        on_progress: Progress of hashing and uploading.
    """
    files, doc, summary = send_files(api, caller, request, files=files, analysis=analysis, cache=cache,
                                     on_progress=on_progress)
    recorded = api.submit(caller, request, doc)
    warnings = (analysis_warnings(analysis, request) if analysis is not None else []) + list(recorded.warnings)
    return Submitted(recorded.task_id, len(request.frames), list(request.test_frames), warnings, summary, files)


def send_files(
    api: FarmAPI,
    caller: Caller,
    request: SubmitRequest,
    *,
    files: str = manifest.SNAPSHOT,
    analysis: AnalysisResult | None = None,
    cache: HashCache | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[str, manifest.Manifest | None, UploadSummary | None]:
    """The first phase of a submit, on the submitting machine: hash the task's files, upload
    what the farm lacks and build the manifest (None when the live file renders in place).

    Returns:
        The file mode the task renders with, its manifest and what the upload did.
    """
    if files not in FILE_MODES:
        raise UsageError(f"unknown file mode {files!r}: use one of {', '.join(FILE_MODES)}")
    if files == "in-place" and "scene_in_archive" in request.options:
        raise UsageError("a .zip project cannot render in place: drop --in-place")
    if files == manifest.SNAPSHOT and request.renderer == "unreal" and "scene_in_archive" not in request.options:
        files = "in-place"  # an Unreal project is a folder, not one file: send it as a .zip to snapshot it
    if files == "in-place":
        return files, None, None
    paths = _task_files(request.scene, analysis if files == manifest.UPLOAD else None)
    summary = upload_files(api, caller, paths, cache=cache, on_progress=on_progress)
    uploaded = {Path(f.path): f for f in summary.files}
    entries = []
    for path in paths:
        f = uploaded[Path(path)]
        entries.append(manifest.ManifestEntry(path, "", f.hash, f.xxhash, f.size, is_scene=path == request.scene))
    refs: tuple[manifest.Reference, ...] = ()
    if analysis is not None:
        refs = manifest.references_of(analysis, files=paths if files == manifest.UPLOAD else None)
    doc = manifest.Manifest(0, files, request.scene, tuple(entries), refs, request.options.get("scene_in_archive"))
    return files, doc, summary


def _task_files(scene: str, analysis: AnalysisResult | None) -> list[str]:
    """The scene, then each file its dependencies expand to that is present, once each."""
    paths = {scene: None}
    for dep in analysis.dependencies if analysis is not None else ():
        if dep.exists:
            paths.update(dict.fromkeys(f for f in dep.files if Path(f).is_file()))
    return list(paths)
