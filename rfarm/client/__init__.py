"""The Python SDK: the farm through an rfarm server, with the operations of the CLI.

    from rfarm.client import Client

    with Client("https://farm:8765", token) as farm:
        task_id = farm.submit("C:/proj/shot.blend", frames="1-100", test_frames=["50"])
        done = farm.wait(task_id)
        farm.download(task_id, "C:/proj/renders")

Errors are the library's own (:mod:`rfarm.errors`): ``NotFoundError`` for an
unknown task (or another user's), ``NotAllowedError`` for a refused token or
role, ``ServiceError`` when the server cannot be reached.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rfarm.api import TaskChange
from rfarm.client.http import HttpFarm
from rfarm.state.removal import Deleted
from rfarm.state.taskinfo import TaskInfo
from rfarm.state.users import Caller

__all__ = ["Client", "HttpFarm"]


class Client:
    """An rfarm server at ``url``, as the user ``token`` stands for."""

    def __init__(self, url: str, token: str, *, ca: str = "") -> None:
        self.api = HttpFarm(url, token, ca=ca)
        self._caller = Caller("")  # the server knows who the token is; this only carries --all

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def whoami(self) -> dict[str, str]:
        return self.api.whoami()

    def submit(self, scene: str | Path, *, frames: str | None = None, test_frames: Sequence[str] = (),
               files: str = "snapshot", **options: Any) -> int:
        """Analyse ``scene`` here, send its files (only those the farm lacks) and record the task.

        ``options`` are :func:`rfarm.submit.submission.build_request`'s (priority,
        chunk, camera, ...); ``files`` is ``upload``, ``snapshot`` or ``in-place``.
        """
        from rfarm.submit.scene import analyse_for_farm, is_analysable
        from rfarm.submit.submission import build_request, submit

        scene = str(Path(scene).resolve())
        analysis = analyse_for_farm(scene) if is_analysable(scene) and Path(scene).is_file() else None
        request = build_request(scene, frames=frames, test_frames=test_frames, analysis=analysis, **options)
        return submit(self.api, self._caller, request, files=files, analysis=analysis).task_id

    def status(self, task_id: int) -> TaskInfo:
        return self.api.task(self._caller, task_id)

    def tasks(self, *, status: Sequence[str] = (), limit: int = 200) -> list[TaskInfo]:
        return self.api.tasks(self._caller, status=status, limit=limit)

    def wait(self, task_id: int, *, timeout_s: float | None = None, poll_s: float = 1.0) -> TaskInfo:
        """The task once it has finished (done, failed or cancelled)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            info = self.api.task(self._caller, task_id)
            if info.is_finished:
                return info
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} is still {info.status} after {timeout_s:g} s")
            time.sleep(poll_s)

    def download(self, task_id: int, dest: str | Path) -> list[Path]:
        """Fetch the task's results into ``dest``, each verified by its hashes; the paths written."""
        from rfarm.files.download import download_results

        from rfarm.errors import IntegrityError

        dest = Path(dest)
        summary = download_results(self.api, self._caller, task_id, dest)
        if summary.bad:
            raise IntegrityError("; ".join(f"{b.problem}: {b.message}" for b in summary.bad))
        return sorted(p for p in dest.rglob("*") if p.is_file())

    def cancel(self, task_id: int) -> TaskChange:
        return self.api.cancel(self._caller, task_id)

    def pause(self, task_id: int) -> TaskChange:
        return self.api.pause(self._caller, task_id)

    def resume(self, task_id: int) -> TaskChange:
        return self.api.resume(self._caller, task_id)

    def retry(self, task_id: int, *, failed_only: bool = False, frames: Sequence[int] | None = None) -> TaskChange:
        return self.api.retry(self._caller, task_id, failed_only=failed_only, frames=frames)

    def cleanup(self, task_id: int, *, force: bool = False) -> TaskChange:
        return self.api.cleanup(self._caller, task_id, force=force)

    def delete(self, task_id: int, *, force: bool = False) -> Deleted:
        """Remove the task: its records, logs, results and the stored files no other task uses."""
        return self.api.delete(self._caller, task_id, force=force)
