"""The client half of downloads: a destination that cannot be a folder is one clear error, before any fetch."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from rfarm.errors import UsageError
from rfarm.files.download import download_results
from rfarm.files.transfer import ResultFile
from rfarm.state.users import Caller


class OneResultFarm:
    """The two reads and the fetch ``download_results`` makes of the seam, for a task with one result."""

    def __init__(self) -> None:
        self.fetched: list[Path] = []

    def task(self, caller: Caller, task_id: int | str, *, with_frames: bool = True) -> SimpleNamespace:
        return SimpleNamespace(task_id=int(task_id))

    def results(self, caller: Caller, task_id: int | str) -> list[ResultFile]:
        return [ResultFile("frame_0001.png", "results/1/frame_0001.png", "0" * 32, "0", 3)]

    def fetch_result(self, caller: Caller, task_id: int | str, result: ResultFile, dest: Path) -> bool:
        self.fetched.append(dest)
        dest.write_bytes(b"png")
        return False


def test_a_file_as_destination_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    farm = OneResultFarm()
    with pytest.raises(UsageError, match="is a file, not a folder"):
        download_results(farm, Caller("ann"), 1, target)  # type: ignore[arg-type]
    assert target.read_text() == "keep me" and farm.fetched == []


def test_a_folder_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot make the folder"):
        download_results(OneResultFarm(), Caller("ann"), 1, blocker / "sub")  # type: ignore[arg-type]


def test_a_new_folder_is_made_and_filled(tmp_path: Path) -> None:
    farm = OneResultFarm()
    summary = download_results(farm, Caller("ann"), 1, tmp_path / "a" / "b")  # type: ignore[arg-type]
    assert summary.files == 1 and (tmp_path / "a" / "b" / "frame_0001.png").read_bytes() == b"png"
