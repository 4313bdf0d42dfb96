"""A render node's side of a task's files: fetch, verify, rebuild the project, keep the disk bounded.

For a task with a manifest the worker calls :func:`prepare_task` before it
builds the render command. Objects come through the node's :class:`NodeCache`
(one download per content, however many tasks use it, each hash verified),
are linked into ``{workspace}/{user}/{task_id}/source/`` and laid out under
``project/`` with their original relative layout, so paths relative to a
scene still resolve. Paths the scenes write are remapped to the node's copy:
Maya ASCII scenes are rewritten, Blender gets a table its script applies.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from rfarm.analysis import maya_binary
from rfarm.files import workspace
from rfarm.config import Config
from rfarm.state.db import BATCH
from rfarm.errors import Cancelled, NotFoundError
from rfarm.files.manifest import UPLOAD, Manifest, ManifestEntry
from rfarm.state.models import utcnow
from rfarm.node.nodecache import NodeCache, link_file
from rfarm.pathmap import is_windows_path
from rfarm.state.states import TERMINAL
from rfarm.storage.base import Storage
from rfarm.storage.keys import manifest_key
from rfarm.files.progress import Progress, ProgressCallback

log = logging.getLogger(__name__)

FETCH_THREADS = 4
SWEEP_INTERVAL_S = 600.0
REMAP_FILE = ".rfarm-remap.json"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A task's project on this node, ready to render.

    ``remap_file`` holds the table (path as the scene writes it → this node's
    file) a Blender render applies; ``relative_base`` is where a snapshot's
    relative paths point. ``files``, ``downloaded`` and ``refetched`` count
    this call's work (0 when the project was already there).
    """

    scene: Path
    project: Path
    remap_file: Path | None
    relative_base: str | None
    files: int
    downloaded: int
    bytes_downloaded: int
    refetched: int


def pure_path(path: str) -> PurePath:
    """``path`` as the OS that wrote it reads it."""
    return PureWindowsPath(path) if is_windows_path(path) or "\\" in path else PurePosixPath(path)


def project_layout(paths: Iterable[str]) -> dict[str, PurePosixPath]:
    """Where each original file goes under ``project/``, keeping the files' relative layout.

    Files under one root (a POSIX root, a drive or a UNC share) keep their
    paths below their deepest common folder; with several roots each gets a
    folder of its own (``C``, ``nas_share``, ``root``).
    """
    pures = {p: pure_path(p) for p in paths}
    groups: dict[str, list[str]] = {}
    for original, pure in pures.items():
        groups.setdefault(pure.anchor.casefold(), []).append(original)
    layout: dict[str, PurePosixPath] = {}
    for members in groups.values():
        common = os.path.commonprefix([pures[m].parent.parts for m in members])
        prefix = [_anchor_folder(pures[members[0]].anchor)] if len(groups) > 1 else []
        for original in members:
            rel = "/".join([*prefix, *pures[original].parts[len(common) :]])
            layout[original] = PurePosixPath(*workspace.safe_member(rel, "task manifest"))
    return layout


def _anchor_folder(anchor: str) -> str:
    name = "_".join(part for part in anchor.replace("\\", "/").replace(":", "").split("/") if part)
    return name or "root"


def _norm(path: str) -> str:
    """An original path in one spelling per file (Windows paths ignore case and slash direction)."""
    pure = pure_path(path)
    return str(pure).casefold() if isinstance(pure, PureWindowsPath) else str(pure)


def read_manifest(storage: Storage, task_id: int) -> Manifest:
    try:
        return Manifest.decode(storage.get_bytes(manifest_key(task_id)))
    except NotFoundError as exc:
        raise NotFoundError(f"Task {task_id} has no manifest in storage; submit it again.") from exc


