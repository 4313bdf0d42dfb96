"""One progress report for every long transfer: hashing, uploading, downloading, fetching."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rfarm.errors import Cancelled


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a transfer stands: ``stage`` is ``hash``, ``upload``, ``download`` or ``fetch``.

    ``bytes_done`` also counts the part read so far of files not yet done;
    ``skipped`` and ``bytes_skipped`` are the files (and their bytes), among
    ``done`` and ``bytes_done``, that needed no work (hash cache hits), so that
    a rate counts only the bytes actually moved.
    """

    stage: str
    done: int
    total: int
    bytes_done: int
    bytes_total: int
    skipped: int = 0
    bytes_skipped: int = 0


ProgressCallback = Callable[[Progress], bool | None]
"""Called from the calling thread; returning ``False`` (not ``None``) cancels."""


def report(on_progress: ProgressCallback | None, progress: Progress, what: str) -> None:
    """Tell ``on_progress``; raise :class:`Cancelled` when it answers ``False``."""
    if on_progress is not None and on_progress(progress) is False:
        raise Cancelled(f"{what} cancelled after {progress.done} of {progress.total} files.")
