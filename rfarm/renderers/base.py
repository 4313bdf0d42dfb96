"""The renderer interface: pure command building and log parsing.

A :class:`Renderer` knows how one DCC is driven from the command line and what
its log lines mean. It never starts a process itself: :mod:`rfarm.node.process`
owns the subprocess (process group, lifeline, tree kill) and the worker feeds
each log line to :meth:`Renderer.parse_line`.
"""
from __future__ import annotations

import re
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rfarm.config import Config

_LEADING_NUMBER = re.compile(r"\d+")


def major_version(version: str) -> str:
    """The major version of any renderer's version string: its leading number.

    ``2024`` of Maya's ``2024`` and ``2024ff07``, ``4`` of Blender's ``4.2.1``,
    ``5`` of ``5.0``; "" when the version is unknown. A task's version and a
    node's are compared by this, so a claim needs the same major version.
    """
    match = _LEADING_NUMBER.match(version.strip()) if version else None
    return match[0] if match else ""


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One render process: a chunk of frames of one task.

    ``scene`` and ``output_dir`` are paths on the node that renders (they may be
    Windows paths when the command is built for a Windows node).
    """

    scene: str
    frames: tuple[int, ...]
    output_dir: str
    camera: str | None = None
    layers: tuple[str, ...] = ()
    width: int | None = None
    height: int | None = None
    project_dir: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def start(self) -> int:
        return self.frames[0]

    @property
    def end(self) -> int:
        return self.frames[-1]

    @property
    def step(self) -> int:
        """The frame step when the chunk's frames are evenly spaced, else 1."""
        if len(self.frames) < 2:
            return 1
        steps = {b - a for a, b in zip(self.frames, self.frames[1:])}
        return steps.pop() if len(steps) == 1 else 1

@dataclass(frozen=True, slots=True)
class RenderEvent:
    """What one log line says. Every field is optional.

    ``frame`` is the frame the line is about; ``percent`` the progress of that
    frame (0-100); ``output`` a file the renderer reports written; ``error`` a
    line that explains a failure; ``frame_done`` marks the end of a frame.
    """

    frame: int | None = None
    percent: float | None = None
    output: str | None = None
    error: str | None = None
    frame_done: bool = False


class Renderer(ABC):
    """One DCC driven from its command line."""

    #: the name used by ``--renderer`` and stored on tasks
    name: str = ""
    #: scene suffixes this renderer renders by default (lowercase, with the dot)
    suffixes: tuple[str, ...] = ()
    #: whether its log says when each frame starts; if not, a frame's output
    #: line is taken to mean the next frame has begun
    reports_frames: bool = False
    #: the program looked for on the node's PATH when no executable is configured
    program: str = ""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable

    @classmethod
    @abstractmethod
    def for_node(cls, config: Config) -> Renderer:
        """This renderer as this node runs it, from the executable ``config`` names."""

    def node_executable(self) -> str | None:
        """The program this node runs: the configured one, else :attr:`program` on PATH; None when absent."""
        return self.executable or shutil.which(self.program)

    def unavailable(self) -> str | None:
        """Why this node cannot run the renderer, None when it can: checked once, when a node starts.

        The program must exist and be executable. Maya's ``Render`` and Unreal's
        editor are not started for this: they have no quick version flag (each
        would load the whole application); their version is read from their path.
        """
        program = self.node_executable()
        if program is None:
            return f"{self.program} is not on PATH"
        if shutil.which(program) is None:
            return f"{program} is not an executable file"
        return None

    def node_version(self) -> str:
        """The version this node renders with, "" when unknown."""
        return ""

    def check_scene(self, scene: Path) -> None:
        """Refuse (with :class:`~rfarm.errors.UsageError`) a readable scene this node cannot render.

        Every scene is accepted by default; a renderer that can tell from the
        file that its version cannot open it overrides this.
        """

    @abstractmethod
    def build_command(self, job: RenderJob) -> list[str]:
        """The exact argument list that renders ``job``."""

    @abstractmethod
    def parse_line(self, line: str) -> RenderEvent | None:
        """What one line of the renderer's output says, or None."""

    def check_exit(self, code: int, errors: list[str]) -> str | None:
        """Why the render failed, or None when it succeeded.

        ``errors`` are the error lines parsed from the log, oldest first; the
        last one usually names the cause. A renderer may override this where a
        zero exit code can still mean failure.
        """
        if code == 0:
            return None
        return errors[-1] if errors else f"{self.name} exited with code {code}"

    def frame_outputs(self, job: RenderJob, frame: int, reported: list[str]) -> list[Path]:
        """The image files ``frame`` produced in ``job.output_dir``.

        Files the renderer reported come first; otherwise the output folder is
        searched for files whose name carries the frame number.
        """
        if reported:
            return [Path(p) for p in reported]
        return find_frame_files(Path(job.output_dir), frame)


_DIGITS = re.compile(r"\d+")


def find_frame_files(folder: Path, frame: int) -> list[Path]:
    """Files under ``folder`` whose name ends in ``frame``'s number (the last digits of the stem).

    ``sh010.0010.exr`` is frame 10, not shot 10: only the last run of digits counts.
    """
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        runs = _DIGITS.findall(path.stem)
        if runs and int(runs[-1]) == abs(frame) and path.is_file():
            found.append(path)
    return sorted(found)