def prepare_task(
    config: Config,
    *,
    task_id: int,
    user: str,
    storage: Storage,
    cache: NodeCache,
    map_path: Callable[[str], str] = str,
    on_progress: ProgressCallback | None = None,
) -> Prepared:
    """Fetch a task's files and build its project under its workspace (once per node).

    Args:
        map_path: Turns a submitting machine's path into this node's (path
            mapping), for the files a snapshot leaves where they are.
        on_progress: Called after each file; returning ``False`` cancels.

    Raises:
        NotFoundError: the manifest or one of its objects is not in the store.
        IntegrityError: an object stays damaged after a second fetch.
        UsageError: an archive entry would land outside the project.
        Cancelled: ``on_progress`` returned ``False``.
    """
    manifest = read_manifest(storage, task_id)
    root = workspace.task_workspace(config, user, task_id)
    project = root / "project"
    scene_entry = manifest.scene_entry
    if manifest.scene_in_archive is not None:
        layout: dict[str, PurePosixPath] = {}
        scene = project.joinpath(*workspace.safe_member(manifest.scene_in_archive, "scene in archive"))
    else:
        layout = project_layout(e.path for e in manifest.files)
        scene = project / layout[scene_entry.path]
    remap = _remap(manifest, layout, project, map_path)
    is_blender = scene.suffix.lower() == ".blend"
    blender_table = remap.get(_norm(scene_entry.path), {}) if is_blender else {}
    counts = (0, 0, 0, 0)
    if not project.is_dir():
        counts = _build(manifest, layout, root, storage, cache, {} if is_blender else remap, blender_table, on_progress)
        cache.evict()
    remap_file = project / REMAP_FILE if blender_table else None
    is_snapshot = manifest.mode != UPLOAD and manifest.scene_in_archive is None
    relative_base = map_path(str(pure_path(scene_entry.path).parent)) if is_snapshot else None
    return Prepared(scene, project, remap_file, relative_base if is_blender else None, *counts)


def _remap(
    manifest: Manifest, layout: dict[str, PurePosixPath], project: Path, map_path: Callable[[str], str]
) -> dict[str, dict[str, str]]:
    """For each file that writes paths (by :func:`_norm`): path as written → this node's file.

    Uploaded files point into the project; a snapshot's scene points at the
    files where they are (through ``map_path``).
    """
    scene = _norm(manifest.scene_entry.path)
    remap: dict[str, dict[str, str]] = {}
    for ref in manifest.references if manifest.scene_in_archive is None else ():
        first, name, source = ref.files[0], pure_path(ref.path).name, _norm(ref.source)
        if manifest.mode == UPLOAD and first in layout:
            new = str(project.joinpath(*layout[first].parent.parts, name))
        elif manifest.mode != UPLOAD and source == scene:
            new = str(pure_path(map_path(str(pure_path(first).parent))) / name)
        else:
            continue
        if new != ref.path:
            remap.setdefault(source, {})[ref.path] = new
    return remap


def _build(
    manifest: Manifest,
    layout: dict[str, PurePosixPath],
    root: Path,
    storage: Storage,
    cache: NodeCache,
    maya_remap: dict[str, dict[str, str]],
    blender_table: dict[str, str],
    on_progress: ProgressCallback | None,
) -> tuple[int, int, int, int]:
    """Fetch into ``source/``, lay out a fresh ``project.*.tmp`` and rename it to ``project``."""
    source = root / "source"
    unique = list({e.key: e for e in manifest.files}.values())
    downloaded = refetched = bytes_down = bytes_done = 0
    bytes_total = sum(e.size for e in unique)
    with ThreadPoolExecutor(max_workers=FETCH_THREADS, thread_name_prefix="rfarm-fetch") as pool:
        futures = {pool.submit(cache.link, storage, e, source / _object_name(e)): e for e in unique}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                entry = futures[future]
                was_downloaded, was_refetched = future.result()
                downloaded += was_downloaded
                bytes_down += entry.size if was_downloaded else 0
                refetched += was_refetched
                bytes_done += entry.size
                if on_progress is not None and on_progress(
                    Progress("fetch", done, len(unique), bytes_done, bytes_total)
                ) is False:
                    raise Cancelled(f"Fetching the files of task {manifest.task_id} was cancelled.")
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    tmp = root / f"project.{uuid.uuid4().hex[:12]}.tmp"
    tmp.mkdir(parents=True)
    try:
        for entry in manifest.files:
            obj = source / _object_name(entry)
            if entry.is_scene and manifest.scene_in_archive is not None:
                workspace.safe_unpack(obj, tmp, label=pure_path(entry.path).name)
                continue
            target = tmp / layout[entry.path]
            suffix = target.suffix.lower()
            if suffix in (".ma", ".mb") and (table := maya_remap.get(_norm(entry.path))):
                (rewrite_maya_ascii if suffix == ".ma" else rewrite_maya_binary)(obj, target, table)
            else:
                link_file(obj, target)
        if blender_table:
            (tmp / REMAP_FILE).write_text(json.dumps(blender_table, indent=1), encoding="utf-8")
        try:
            tmp.rename(root / "project")
        except OSError:
            if not (root / "project").is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return len(manifest.files), downloaded, bytes_down, refetched


