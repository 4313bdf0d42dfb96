"""Unreal Engine rendering with Movie Render Queue (MRQ) from the command line.

The stock MRQ command line takes a map, a Level Sequence and a config (a
primary config preset, a queue asset or a ``.utxt`` manifest) and nothing else:
the frame range, the output folder, the file names and the resolution all come
from the config's Output setting. An Unreal task is therefore rendered as one
chunk whose frames are the range that config renders, and ``job.output_dir``
must be the config's output folder for the images to be found.

MRQ's log has no per-frame line at the default verbosity. Progress is the share
of camera cuts finished in the current job (``[n] Initializing Camera Cut
[i/N]`` / ``[n] Finished processing Camera Cut [i/N]``), and the images are
found in the output folder afterwards. The engine exits 0 even when MRQ
reported an error (a job whose sequence does not load), so check_exit fails a
render on any ``LogMovieRenderPipeline`` error or crash report.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rfarm.errors import UsageError
from rfarm.renderers.base import Renderer, RenderEvent, RenderJob, find_frame_files

if TYPE_CHECKING:
    from rfarm.config import Config

_PIPELINE = "LogMovieRenderPipeline"

_TIMESTAMP = re.compile(r"^\[[^\]]*\]\[\s*\d+\]")
_LOG_LINE = re.compile(
    r"^(?P<category>\w+): (?:(?P<level>Error|Warning|Display|Verbose|VeryVerbose): )?(?P<message>.*)$"
)
_CUT_STARTED = re.compile(r"^\[\d+\] Initializing Camera Cut \[(?P<index>\d+)/(?P<count>\d+)\]")
_CUT_FINISHED = re.compile(r"^\[\d+\] Finished processing Camera Cut \[(?P<index>\d+)/(?P<count>\d+)\]")
_CRASH = re.compile(r"Critical error|Fatal error|Unhandled Exception|Assertion failed")
#: the engine version in an install path (``.../UE_5.3/Engine/Binaries/...``)
_VERSION_IN_PATH = re.compile(r"UE_(\d+\.\d+)")


class UnrealRenderer(Renderer):
    """``UnrealEditor-Cmd`` in ``-game`` mode rendering a Movie Render Queue config.

    Reads four keys of ``job.options`` and ignores the others: ``config``
    (required: the MRQ preset, queue or manifest), ``level_sequence`` (the
    sequence to render with a preset), ``map`` (the level to load, else the
    project's default map) and ``output_dir`` (where the config writes its
    images on the node, searched for each frame's files).

    Args:
        executable: the editor program to run; by default ``UnrealEditor-Cmd``
            (``UnrealEditor-Cmd.exe`` on Windows), found through the node's PATH.
        platform: the ``sys.platform`` of the node that renders, which decides
            the program name; by default this machine's.
    """

    name = "unreal"
    suffixes = (".uproject",)
    program = "UnrealEditor-Cmd"

    def __init__(self, executable: str | None = None, *, platform: str = sys.platform) -> None:
        super().__init__(executable)
        self.is_windows = platform.startswith("win")

    @classmethod
    def for_node(cls, config: Config) -> UnrealRenderer:
        return cls(config.unreal_executable or None)

    def node_version(self) -> str:
        """The engine version in the path of the node's editor (``UE_5.3``), "" when it names none."""
        match = _VERSION_IN_PATH.search(self.node_executable() or "")
        return match[1] if match else ""

    def build_command(self, job: RenderJob) -> list[str]:
        """``UnrealEditor-Cmd Project.uproject [Map] -game [-LevelSequence=] -MoviePipelineConfig= ...``.

        Raises:
            UsageError: ``config`` is missing, or the job asks for a camera,
                layers or a resolution, which the config sets.
        """
        config = job.options.get("config")
        if not config:
            raise UsageError(
                "An Unreal task needs its Movie Render Queue config: set the option "
                "config=/Game/.../Preset (a primary config, a queue or a .utxt manifest)."
            )
        fixed = [
            setting
            for setting, value in (
                ("camera", job.camera), ("layers", job.layers),
                ("width", job.width), ("height", job.height),
            )
            if value
        ]
        if fixed:
            raise UsageError(
                f"Unreal takes {', '.join(fixed)} from the Movie Render Queue config {config}: "
                f"set them there, not on the task."
            )
        command = [self.executable or ("UnrealEditor-Cmd.exe" if self.is_windows else "UnrealEditor-Cmd")]
        command.append(job.scene)
        if job.options.get("map"):
            command.append(job.options["map"])
        command.append("-game")
        if job.options.get("level_sequence"):
            command.append(f"-LevelSequence={job.options['level_sequence']}")
        command += [
            f"-MoviePipelineConfig={config}",
            "-windowed", "-RenderOffscreen", "-Unattended",
            "-log", "-StdOut", "-allowStdOutLogVerbosity",
        ]
        return command

    def frame_outputs(self, job: RenderJob, frame: int, reported: list[str]) -> list[Path]:
        """The frame's images in the config's output folder (``output_dir``), else the attempt folder."""
        folder = job.options.get("output_dir")
        if reported or not folder:
            return super().frame_outputs(job, frame, reported)
        return find_frame_files(Path(folder), frame)

    def parse_line(self, line: str) -> RenderEvent | None:
        """Camera-cut progress, errors and crash reports in the engine's log."""
        text = _TIMESTAMP.sub("", line.rstrip())
        entry = _LOG_LINE.match(text)
        if entry and entry["level"] == "Error":
            message = entry["message"].strip()
            if not message or message.startswith("[Callstack]"):
                return None
            return RenderEvent(error=f"{entry['category']}: Error: {message}")
        if _CRASH.search(text):
            return RenderEvent(error=text.strip())
        if entry and entry["category"] == _PIPELINE:
            return _parse_pipeline(entry["message"])
        return None

    def check_exit(self, code: int, errors: list[str]) -> str | None:
        """Failure on a non-zero exit, an MRQ error or a crash report.

        The reason is MRQ's first error (the cause; later ones repeat it),
        else the engine's last error.
        """
        pipeline = [error for error in errors if error.startswith(f"{_PIPELINE}:")]
        crashed = any(_CRASH.search(error) for error in errors)
        if code == 0 and not pipeline and not crashed:
            return None
        if pipeline:
            return pipeline[0]
        return errors[-1] if errors else f"{self.name} exited with code {code}"


def _parse_pipeline(message: str) -> RenderEvent | None:
    started = _CUT_STARTED.match(message)
    if started:
        return RenderEvent(percent=100.0 * (int(started["index"]) - 1) / int(started["count"]))
    finished = _CUT_FINISHED.match(message)
    if finished:
        return RenderEvent(percent=100.0 * int(finished["index"]) / int(finished["count"]))
    return None
