"""Maya batch rendering with Arnold (MtoA): the ``Render`` command line and its log.

``Render`` renders one ``-s``/``-e``/``-b`` range per process and has no flag for
a list of frames, so a chunk must be evenly spaced and increasing; any other
chunk is refused rather than rendered with extra frames.

The log has two voices. Arnold prints ``HH:MM:SS  MEMORY LEVEL | message``
lines: ``% done`` progress and one ``[driver_*] writing file`` line per image.
Maya itself prints ``Error: ...`` lines (``// Error: ... //`` in some builds)
and crash reports. Batch mode prints no line naming the frame it starts, so the
frame of a written image comes from the number in its file name, and progress
lines carry no frame.

No line marks the end of a frame: Arnold's ``render done`` ends one render, and
a frame takes one render per renderable camera and per layer (``Render``
renders every frame of one layer before the next layer). A chunk's frames are
therefore complete when the process ends.
"""
from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING

from rfarm.errors import UsageError
from rfarm.renderers.base import Renderer, RenderEvent, RenderJob

if TYPE_CHECKING:
    from rfarm.config import Config

#: Arnold log verbosity (0 errors, 1 warnings, 2 info): info prints ``% done``.
_ARNOLD_VERBOSITY = "2"
#: how error texts taken from Arnold lines start, to tell them from Maya's
_ARNOLD_PREFIX = "Arnold: "

_ARNOLD_LINE = re.compile(
    r"^\d{2}:\d{2}:\d{2}\s+[\d.]+[KMGT]?B\s+(?P<level>ERROR|WARNING)?\s*\|\s?(?P<message>.*)$"
)
_PROGRESS = re.compile(r"^\s*(?P<percent>\d+(?:\.\d+)?)% done\b")
_WRITING = re.compile(r"\[driver_\w+\] writing file [`'](?P<path>[^`']+)['`]")
_LICENSE_WARNING = re.compile(r"watermark|licen[cs]e|authoriz", re.IGNORECASE)
_MAYA_ERROR = re.compile(r"^(?://\s*)?Error:\s*(?P<message>.*?)\s*(?://)?$")
_MAYA_CRASH = re.compile(r"maya encountered a fatal error", re.IGNORECASE)
_FRAME_IN_NAME = re.compile(r"(?P<sign>[._]-)?(?P<digits>\d+)\.[^./\\]+$")
#: the Maya version in an install path (``.../Maya2024/bin/Render``)
_VERSION_IN_PATH = re.compile(r"Maya(\d{4})")

#: errors that make a render fail even when Maya exits 0
_FATAL = re.compile(
    r"watermark|failed authorization|licen[cs]e was not obtained|abort_on_license_fail"
    r"|aborting render|\[mtoa\] Failed batch render|fatal error"
    r"|Plug-in, \"mtoa\", was not found"
    r"|^Error: .*(?:cannot|could not|unable to|failed to) (?:open|load) (?:the )?(?:scene|file)"
    r"|^Error: .*\bscene\b.*\bfailed to (?:open|load)"
    r"|^Error: .*\bfile not found",
    re.IGNORECASE,
)


class MayaRenderer(Renderer):
    """Maya's ``Render`` command with the Arnold renderer.

    Args:
        executable: the ``Render`` program to run; by default ``Render``
            (``Render.exe`` on Windows), found through the node's PATH.
        platform: the ``sys.platform`` of the node that renders, which decides
            the program name and the path style; by default this machine's.
    """

    name = "maya"
    suffixes = (".ma", ".mb")
    program = "Render"

    def __init__(self, executable: str | None = None, *, platform: str = sys.platform) -> None:
        super().__init__(executable)
        self.is_windows = platform.startswith("win")

    @classmethod
    def for_node(cls, config: Config) -> MayaRenderer:
        return cls(config.maya_executable or None)

    def node_version(self) -> str:
        """The Maya version in the path of the node's ``Render`` (``Maya2024``), "" when it names none."""
        match = _VERSION_IN_PATH.search(self.node_executable() or "")
        return match[1] if match else ""

    def build_command(self, job: RenderJob) -> list[str]:
        """``Render -r arnold -s S -e E -b B -rd DIR ... scene`` for the chunk.

        Raises:
            UsageError: the chunk's frames are not one increasing, evenly spaced run.
        """
        step = job.step
        if step <= 0 or list(job.frames) != list(range(job.start, job.end + 1, step)):
            raise UsageError(
                f"Maya's Render takes one start/end/step range, but the chunk has frames "
                f"{list(job.frames)}: split it into evenly spaced, increasing runs."
            )
        command = [
            self.executable or ("Render.exe" if self.is_windows else "Render"),
            "-r", "arnold",
            "-s", str(job.start), "-e", str(job.end), "-b", str(step),
            "-rd", self._node_path(job.output_dir),
        ]
        if job.project_dir:
            command += ["-proj", self._node_path(job.project_dir)]
        if job.camera:
            command += ["-cam", job.camera]
        if job.layers:
            command += ["-rl", ",".join(job.layers)]
        if job.width:
            command += ["-x", str(job.width)]
        if job.height:
            command += ["-y", str(job.height)]
        command += ["-ai:ltc", "1", "-ai:lve", _ARNOLD_VERBOSITY, self._node_path(job.scene)]
        return command

    def parse_line(self, line: str) -> RenderEvent | None:
        """Progress, written images and errors in Maya's and Arnold's output."""
        text = line.rstrip()
        arnold = _ARNOLD_LINE.match(text)
        if arnold:
            return _parse_arnold(arnold["level"], arnold["message"].strip())
        maya_error = _MAYA_ERROR.match(text)
        if maya_error:
            return RenderEvent(error=f"Error: {maya_error['message']}")
        if _MAYA_CRASH.search(text):
            return RenderEvent(error=text.strip())
        return None

    def check_exit(self, code: int, errors: list[str]) -> str | None:
        """Failure on a non-zero exit, and on a zero exit after a fatal error.

        Maya exits 0 after a render watermarked for a failed Arnold license and
        after some scene load failures, so those errors fail the render too.
        The reason is the first Arnold or fatal error (the cause, usually),
        else Maya's last error.
        """
        if code == 0 and not any(_FATAL.search(error) for error in errors):
            return None
        causes = [e for e in errors if e.startswith(_ARNOLD_PREFIX) or _FATAL.search(e)]
        if causes:
            return causes[0]
        return errors[-1] if errors else f"{self.name} exited with code {code}"

    def _node_path(self, path: str) -> str:
        """``path`` as Render on the node needs it.

        Render writes paths into MEL strings, where a backslash starts an
        escape, so Windows paths go with forward slashes (``\\\\nas\\share``
        becomes ``//nas/share``).
        """
        return path.replace("\\", "/") if self.is_windows else path


def _parse_arnold(level: str | None, message: str) -> RenderEvent | None:
    if level == "ERROR" or (level == "WARNING" and _LICENSE_WARNING.search(message)):
        return RenderEvent(error=_ARNOLD_PREFIX + message)
    if level:
        return None
    progress = _PROGRESS.match(message)
    if progress:
        return RenderEvent(percent=float(progress["percent"]))
    written = _WRITING.search(message)
    if written:
        path = written["path"]
        return RenderEvent(frame=_frame_in_name(path), output=path)
    return None


def _frame_in_name(path: str) -> int | None:
    """The frame number just before the extension of ``path``'s file name."""
    found = _FRAME_IN_NAME.search(path)
    if not found:
        return None
    frame = int(found["digits"])
    return -frame if found["sign"] else frame
