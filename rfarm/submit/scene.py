"""Scene analysis as the farm uses it: path-mapping rules from the config, defaults for submit."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from rfarm.analysis import AnalysisResult


def analyse_for_farm(scene: str, *, project: str | None = None, backend: str = "auto") -> AnalysisResult:
    """Analyse ``scene`` with this machine's path-mapping rules."""
    from rfarm.analysis import analyze_scene
    from rfarm.config import load_config

    rules = load_config().path_map.rules
    pairs = [(r.posix, r.windows) if os.name == "nt" else (r.windows, r.posix) for r in rules]
    return analyze_scene(scene, project=project, backend=backend, path_map=pairs)


def scene_frames(result: AnalysisResult) -> list[int]:
    """The frames a batch render of the scene renders: its range, or its current frame."""
    info = result.scene_info
    if not info.animation:
        return [int(info.current_frame)]
    step = max(1, int(round(info.by_frame)))
    start, end = int(round(info.start)), int(round(info.end))
    return list(range(start, end + 1, step)) if end >= start else []


def is_analysable(scene: str) -> bool:
    """Whether rfarm reads this kind of scene itself (the analysers' suffixes)."""
    from rfarm.analysis import ANALYZERS

    return Path(scene).suffix.lower() in ANALYZERS
