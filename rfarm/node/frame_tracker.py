"""What a render process has said so far about the frames of its chunk.

A :class:`FrameTracker` is fed the :class:`~rfarm.renderers.base.RenderEvent`
of each log line, in order, with the time it was read. It knows which frame
the render is on, each frame's progress and reported outputs, the error
lines, which frames are still unfinished, and whether a frame ran past its
timeout or stopped making progress. It does no I/O and reads no clock: the
worker passes the time in, so tests replay a recorded log at any speed.

The error lines are the causes, whatever the renderer: of a Python traceback
(Blender's, a DCC's scripts', rfarm's own) only its exception line counts, never
its head or its frames, and the lifeline's line for a program that could not be
started counts too.
"""
from __future__ import annotations

from dataclasses import dataclass

from rfarm.node.lifeline import START_FAILED
from rfarm.renderers.base import RenderEvent

TRACEBACK_HEAD = "Traceback (most recent call last):"


@dataclass(frozen=True, slots=True)
class Fed:
    """What one event meant: the frame its log line belongs to, and the frame it finished."""

    frame: int
    finished: int | None = None


class FrameTracker:
    """The state of one chunk's frames while a renderer's log is read.

    Args:
        frames: the chunk's frames in render order.
        reports_frames: whether the renderer's log names the frame it starts;
            if not, an output of the current frame means the next has begun.
        now: when the chunk started (any monotonic clock, in seconds).
    """

    def __init__(self, frames: tuple[int, ...], *, reports_frames: bool, now: float) -> None:
        self.frames = frames
        self.reports_frames = reports_frames
        self.current = frames[0]
        self.frame_started = now
        self.last_progress = now
        self.progress: dict[int, float] = {}
        self.outputs: dict[int, list[str]] = {}
        self.errors: list[str] = []
        self._unfinished = set(frames)
        self._in_traceback = False

    @property
    def unfinished(self) -> list[int]:
        """The frames neither finished nor failed, in render order."""
        left = set(self._unfinished)  # one copy: the lease watcher reads this from another thread
        return [n for n in self.frames if n in left]

    def feed(self, event: RenderEvent | None, now: float, line: str = "") -> Fed:
        """Take the event of one log ``line`` read at ``now``.

        The frame the line belongs to is the current frame once a line naming
        an unfinished frame has made that one current. A frame the event
        marks done is returned as ``finished`` while it is unfinished; it stays
        so until :meth:`close` records its outcome.
        """
        error = self._error(line, event)
        if error:
            self.errors.append(error)
        if event is None:
            return Fed(self.current)
        if event.frame is not None and event.frame in self._unfinished and event.frame != self.current:
            self._begin(event.frame, now)
        line_frame = self.current
        number = event.frame if event.frame is not None else self.current
        if event.percent is not None and self.progress.get(number) != event.percent:
            self.progress[number] = event.percent
            self.last_progress = now
        if event.output:
            self.outputs.setdefault(number, []).append(event.output)
            if not self.reports_frames and number == self.current:
                later = [n for n in self.frames if n > number and n in self._unfinished]
                if later:
                    self._begin(later[0], now)
        finished = event.frame if event.frame_done and event.frame in self._unfinished else None
        return Fed(line_frame, finished)

    def _error(self, line: str, event: RenderEvent | None) -> str | None:
        """The cause ``line`` states: a traceback's exception line (not its head nor its frames), or the event's."""
        text = line.strip()
        if TRACEBACK_HEAD in text:
            self._in_traceback = True
            return None
        if self._in_traceback:
            if not text or line[:1] in (" ", "\t"):
                return None  # a frame of the traceback, or its source line
            self._in_traceback = False
            return text
        if text.startswith(START_FAILED):
            return text.removeprefix("rfarm: ")
        return event.error if event is not None else None

    def close(self, number: int) -> None:
        """``number`` has its outcome (finished or failed): it is no longer unfinished."""
        self._unfinished.discard(number)

    def overdue(self, now: float, *, timeout_s: float | None, no_progress_s: float | None) -> str | None:
        """Why the current frame must be stopped at ``now``, or None.

        ``timeout_s`` limits the time a frame renders, ``no_progress_s`` the
        time without a change of progress (or a new frame); 0 or None is no limit.
        """
        if timeout_s and now - self.frame_started > timeout_s:
            return f"frame {self.current} rendered longer than the {timeout_s / 60:g} min timeout"
        if no_progress_s and now - self.last_progress > no_progress_s:
            return f"frame {self.current} made no progress for {no_progress_s / 60:g} min"
        return None

    def _begin(self, number: int, now: float) -> None:
        self.current = number
        self.frame_started = self.last_progress = now
