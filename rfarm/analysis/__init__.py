"""Scene analysis without the DCC: render settings and input files of a scene.

``analyze_scene("shot.ma")`` reads .ma, .mb and .blend files itself; Maya's
``mayapy`` runs only with ``backend="mayapy"``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from rfarm.analysis import maya_ascii, maya_binary
from rfarm.analysis.base import (
    AnalysisResult,
    Analyzer,
    Dependency,
    RenderLayer,
    SceneInfo,
    Tip,
)
from rfarm.analysis.blender import BlenderAnalyzer
from rfarm.analysis.maya_scene import MayaAnalyzer
from rfarm.analysis.paths import PathResolver, find_project
from rfarm.errors import AnalysisError, NotFoundError, UsageError

__all__ = [
    "ANALYZERS",
    "BACKENDS",
    "AnalysisResult",
    "Analyzer",
    "Dependency",
    "RenderLayer",
    "SceneInfo",
    "Tip",
    "analyze_scene",
]

BACKENDS = ("auto", "parser", "mayapy")

_MAYA = MayaAnalyzer({".ma": maya_ascii.read_scene, ".mb": maya_binary.read_scene})

ANALYZERS: Mapping[str, Analyzer] = {
    ".ma": _MAYA,
    ".mb": _MAYA,
    ".blend": BlenderAnalyzer(),
}


def analyze_scene(
    path: str | Path,
    *,
    project: str | Path | None = None,
    backend: str = "auto",
    path_map: Sequence[tuple[str, str]] = (),
    env: Mapping[str, str] | None = None,
) -> AnalysisResult:
    """Read a scene's render settings and input files without its application.

    Args:
        path: a .ma, .mb or .blend file.
        project: the Maya project folder; by default the nearest folder above the
            scene that holds a workspace.mel.
        backend: ``auto`` or ``parser`` read the file here; ``mayapy`` opens it in
            Maya's ``mayapy`` in a child process (Maya scenes only).
        path_map: ordered ``(from_prefix, to_prefix)`` rules, e.g. ``("P:/", "/mnt/p/")``.
        env: variables for ``$VAR`` in paths; by default the process environment.

    Returns:
        The settings, dependencies and tips; ``result.to_dict()`` is the JSON document.

    Raises:
        NotFoundError: ``path`` or ``project`` does not exist.
        UsageError: an unknown ``backend``.
        AnalysisError: the file cannot be read or is not a scene.
    """
    scene = Path(path)
    if backend not in BACKENDS:
        raise UsageError(f"Unknown analysis backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    if not scene.is_file():
        raise NotFoundError(f"Scene file {scene} does not exist.")
    if project is not None and not Path(project).is_dir():
        raise NotFoundError(f"Project folder {project} does not exist.")
    suffix = scene.suffix.lower()
    analyzer = ANALYZERS.get(suffix)
    if analyzer is None:
        known = ", ".join(sorted(ANALYZERS))
        raise AnalysisError(f"{scene} is not a scene rfarm can analyse ({known}).")
    is_maya = suffix in (".ma", ".mb")
    resolver = PathResolver(
        scene,
        project=find_project(scene, Path(project) if project is not None else None) if is_maya else None,
        path_map=tuple(path_map),
        env=env,
        windows_vars=os.name == "nt",
    )
    if backend == "mayapy":
        if not is_maya:
            raise AnalysisError(f"The mayapy backend reads Maya scenes only, not {scene.name}.")
        from rfarm.analysis.mayapy import analyze_with_mayapy

        return analyze_with_mayapy(scene, resolver)
    return analyzer.analyze(scene, resolver)
