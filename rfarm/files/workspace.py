"""Where things live on disk: ``{root}/{user}/{task_id}/source|project|renders``, results and logs.

Also what keeps a node's disk safe: unpacking archives only inside their
folder, the free space left, and the workspaces of tasks that have finished.
"""
from __future__ import annotations

import logging
import re
import shutil
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from rfarm.config import Config
from rfarm.errors import UsageError

log = logging.getLogger(__name__)

CACHE_DIR = "_cache"
_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_name(text: str) -> str:
    """``text`` usable as one path component on Windows and POSIX."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip(". ")
    return cleaned or "_"


def task_workspace(config: Config, user: str, task_id: int) -> Path:
    return config.workspace / safe_name(user) / str(task_id)


def cache_dir(config: Config) -> Path:
    """The node's file cache, shared by every task rendered here."""
    return config.workspace / CACHE_DIR


def attempt_dir(config: Config, user: str, task_id: int, first_frame: int, token: str) -> Path:
    """A fresh folder for one render attempt, so a stale render never writes over another's output."""
    path = task_workspace(config, user, task_id) / "renders" / f"{first_frame}-{token[:12]}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir(config: Config, user: str, task_id: int, output_dir: str | None = None) -> Path:
    """Where a task's finished images are kept (``--output DIR`` or under the home folder)."""
    if output_dir:
        return Path(output_dir)
    return config.home_dir / "results" / safe_name(user) / str(task_id)


def frame_log_path(config: Config, task_id: int, frame: int, attempt: int) -> Path:
    return config.logs_dir / str(task_id) / f"frame-{frame}.attempt-{attempt}.log"


def keep_outputs(files: list[Path], attempt: Path, dest: Path) -> list[str]:
    """Move a frame's images from its attempt folder into ``dest``; their absolute paths."""
    kept: list[str] = []
    for src in files:
        try:
            rel = src.relative_to(attempt)
        except ValueError:
            rel = Path(src.name)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".partial")
        shutil.copyfile(src, tmp)
        tmp.replace(target)
        src.unlink(missing_ok=True)
        kept.append(str(target.resolve()))
    return kept


def remove_workspace(config: Config, user: str, task_id: int) -> bool:
    """Delete a task's workspace (sources, project, attempt folders); results and logs stay."""
    path = task_workspace(config, user, task_id)
    if not path.exists():
        return False
    shutil.rmtree(path)
    return True


def safe_member(name: str, what: str) -> tuple[str, ...]:
    """The parts of ``name``, a relative path inside a folder; UsageError if it could land outside.

    Absolute paths, ``..``, drive letters, UNC and device paths are refused.
    """
    text = name.replace("\\", "/")
    parts = tuple(p for p in text.split("/") if p not in ("", "."))
    if text.startswith("/") or _DRIVE.match(text) or ".." in parts or not parts or any(":" in p for p in parts):
        raise UsageError(f"{what}: entry {name!r} would land outside its folder; refusing to unpack it")
    return parts


def safe_unpack(archive: Path, dest: Path, *, label: str | None = None) -> int:
    """Unpack a .zip into ``dest``, refusing it whole if any entry could land outside; the files written.

    Raises:
        UsageError: an unsafe entry, or a file that is not a readable zip.
    """
    what = label or archive.name
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [(info, safe_member(info.filename, what)) for info in zf.infolist()]
            written = 0
            for info, parts in members:
                target = dest.joinpath(*parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                written += 1
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise UsageError(f"{what} is not a readable zip file: {exc}") from exc
    return written


def zip_names(archive: Path) -> list[str]:
    """The file entries of a .zip, each checked to stay inside its folder (POSIX separators)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{archive} is not a readable zip file: {exc}") from exc
    return ["/".join(safe_member(i.filename, archive.name)) for i in infos if not i.is_dir()]


def free_gb(config: Config) -> float:
    """Free space on the disk that holds the workspaces, in GB."""
    path = config.workspace
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free / 1e9


def finished_workspaces(config: Config, finished: dict[int, datetime | None], now: datetime) -> list[Path]:
    """Task workspaces to remove: tasks that finished over ``workspace_keep_hours`` ago, or are gone.

    Args:
        finished: Each task id found here mapped to when its task finished
            (None: still active); an id missing from it is a deleted task.
    """
    keep = timedelta(hours=float(config.workspace_keep_hours))
    old = []
    for path in task_folders(config):
        task_id = int(path.name)
        if task_id not in finished or (ended := finished[task_id]) is not None and now - ended >= keep:
            old.append(path)
    return old


def task_folders(config: Config) -> list[Path]:
    """Every ``{root}/{user}/{task_id}`` folder on this node."""
    root = config.workspace
    if not root.is_dir():
        return []
    return [
        task
        for user in sorted(root.iterdir())
        if user.is_dir() and user.name != CACHE_DIR
        for task in sorted(user.iterdir())
        if task.is_dir() and task.name.isdigit()
    ]
