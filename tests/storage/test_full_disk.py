"""Writes that fail half-way (a full disk) or at once (an unwritable share): one-line errors, nothing stored changes."""
from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from rfarm_testlib import assert_one_error_line, run_cli

import rfarm.storage.folder as folder
from rfarm.errors import StorageError
from rfarm.storage.folder import FolderStorage


def fill_then_fail(src: Any, dst: BinaryIO, *, md5: str | None, what: str) -> None:
    """What a disk that fills up after the first bytes does to a copy."""
    dst.write(src.read(10))
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_keeps_the_stored_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FolderStorage(tmp_path / "store")
    old, new = tmp_path / "old.bin", tmp_path / "new.bin"
    old.write_bytes(b"the stored version" * 100)
    new.write_bytes(b"a newer version" * 100)
    store.put_file("a/b.bin", old)
    monkeypatch.setattr(folder, "_copy", fill_then_fail)
    with pytest.raises(StorageError, match=r"^Cannot write 'a/b.bin' in folder storage .*: No space left on device$"):
        store.put_file("a/b.bin", new)
    monkeypatch.undo()
    assert store.get_bytes("a/b.bin") == old.read_bytes()
    assert sorted(p.name for p in (tmp_path / "store" / "a").iterdir()) == ["b.bin"], "no temporary file is left"


def test_upload_to_unwritable_storage_exits_3_with_one_line(home_env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "tex.png").write_bytes(b"\x89PNG" + b"x" * 4096)
    env = {**home_env, "RFARM_STORAGE_URL": "file:///dev/full/store"}  # no folder can be made there
    code, out, err = run_cli("upload", str(project), "--dedup", "--json", env=env)
    assert_one_error_line(code, out, err, exit_code=3, json_doc=True)
    assert json.loads(out)["error"]["type"] == "StorageError"
    code, out, _ = run_cli("upload", str(project), "--dedup", "--json", env=home_env)
    assert code == 0 and json.loads(out)["uploaded"] == 1, "nothing was recorded as stored by the failed upload"
