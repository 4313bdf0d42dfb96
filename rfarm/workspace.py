"""Where things live on disk: ``{root}/{user}/{task_id}/source|project|renders``, results and logs."""
from __future__ import annotations

import shutil
from pathlib import Path

from rfarm.config import Config


def safe_name(text: str) -> str:
    """``text`` usable as one path component on Windows and POSIX."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip(". ")
    return cleaned or "_"


def task_workspace(config: Config, user: str, task_id: int) -> Path:
    return config.workspace / safe_name(user) / str(task_id)


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
