"""The contract every Storage backend keeps, run against each one."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rfarm.errors import IntegrityError, NotFoundError, UsageError
from rfarm.storage import Storage

MULTIPART_SIZE = 3 * 100 * 1024 + 12345
"""Above the multipart threshold the OSS fixture sets."""


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_bytes_round_trip_and_overwrite(storage: Storage) -> None:
    storage.put_bytes("a/b.txt", b"first")
    storage.put_bytes("a/b.txt", b"second")
    assert storage.get_bytes("a/b.txt") == b"second"
    assert storage.size("a/b.txt") == 6


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, MULTIPART_SIZE], ids=["empty", "one", "small", "multipart"])
def test_file_round_trip(storage: Storage, tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    src = _write(tmp_path / "src.bin", data)
    storage.put_file("objects/x.bin", src, md5=hashlib.md5(data).hexdigest())
    dest = tmp_path / "out" / "deep" / "x.bin"
    storage.get_file("objects/x.bin", dest)
    assert dest.read_bytes() == data
    assert storage.size("objects/x.bin") == size
    assert sorted(p.name for p in dest.parent.iterdir()) == ["x.bin"]


def test_get_file_replaces_existing_destination(storage: Storage, tmp_path: Path) -> None:
    storage.put_bytes("k", b"new content")
    dest = _write(tmp_path / "dest.txt", b"old")
    storage.get_file("k", dest)
    assert dest.read_bytes() == b"new content"


@pytest.mark.parametrize("size", [10, MULTIPART_SIZE], ids=["simple", "multipart"])
def test_put_file_with_wrong_md5_stores_nothing(storage: Storage, tmp_path: Path, size: int) -> None:
    src = _write(tmp_path / "src.bin", os.urandom(size))
    with pytest.raises(IntegrityError, match="MD5"):
        storage.put_file("k", src, md5=hashlib.md5(b"something else").hexdigest())
    assert not storage.exists("k")


def test_put_missing_file(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"nope\.bin"):
        storage.put_file("k", tmp_path / "nope.bin")


def test_missing_objects(storage: Storage, tmp_path: Path) -> None:
    assert not storage.exists("missing")
    with pytest.raises(NotFoundError, match="'missing'"):
        storage.get_bytes("missing")
    with pytest.raises(NotFoundError, match="'missing'"):
        storage.size("missing")
    with pytest.raises(NotFoundError, match="'missing'"):
        storage.get_file("missing", tmp_path / "out" / "dest")
    assert list((tmp_path / "out").glob("*")) == []


def test_exists_and_exists_many(storage: Storage) -> None:
    storage.put_bytes("x/1", b"1")
    storage.put_bytes("x/3", b"3")
    assert storage.exists("x/1")
    assert storage.exists_many(["x/3", "x/2", "x/1"]) == {"x/3": True, "x/2": False, "x/1": True}
    assert list(storage.exists_many(["x/3", "x/2", "x/1"])) == ["x/3", "x/2", "x/1"]


def test_list_is_sorted_and_filters_by_plain_prefix(storage: Storage) -> None:
    keys = ["users/ab/objects/f", "users/a/objects/e", "users/a-b/c", "tasks/1/results/x.exr", "top"]
    for key in keys:
        storage.put_bytes(key, b"x")
    assert list(storage.list()) == sorted(keys)
    assert list(storage.list("users/a/")) == ["users/a/objects/e"]
    assert list(storage.list("users/a")) == ["users/a-b/c", "users/a/objects/e", "users/ab/objects/f"]
    assert list(storage.list("users/ab/objects/f")) == ["users/ab/objects/f"]
    assert list(storage.list("nothing/")) == []


def test_list_pages_through_many_keys(storage: Storage) -> None:
    keys = [f"many/{i:04d}" for i in range(1003)]
    with ThreadPoolExecutor(8) as pool:  # stored in no particular order, as parallel uploads do
        list(pool.map(lambda key: storage.put_bytes(key, b""), reversed(keys)))
    assert list(storage.list("many/")) == keys


def test_delete(storage: Storage) -> None:
    storage.put_bytes("d/k", b"x")
    storage.delete("d/k")
    assert not storage.exists("d/k")
    storage.delete("d/k")
    assert list(storage.list("d/")) == []


def test_put_if_absent(storage: Storage, tmp_path: Path) -> None:
    first = _write(tmp_path / "a", b"first")
    second = _write(tmp_path / "b", b"second")
    assert storage.put_if_absent("k", first) is True
    assert storage.put_if_absent("k", second) is False
    assert storage.get_bytes("k") == b"first"


def test_unicode_and_space_keys(storage: Storage) -> None:
    key = "users/u1/场景 v2/纹理 #1+%.png"
    storage.put_bytes(key, b"png")
    assert storage.get_bytes(key) == b"png"
    assert list(storage.list("users/u1/")) == [key]


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a/.", "a\\b", "a/\x00b", "a/b\n"])
def test_invalid_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(UsageError, match="Invalid storage key"):
        storage.put_bytes(key, b"x")
    with pytest.raises(UsageError, match="Invalid storage key"):
        storage.exists(key)
