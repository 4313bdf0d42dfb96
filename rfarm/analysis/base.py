"""The values every scene analyser returns, and the interface it implements."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from rfarm.analysis.paths import PathResolver

TipLevel = Literal["info", "warning", "error"]


@dataclass(frozen=True, slots=True)
class RenderLayer:
    """A render layer and whether a batch render renders it.

    ``name`` is the legacy ``renderLayer`` node (what ``Render -rl`` takes);
    ``render_setup_layer`` names the Render Setup layer that owns it, if any.
    """

    name: str
    renderable: bool
    render_setup_layer: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    """Settings the layer renders with that differ from the scene's, as ``(key, value)``:
    ``start``, ``end``, ``width``, ``height`` or ``cameras`` (a tuple of names)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "renderable": self.renderable,
            "render_setup_layer": self.render_setup_layer,
            "overrides": {key: _plain_value(value) for key, value in self.overrides},
        }


@dataclass(frozen=True, slots=True)
class SceneInfo:
    """Render settings of a scene, each a plain value.

    A setting the file does not write takes the application's default, and its
    key is listed in ``defaulted``.
    """

    scene_type: str
    path: str
    software_version: str | None
    renderer: str
    start: float
    end: float
    by_frame: float
    animation: bool
    current_frame: float
    width: int
    height: int
    image_prefix: str
    image_format: str
    cameras: tuple[str, ...]
    render_layers: tuple[RenderLayer, ...]
    time_unit: str
    fps: float | None
    plugins: tuple[tuple[str, str], ...] = ()
    defaulted: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scene_type": self.scene_type,
            "path": self.path,
            "software_version": self.software_version,
            "renderer": self.renderer,
            "start": _plain_number(self.start),
            "end": _plain_number(self.end),
            "by_frame": _plain_number(self.by_frame),
            "animation": self.animation,
            "current_frame": _plain_number(self.current_frame),
            "width": self.width,
            "height": self.height,
            "image_prefix": self.image_prefix,
            "image_format": self.image_format,
            "cameras": list(self.cameras),
            "render_layers": [layer.to_dict() for layer in self.render_layers],
            "time_unit": self.time_unit,
            "fps": self.fps,
            "plugins": dict(self.plugins),
            "defaulted": list(self.defaulted),
        }


@dataclass(frozen=True, slots=True)
class Dependency:
    """One input file of a scene.

    ``path`` is exactly as the scene writes it; ``resolved`` is where it was
    looked for (the first candidate that exists, else the most likely one);
    ``files`` lists the files present, with tile and frame patterns expanded.
    ``source`` is the scene file whose text writes the path (the file a render
    node rewrites); ``via`` is the file of the reference tree that needs it,
    usually the same, but a nested reference that only the scene's
    ``file -rdi`` lines name (its referencing file being absent) is needed
    via that absent file. ``depth`` counts references from the scene: for a
    reference, the depth of the file it loads (1: the scene references it); for
    any other input, the depth of the file that needs it (0: the scene).
    ``also`` lists the other ``(path as written, source)`` spellings of the same
    referenced file, each file being listed once.
    """

    path: str
    kind: str
    node: str
    node_type: str
    attr: str
    resolved: str | None
    exists: bool
    files: tuple[str, ...] = ()
    source: str = ""
    via: str = ""
    depth: int = 0
    also: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """The ``node.attr`` label used for missing files."""
        return f"{self.node}.{self.attr}" if self.attr else self.node

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "node": self.node,
            "node_type": self.node_type,
            "attr": self.attr,
            "resolved": self.resolved,
            "exists": self.exists,
            "files": list(self.files),
            "source": self.source,
            "via": self.via,
            "depth": self.depth,
            "also": [{"path": path, "source": source} for path, source in self.also],
        }


@dataclass(frozen=True, slots=True)
class Tip:
    """Advice about a scene: ``error`` tips mean it cannot render as it stands."""

    code: str
    level: TipLevel
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "level": self.level, "message": self.message}


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """What an analyser found: settings, input files and advice."""

    scene_info: SceneInfo
    dependencies: tuple[Dependency, ...] = ()
    tips: tuple[Tip, ...] = ()

    @property
    def asset(self) -> list[str]:
        """Every dependency path as written, once each, in scene order."""
        return list(dict.fromkeys(dep.path for dep in self.dependencies))

    @property
    def missing(self) -> list[dict[str, str]]:
        """``[{"node.attr": path}]`` for each dependency with no file present."""
        return [{dep.key: dep.path} for dep in self.dependencies if not dep.exists]

    @property
    def can_render(self) -> bool:
        """False when the scene cannot render as it stands (an ``error`` tip)."""
        return not any(tip.level == "error" for tip in self.tips)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: scene_info, asset, missing, dependencies, tips."""
        return {
            "scene_info": self.scene_info.to_dict(),
            "asset": self.asset,
            "missing": self.missing,
            "dependencies": [dep.to_dict() for dep in self.dependencies],
            "tips": [tip.to_dict() for tip in self.tips],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """:meth:`to_dict` serialised as one JSON object."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


