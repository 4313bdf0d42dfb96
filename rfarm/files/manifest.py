"""A task's manifest: which stored object holds each of its files, and how its scenes name them.

The manifest is written once, at submit, to ``tasks/<id>/manifest.json``; a
render node reads it to rebuild the project. Paths are as they were on the
submitting machine (Windows or POSIX); ``references`` keep each dependency as
the scene writes it, so a node can point the scene at its own copy.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from rfarm.errors import IntegrityError
from rfarm.files.hashing import FileHash
from rfarm.storage.keys import object_key

if TYPE_CHECKING:
    from rfarm.analysis import AnalysisResult

VERSION = 1
UPLOAD = "upload"
"""The scene and its dependencies were uploaded: nodes render only from fetched files."""
SNAPSHOT = "snapshot"
"""Only the scene was uploaded: nodes read its dependencies where the scene says."""
MODES = (UPLOAD, SNAPSHOT)


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file: its original path, the object holding it and that object's hashes."""

    path: str
    key: str
    hash: str
    xxhash: str
    size: int
    is_scene: bool = False

    @property
    def file_hash(self) -> FileHash:
        return FileHash(self.hash, self.xxhash, self.size)


@dataclass(frozen=True, slots=True)
class Reference:
    """A dependency as ``source`` (a scene or library) writes it, and the files it stands for."""

    path: str
    source: str
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """Everything a node needs to rebuild a task's project.

    ``scene`` is the original path of the scene, or of the .zip archive that
    holds it, in which case ``scene_in_archive`` names the scene inside it.
    """

    task_id: int
    mode: str
    scene: str
    files: tuple[ManifestEntry, ...]
    references: tuple[Reference, ...] = ()
    scene_in_archive: str | None = None

    @property
    def scene_entry(self) -> ManifestEntry:
        return next(e for e in self.files if e.is_scene)

    def for_task(self, task_id: int, unionid: str) -> Manifest:
        """This manifest as the farm records it: stamped with the task id, each file named by
        its key in the store of the user whose ``unionid`` is given (the farm, not the
        submitting machine, decides where a user's objects live)."""
        files = tuple(replace(e, key=object_key(unionid, e.hash, e.xxhash)) for e in self.files)
        return replace(self, task_id=task_id, files=files)

    def encode(self) -> bytes:
        """The manifest as UTF-8 JSON."""
        doc = {"version": VERSION, **asdict(self)}
        return json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        """Parse :meth:`encode`'s output.

        Raises:
            IntegrityError: the document is not a manifest this version reads.
        """
        try:
            doc: dict[str, Any] = json.loads(data)
            if doc.get("version") != VERSION:
                raise ValueError(f"version {doc.get('version')!r}, expected {VERSION}")
            manifest = cls(
                task_id=int(doc["task_id"]),
                mode=str(doc["mode"]),
                scene=str(doc["scene"]),
                files=tuple(ManifestEntry(**entry) for entry in doc["files"]),
                references=tuple(
                    Reference(str(r["path"]), str(r["source"]), tuple(map(str, r["files"])))
                    for r in doc["references"]
                ),
                scene_in_archive=doc.get("scene_in_archive"),
            )
            if manifest.mode not in MODES or sum(e.is_scene for e in manifest.files) != 1:
                raise ValueError("no single scene entry, or an unknown mode")
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"The task manifest is unreadable ({exc}); submit the task again.") from exc
        return manifest


def references_of(analysis: AnalysisResult, *, files: Iterable[str] | None = None) -> tuple[Reference, ...]:
    """The analysed dependencies that have files, as references.

    A referenced file named by several files (or in several spellings) gives
    one reference per naming, so each of those files can be rewritten.

    Args:
        files: When given, only files in it are kept (those that were uploaded).
    """
    kept = None if files is None else set(files)
    refs: dict[tuple[str, str], Reference] = {}
    for dep in analysis.dependencies:
        present = tuple(f for f in dep.files if kept is None or f in kept)
        if dep.exists and present:
            for path, source in ((dep.path, dep.source), *dep.also):
                refs.setdefault((path, source), Reference(path, source, present))
    return tuple(refs.values())
