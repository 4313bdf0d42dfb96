"""What a DCC's submit panel does, without the DCC: its settings become the request
``rfarm submit`` would build for the same scene and options, sent through the same seam."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfarm.submit import flow, submission

if TYPE_CHECKING:
    from rfarm.analysis import AnalysisResult
    from rfarm.api import FarmAPI
    from rfarm.config import Config
    from rfarm.files.progress import ProgressCallback
    from rfarm.state.users import Caller
    from rfarm.submit.request import SubmitRequest


@dataclass(frozen=True, slots=True)
class PanelSettings:
    """The fields of a submit panel, as text and numbers the way the CLI takes them.

    ``frames`` empty renders the scene's own range; ``test_frames`` is ``50`` or
    ``1,50,100``; ``tags`` is comma-separated; ``files`` is one of
    :data:`rfarm.submit.submission.FILE_MODES` (the add-ons upload by default).
    """

    frames: str = ""
    test_frames: str = ""
    stop_after_test: bool = False
    hold_after_test: bool = False
    priority: str = "default"
    chunk: int = 1
    ram_gb: float = 0
    gpus: int = 0
    tags: str = ""
    camera: str = ""
    layers: tuple[str, ...] = ()
    force: bool = False
    files: str = "upload"


def build(scene: str, settings: PanelSettings, analysis: AnalysisResult | None) -> SubmitRequest:
    """The request for ``scene``: :func:`submission.build_request` with the panel's settings."""
    return submission.build_request(
        scene,
        frames=settings.frames.strip() or None,
        test_frames=[settings.test_frames] if settings.test_frames.strip() else [],
        priority=settings.priority,
        chunk=settings.chunk,
        ram_gb=settings.ram_gb,
        gpus=settings.gpus,
        tags=[tag.strip() for tag in settings.tags.split(",") if tag.strip()],
        camera=settings.camera.strip() or None,
        layers=settings.layers,
        stop_after_test=settings.stop_after_test,
        hold_after_test=settings.hold_after_test,
        analysis=analysis,
        force=settings.force,
    )


def farm_config(server_url: str = "", token: str = "", env: Mapping[str, str] | None = None) -> Config:
    """The configuration, as the CLI reads it (``rfarm.toml``, ``RFARM_*``), with the panel's
    server URL and the add-on's token in front of it when they are set."""
    from rfarm.config import load_config

    overrides = {**(env if env is not None else os.environ)}
    if server_url.strip():
        overrides["RFARM_SERVER_URL"] = server_url.strip()
    if token.strip():
        overrides["RFARM_TOKEN"] = token.strip()
    return load_config(overrides)


def connect(config: Config) -> tuple[FarmAPI, Caller]:
    """The farm's seam and who calls it: through a server the token says, locally the farm's database."""
    from rfarm.api import local_caller, open_api
    from rfarm.state.users import Caller

    api = open_api(config)
    return api, (Caller(config.user) if config.server_url else local_caller(config))


@dataclass(frozen=True, slots=True)
class Outcome:
    """A submit from a panel: the task, its link (the dashboard's page, when through a server) and warnings."""

    task_id: int
    link: str
    warnings: list[str]
    uploaded: dict[str, Any] | None

    def report(self) -> str:
        """The one line a DCC shows."""
        return f"rfarm: submitted task {self.task_id}" + (f" ({self.link})" if self.link else "") + (
            f"; {len(self.warnings)} warning(s): {self.warnings[0]}" if self.warnings else "")


def task_link(config: Config, task_id: int) -> str:
    """The dashboard's page of the task, or ``""`` on the embedded default (no dashboard runs)."""
    return f"{config.server_url.rstrip('/')}/tasks/{task_id}" if config.server_url else ""


def submit_scene(
    scene: str,
    settings: PanelSettings,
    config: Config,
    *,
    analysis: AnalysisResult | None = None,
    on_progress: ProgressCallback | None = None,
) -> Outcome:
    """Analyse (unless given), build, upload what is new and submit; raises the library's errors."""
    scene = str(Path(scene).expanduser())
    if analysis is None:
        analysis = flow.analyse_if_readable(scene)
    request = build(scene, settings, analysis)
    api, caller = connect(config)
    sent = flow.send(api, caller, config, request, files=settings.files, analysis=analysis,
                     on_progress=on_progress)
    return Outcome(sent.task_id, task_link(config, sent.task_id), list(sent.warnings),
                   None if sent.upload is None else sent.upload.counts())


def summary(analysis: AnalysisResult) -> dict[str, Any]:
    """What a panel shows of the analysis: frame range, resolution, engine, output and missing files."""
    info = analysis.scene_info
    frames = f"{info.start:g}-{info.end:g}" + (f" by {info.by_frame:g}" if info.by_frame != 1 else "") \
        if info.animation else f"{info.current_frame:g} (no animation)"
    return {
        "frames": frames,
        "resolution": f"{info.width}x{info.height}",
        "engine": info.renderer,
        "output": info.image_prefix + (f" ({info.image_format})" if info.image_format else ""),
        "missing": [f"{label}: {path}" for entry in analysis.missing for label, path in entry.items()],
        "errors": [tip.message for tip in analysis.tips if tip.level == "error"],
    }


def path_mapping_lines(config: Config) -> list[str]:
    """The farm's path mapping, one ``windows <-> posix`` line per rule, to show the artist."""
    return [f"{rule.windows} <-> {rule.posix}" for rule in config.path_map.rules]
