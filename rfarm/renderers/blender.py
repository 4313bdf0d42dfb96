"""Blender, for real: a configured executable, the bpy module in a child Python, or ``blender`` on PATH."""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rfarm.errors import UsageError
from rfarm.renderers.base import Renderer, RenderEvent, RenderJob

if TYPE_CHECKING:
    from rfarm.config import Config

SCRIPT = Path(__file__).with_name("blender_script.py")
_RFARM = re.compile(r"^RFARM (FRAME|PROGRESS|OUTPUT|ERROR) (-?\d+) ?(.*)$")
_SAMPLE = re.compile(r"^Fra:(-?\d+) .*?Sample (\d+)/(\d+)")
_ERROR = re.compile(r"^(Error: .+|.*Traceback \(most recent call last\).*|Warning: Unable to open .+)$")
_VERSION = re.compile(r"Blender (\d+)\.(\d+)")


class BlenderRenderer(Renderer):
    name = "blender"
    suffixes = (".blend",)
    reports_frames = True
    program = "blender"

    def __init__(self, executable: str | None = None, *, python: str | None = None) -> None:
        super().__init__(executable)
        self.python = python

    @classmethod
    def for_node(cls, config: Config) -> BlenderRenderer:
        """The way this node renders Blender: the configured executable, else bpy, else PATH."""
        if config.blender_executable:
            return cls(config.blender_executable)
        if importlib.util.find_spec("bpy") is not None:
            return cls(python=sys.executable)
        return cls(shutil.which(cls.program))

    def node_executable(self) -> str | None:
        """The configured or found ``blender``, else the Python with the bpy module."""
        return self.executable or self.python

    def unavailable(self) -> str | None:
        """Why this node cannot render Blender: the program is missing, or it does not answer its version."""
        if self.python:  # the bpy module: it answers through its package's version
            return None if self.version() else "the bpy module has no version"
        missing = super().unavailable()
        if missing:
            return missing
        if self.version() is None:
            return f"{self.executable} --version did not answer with a Blender version"
        return None

    def node_version(self) -> str:
        """``major.minor`` of :meth:`version`, "" when unknown."""
        version = self.version()
        return f"{version[0]}.{version[1]}" if version else ""

    def build_command(self, job: RenderJob) -> list[str]:
        payload = json.dumps(
            {
                "scene": job.scene,
                "frames": list(job.frames),
                "output_dir": job.output_dir,
                "camera": job.camera,
                "layers": list(job.layers),
                "width": job.width,
                "height": job.height,
                "remap_file": job.options.get("remap_file"),
                "relative_base": job.options.get("relative_base"),
            }
        )
        if self.python:
            return [self.python, str(SCRIPT), payload]
        if not self.executable:
            raise UsageError(
                "Blender is not installed on this node: set blender_executable in rfarm.toml, "
                "install rfarm[blender] (the bpy module) or put blender on PATH"
            )
        return [
            self.executable, "-b", job.scene, "--python-exit-code", "1",
            "--python", str(SCRIPT), "--", payload,
        ]

    def parse_line(self, line: str) -> RenderEvent | None:
        line = line.rstrip()
        match = _RFARM.match(line)
        if match:
            kind, frame, value = match[1], int(match[2]), match[3]
            if kind == "FRAME":
                return RenderEvent(frame=frame, percent=100.0 if value == "done" else 0.0, frame_done=value == "done")
            if kind == "PROGRESS":
                return RenderEvent(frame=frame, percent=float(value))
            if kind == "OUTPUT":
                return RenderEvent(frame=frame, output=value)
            return RenderEvent(frame=frame or None, error=value)
        match = _SAMPLE.match(line)
        if match:
            return RenderEvent(frame=int(match[1]), percent=100.0 * int(match[2]) / max(1, int(match[3])))
        if _ERROR.match(line):
            return RenderEvent(error=line)
        return None

    def version(self) -> tuple[int, int] | None:
        """The Blender version this node renders with, or None when unknown (asked once per instance)."""
        return self._asked_version

    @cached_property
    def _asked_version(self) -> tuple[int, int] | None:
        if self.python:
            from importlib.metadata import PackageNotFoundError, version

            try:
                major, minor = version("bpy").split(".")[:2]
                return int(major), int(minor)
            except (PackageNotFoundError, ValueError):
                return None
        if not self.executable:
            return None
        try:
            out = subprocess.run(
                [self.executable, "--version"], capture_output=True, text=True, timeout=60
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
        match = _VERSION.search(out)
        return (int(match[1]), int(match[2])) if match else None

    def check_scene(self, scene: Path) -> None:
        """Refuse a scene saved by a newer Blender than this node runs."""
        saved = blend_file_version(scene)
        mine = self.version()
        if saved and mine and saved > mine:
            raise UsageError(
                f"{scene.name} was saved by Blender {saved[0]}.{saved[1]}, newer than this node's "
                f"Blender {mine[0]}.{mine[1]}"
            )


def blend_file_version(path: Path) -> tuple[int, int] | None:
    """The Blender version that saved a .blend file (plain, gzip or zstd), or None."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        import zstandard

        with open(path, "rb") as fh:
            head = zstandard.ZstdDecompressor().stream_reader(fh).read(32)
    elif head.startswith(b"\x1f\x8b"):
        import gzip

        with gzip.open(path, "rb") as fh:
            head = fh.read(32)
    if not head.startswith(b"BLENDER"):
        return None
    # Blender 5 header: BLENDER17-01v0500; older: BLENDER-v402 / BLENDER_v279
    match = re.match(rb"BLENDER\d\d-\d\d[vV](\d\d)(\d\d)|BLENDER[-_][vV](\d)(\d\d)", head)
    if not match:
        return None
    if match[1]:
        return int(match[1]), int(match[2])
    return int(match[3]), int(match[4])
