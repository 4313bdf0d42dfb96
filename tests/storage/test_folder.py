"""FolderStorage beyond the shared contract: atomic writes and names that are safe on Windows."""
from __future__ import annotations

from pathlib import Path

import pytest

from rfarm.errors import UsageError
from rfarm.storage import FolderStorage


def test_objects_are_plain_files_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    storage = FolderStorage(tmp_path)
    storage.put_bytes("users/u1/objects/ab/abc-1", b"data")
    src = tmp_path / "src.txt"
    src.write_bytes(b"file")
    storage.put_file("users/u1/objects/ab/abc-2", src)
    folder = tmp_path / "users" / "u1" / "objects" / "ab"
    assert sorted(p.name for p in folder.iterdir()) == ["abc-1", "abc-2"]
    assert (folder / "abc-1").read_bytes() == b"data"


def test_a_temporary_file_left_by_a_crash_is_invisible(tmp_path: Path) -> None:
    storage = FolderStorage(tmp_path)
    storage.put_bytes("a/done", b"x")
    (tmp_path / "a" / "half.tmp-0123456789abcdef").write_bytes(b"partial")
    assert list(storage.list()) == ["a/done"]
    assert not storage.exists("a/half")


@pytest.mark.parametrize(
    "key", ["a/CON", "a/con.txt", "LPT1", "a/b:c", "a/x?y", 'a/quote"d', "a/dot.", "a/space ", "k.tmp-0123456789abcdef"]
)
def test_names_unsafe_on_windows_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(UsageError, match="not a safe file name on Windows"):
        FolderStorage(tmp_path).put_bytes(key, b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_root_lists_nothing(tmp_path: Path) -> None:
    assert list(FolderStorage(tmp_path / "absent").list()) == []
    assert repr(FolderStorage(tmp_path)) == f"FolderStorage({str(tmp_path)!r})"