class Analyzer(Protocol):
    """Reads one scene format without its application."""

    def analyze(self, path: Path, resolver: PathResolver) -> AnalysisResult:
        """Read ``path`` and return its settings, dependencies and tips.

        Raises:
            AnalysisError: the file cannot be read or is not a scene.
        """
        ...


class Collector:
    """Resolves dependencies as a scene (and the files it references) names them.

    A referenced file is listed once, however many files or namespaces
    reference it: later namings join the first one's ``also``. It keeps what
    the dependency tips need: local-only paths and unknown variables.
    """

    def __init__(self) -> None:
        self.dependencies: list[Dependency] = []
        self._references: dict[str, int] = {}
        self._local_paths: dict[str, None] = {}
        self._unknown_variables: dict[str, None] = {}

    def add(
        self,
        resolver: PathResolver,
        path: str,
        *,
        kind: str,
        node: str,
        node_type: str,
        attr: str,
        lookup: str | None = None,
        source: str | None = None,
        via: str | None = None,
        depth: int = 0,
    ) -> tuple[Dependency, bool]:
        """Resolve ``lookup`` (default: ``path``) and record the dependency.

        ``source`` and ``via`` default to the resolver's scene. Returns the
        dependency and whether it is new (False: a reference to a file already
        listed, whose ``also`` now names this spelling).
        """
        found = resolver.resolve(lookup or path, kind=kind)
        if found.local_only:
            self._local_paths[path] = None
        self._unknown_variables.update(dict.fromkeys(found.unknown_variables))
        source = str(resolver.scene) if source is None else source
        dep = Dependency(
            path=path,
            kind=kind,
            node=node,
            node_type=node_type,
            attr=attr,
            resolved=found.resolved,
            exists=found.exists,
            files=found.files,
            source=source,
            via=source if via is None else via,
            depth=depth,
        )
        if kind == "reference":
            key = reference_key(dep)
            index = self._references.get(key)
            if index is not None:
                first = self.dependencies[index]
                naming = (path, source)
                if naming != (first.path, first.source) and naming not in first.also:
                    self.dependencies[index] = replace(first, also=(*first.also, naming))
                return self.dependencies[index], False
            self._references[key] = len(self.dependencies)
        self.dependencies.append(dep)
        return dep, True

    def tips(self) -> list[Tip]:
        """Warnings about missing files, local-only paths and unknown variables."""
        tips: list[Tip] = []
        missing = list(dict.fromkeys(dep.path for dep in self.dependencies if not dep.exists))
        if missing:
            tips.append(
                Tip(
                    "missing_files",
                    "warning",
                    f"{len(missing)} input file(s) not found: {_first(missing)}.",
                )
            )
        if self._local_paths:
            tips.append(
                Tip(
                    "local_path",
                    "warning",
                    "Paths on a local drive that no path-mapping rule covers, so render "
                    f"nodes cannot read them: {_first(list(self._local_paths))}. "
                    "Add a path-mapping rule or move the files into the project.",
                )
            )
        if self._unknown_variables:
            names = ", ".join(f"${name}" for name in self._unknown_variables)
            tips.append(
                Tip(
                    "unknown_variable",
                    "warning",
                    f"Environment variable(s) not set here: {names}; paths using them "
                    "were not resolved.",
                )
            )
        return tips


def reference_key(dep: Dependency) -> str:
    """One spelling per referenced file: the real path when present, else where it was looked for."""
    if dep.files:
        return os.path.realpath(dep.files[0])
    return os.path.normcase(dep.resolved or dep.path)


def render_tips(info: SceneInfo) -> list[Tip]:
    """Errors that stop a scene rendering as it stands."""
    tips: list[Tip] = []
    if not info.cameras:
        tips.append(Tip("no_renderable_camera", "error", "The scene has no renderable camera."))
    if not any(layer.renderable for layer in info.render_layers):
        tips.append(Tip("no_renderable_layer", "error", "No render layer is renderable."))
    if info.end < info.start:
        tips.append(
            Tip(
                "end_before_start",
                "error",
                f"The end frame ({info.end:g}) is before the start frame ({info.start:g}).",
            )
        )
    return tips


def _first(items: Sequence[str], count: int = 5) -> str:
    shown = ", ".join(items[:count])
    return shown + (f" and {len(items) - count} more" if len(items) > count else "")


def _plain_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return _plain_number(value) if isinstance(value, float) else value


def _plain_number(value: float) -> float | int:
    """Frame numbers as ints when whole, so JSON shows ``1`` not ``1.0``."""
    return int(value) if float(value).is_integer() else value


def sort_tips(tips: Sequence[Tip]) -> tuple[Tip, ...]:
    """Errors first, then warnings, then info; a repeated tip once."""
    order = {"error": 0, "warning": 1, "info": 2}
    unique = dict.fromkeys(tips)
    return tuple(sorted(unique, key=lambda tip: order[tip.level]))