def _object_name(entry: ManifestEntry) -> str:
    return f"{entry.hash}-{entry.xxhash}"


def _mel_string(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return b'"' + escaped.encode("utf-8", "surrogateescape") + b'"'


def rewrite_maya_ascii(src: Path, dest: Path, remap: dict[str, str]) -> int:
    """Copy a Maya ASCII file with each quoted path of ``remap`` replaced; the replacements made."""
    data = src.read_bytes()
    count = 0
    for old, new in sorted(remap.items(), key=lambda kv: -len(kv[0])):
        needle = _mel_string(old)
        count += data.count(needle)
        data = data.replace(needle, _mel_string(new.replace("\\", "/")))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return count


def rewrite_maya_binary(src: Path, dest: Path, remap: dict[str, str]) -> int:
    """Copy a Maya binary file with each path of ``remap`` replaced; the replacements made."""
    forward = {old: new.replace("\\", "/") for old, new in remap.items()}
    data, count = maya_binary.rewrite_paths(src.read_bytes(), forward)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return count


@dataclass(frozen=True, slots=True)
class Sweep:
    workspaces: tuple[str, ...]
    cache_files: int
    cache_bytes: int


def sweep_node(config: Config, cache: NodeCache, *, now: datetime) -> Sweep:
    """Remove the workspaces of tasks finished over ``workspace_keep_hours`` ago; trim the cache."""
    from rfarm.state.models import Task

    folders = workspace.task_folders(config)
    ids = sorted({int(p.name) for p in folders})
    finished: dict[int, datetime | None] = {}
    for start in range(0, len(ids), BATCH):
        for task in Task.select(Task.id, Task.status, Task.finished_at, Task.created_at).where(
            Task.id.in_(ids[start : start + BATCH])
        ):
            finished[task.id] = (task.finished_at or task.created_at) if task.status in TERMINAL else None
    removed = []
    for path in workspace.finished_workspaces(config, finished, now):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    files, freed = cache.evict()
    return Sweep(tuple(removed), files, freed)


class NodeFiles:
    """One worker's files: its cache, the periodic sweep and the free-space check."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._cache: NodeCache | None = None
        self._lock = threading.Lock()
        self._next_sweep = 0.0
        self._is_low: bool | None = None

    @property
    def cache(self) -> NodeCache:
        if self._cache is None:
            max_bytes = int(float(self.config.cache_max_gb) * 1e9)
            self._cache = NodeCache(workspace.cache_dir(self.config), max_bytes=max_bytes)
        return self._cache

    def can_claim(self, node: str) -> bool:
        """False while the workspace disk has less than ``min_free_gb`` free (logged once per change)."""
        free = workspace.free_gb(self.config)
        minimum = float(self.config.min_free_gb)
        is_low = free < minimum
        if is_low != self._is_low and (is_low or self._is_low is not None):
            if is_low:
                log.warning("node %s: %.1f GB free on %s, below min_free_gb = %g: claiming nothing",
                            node, free, self.config.workspace, minimum)
            else:
                log.warning("node %s: %.1f GB free on %s again: claiming", node, free, self.config.workspace)
        self._is_low = is_low
        return not is_low

    def sweep_if_due(self) -> Sweep | None:
        """Run :func:`sweep_node` at most every ``SWEEP_INTERVAL_S`` seconds."""
        if time.monotonic() < self._next_sweep or not self._lock.acquire(blocking=False):
            return None
        try:
            self._next_sweep = time.monotonic() + SWEEP_INTERVAL_S
            swept = sweep_node(self.config, self.cache, now=utcnow())
        finally:
            self._lock.release()
        if swept.workspaces or swept.cache_files:
            log.info("removed %s old workspaces and %s cached files (%.1f MB)",
                     len(swept.workspaces), swept.cache_files, swept.cache_bytes / 1e6)
        return swept

    def prepare(
        self,
        *,
        task_id: int,
        user: str,
        storage: Storage,
        map_path: Callable[[str], str],
        on_progress: ProgressCallback | None = None,
    ) -> Prepared:
        """:func:`prepare_task` with this node's cache, one task at a time."""
        with self._lock:
            return prepare_task(self.config, task_id=task_id, user=user, storage=storage, cache=self.cache,
                                map_path=map_path, on_progress=on_progress)
