"""A task's results fetched to this machine through the farm's seam, each hash verified."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfarm.errors import IntegrityError, NotFoundError, UsageError, first_line
from rfarm.files.progress import Progress, ProgressCallback, report
from rfarm.state.users import Caller
from rfarm.files.workspace import safe_member

if TYPE_CHECKING:
    from rfarm.api import FarmAPI


@dataclass(frozen=True, slots=True)
class BadResult:
    """A result that could not be downloaded: ``problem`` is ``missing`` (not in storage) or ``corrupt``
    (its stored copy does not match its hashes, fetched twice); ``frame`` the frame that rendered it."""

    path: str
    frame: int | None
    problem: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "frame": self.frame, "problem": self.problem, "message": self.message}


@dataclass(frozen=True, slots=True)
class DownloadSummary:
    """What a download fetched (``files``, ``bytes``: the good ones) and each result it could not (``bad``)."""

    task_id: int
    files: int
    bytes: int
    refetched: int
    dest: str
    bad: tuple[BadResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "files": self.files, "bytes": self.bytes,
                "refetched": self.refetched, "dest": self.dest, "bad": [b.to_dict() for b in self.bad]}

    @property
    def bad_frames(self) -> list[int]:
        """The frames whose results are bad: rendering them again replaces them."""
        return sorted({b.frame for b in self.bad if b.frame is not None})


def _prepare_folder(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"--dest {dest} is a file, not a folder")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot make the folder {dest}: {exc.strerror or first_line(exc)}") from None


def download_results(
    api: FarmAPI, caller: Caller, task_id: int | str, dest: Path, *, on_progress: ProgressCallback | None = None
) -> DownloadSummary:
    """Fetch a task's results into ``dest``, keeping their relative paths, and verify each hash.

    A result missing from storage or damaged there is skipped and reported in the summary's ``bad``;
    every other result is still fetched.

    Raises:
        NotFoundError: no such task for the caller, or it has stored no results yet.
        UsageError: a recorded path would land outside ``dest``.
    """
    task = api.task(caller, task_id, with_frames=False)
    results = api.results(caller, task.task_id)
    if not results:
        raise NotFoundError(f"Task {task.task_id} has no results in storage yet.")
    targets = [(r, Path(dest, *safe_member(r.path, f"results of task {task.task_id}"))) for r in results]
    _prepare_folder(dest)
    bytes_total = sum(r.size for r in results)
    bytes_done = bytes_good = files = refetched = 0
    bad: list[BadResult] = []
    for done, (result, target) in enumerate(targets, 1):
        try:
            refetched += api.fetch_result(caller, task.task_id, result, target)
            files += 1
            bytes_good += result.size
        except NotFoundError as exc:
            bad.append(BadResult(result.path, result.frame, "missing", first_line(exc)))
        except IntegrityError as exc:
            bad.append(BadResult(result.path, result.frame, "corrupt", first_line(exc)))
        bytes_done += result.size
        report(on_progress, Progress("download", done, len(targets), bytes_done, bytes_total), "Download")
    return DownloadSummary(task.task_id, files, bytes_good, refetched, str(dest), tuple(bad))
