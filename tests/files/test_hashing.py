"""hash_file, hash_files, HashCache, verify_file and walk_files.

Expected digests come from hashlib and xxhash directly, never from the code under test.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from rfarm.files.progress import Progress
import xxhash

from rfarm.errors import Cancelled, NotFoundError, UsageError
from rfarm.files.hashing import BLOCK_SIZE, FileHash, HashCache, hash_file, hash_files, verify_file, walk_files


def _expected(data: bytes) -> FileHash:
    return FileHash(hashlib.md5(data).hexdigest(), str(xxhash.xxh64(data).intdigest()), len(data))


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_known_vectors(tmp_path: Path) -> None:
    assert hash_file(_write(tmp_path / "empty", b"")) == FileHash(
        "d41d8cd98f00b204e9800998ecf8427e", "17241709254077376921", 0
    )
    assert hash_file(_write(tmp_path / "abc", b"abc")).md5 == "900150983cd24fb0d6963f7d28e17f72"


@pytest.mark.parametrize("size", [1, BLOCK_SIZE - 1, BLOCK_SIZE, 3 * BLOCK_SIZE + 17])
def test_hash_file_matches_hashlib_and_xxhash(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    assert hash_file(_write(tmp_path / "f", data)) == _expected(data)


def test_hash_file_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="File not found"):
        hash_file(tmp_path / "missing")
    with pytest.raises(UsageError, match="Cannot read"):
        hash_file(tmp_path)


def test_hash_files_in_threads_keeps_input_order(tmp_path: Path) -> None:
    blobs = {tmp_path / f"f{i:03d}": os.urandom(i * 997) for i in range(60)}
    for path, data in blobs.items():
        _write(path, data)
    order = sorted(blobs, key=lambda p: -len(blobs[p]))
    result = hash_files([*order, order[0]], threads=4)
    assert list(result) == order
    assert result == {path: _expected(blobs[path]) for path in order}


def test_progress_reports_each_file_from_the_calling_thread(tmp_path: Path) -> None:
    paths = [_write(tmp_path / f"f{i}", b"x" * i) for i in range(10)]
    calls: list[Progress] = []
    threads: set[int] = set()

    def progress(report: Progress) -> None:
        calls.append(report)
        threads.add(threading.get_ident())

    hash_files(paths, threads=4, on_progress=progress)
    assert [c.done for c in calls] == list(range(1, 11))
    assert calls[-1] == Progress("hash", 10, 10, sum(range(10)), sum(range(10)))
    assert threads == {threading.get_ident()}


def test_progress_counts_bytes_within_a_large_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rfarm.files.hashing as hashing

    monkeypatch.setattr(hashing, "PROGRESS_BYTES", 1 << 20)
    monkeypatch.setattr(hashing, "_REPORT_S", 0.001)
    counted = hashing._BytesRead.add

    def slow_disk(self: object, n: int) -> None:  # each MiB takes 10 ms to read
        counted(self, n)  # type: ignore[arg-type]
        time.sleep(0.01)

    monkeypatch.setattr(hashing._BytesRead, "add", slow_disk)
    size = 16 << 20
    path = _write(tmp_path / "big.ma", os.urandom(1 << 20) * 16)
    calls: list[Progress] = []
    hash_files([path], threads=1, on_progress=calls.append)
    partial = [c for c in calls if c.done == 0]
    assert all(0 < c.bytes_done <= size and c.bytes_total == size for c in partial)
    assert len({c.bytes_done for c in partial if c.bytes_done < size}) > 3  # the bar moves within the file
    assert [c.bytes_done for c in calls] == sorted(c.bytes_done for c in calls)
    assert calls[-1] == Progress("hash", 1, 1, size, size)


def test_cache_hits_are_skipped_not_read(tmp_path: Path) -> None:
    paths = [_write(tmp_path / f"f{i}", b"y" * 100) for i in range(3)]
    calls: list[Progress] = []
    with HashCache(tmp_path / "cache.db") as cache:
        hash_files(paths[:2], cache=cache)
        hash_files(paths, cache=cache, on_progress=calls.append)
    assert calls[-1] == Progress("hash", 3, 3, 300, 300, skipped=2, bytes_skipped=200)


def test_progress_returning_false_cancels_and_keeps_what_was_hashed(tmp_path: Path) -> None:
    paths = [_write(tmp_path / "files" / f"f{i}", b"x") for i in range(50)]
    with HashCache(tmp_path / "cache.db") as cache, pytest.raises(Cancelled, match="cancelled after 3 of 50"):
        hash_files(paths, threads=2, cache=cache, on_progress=lambda report: report.done < 3)
    db = sqlite3.connect(tmp_path / "cache.db")
    assert db.execute("SELECT count(*) FROM hashes_v1").fetchone() == (3,)
    db.close()


def test_cache_hit_does_not_read_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "scene.ma", b"original")
    stat = path.stat()
    with HashCache(tmp_path / "cache.db") as cache:
        assert hash_files([path], cache=cache)[path] == _expected(b"original")
        path.write_bytes(b"modified")  # same size; restore the old mtime_ns
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert hash_files([path], cache=cache)[path] == _expected(b"original")


def test_cache_is_invalidated_by_mtime_ns_or_size(tmp_path: Path) -> None:
    path = _write(tmp_path / "scene.ma", b"original")
    stat = path.stat()
    with HashCache(tmp_path / "cache.db") as cache:
        hash_files([path], cache=cache)
        path.write_bytes(b"modified")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
        assert hash_files([path], cache=cache)[path] == _expected(b"modified")
        path.write_bytes(b"longer content")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
        assert hash_files([path], cache=cache)[path] == _expected(b"longer content")


def test_cache_persists_and_is_shared_by_threads(tmp_path: Path) -> None:
    paths = [_write(tmp_path / "files" / f"f{i}", os.urandom(100)) for i in range(200)]
    with HashCache(tmp_path / "cache.db") as cache:
        first = hash_files(paths, threads=8, cache=cache)
    with HashCache(tmp_path / "cache.db") as cache:
        for path in paths:
            st = path.stat()
            assert cache.get(path, size=st.st_size, mtime_ns=st.st_mtime_ns) == first[path]
        assert cache.get(paths[0], size=1, mtime_ns=0) is None
    db = sqlite3.connect(tmp_path / "cache.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("SELECT count(*) FROM hashes_v1").fetchone() == (200,)
    db.close()


def test_cache_keys_are_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "f", b"x")
    monkeypatch.chdir(tmp_path)
    with HashCache(tmp_path / "cache.db") as cache:
        hash_files([Path("f")], cache=cache)
        st = path.stat()
        assert cache.get(path, size=st.st_size, mtime_ns=st.st_mtime_ns) == _expected(b"x")


def test_verify_file_accepts_either_hash(tmp_path: Path) -> None:
    data = b"render me"
    path = _write(tmp_path / "f", data)
    expected = _expected(data)
    assert verify_file(path, expected.md5)
    assert verify_file(path, expected.md5.upper())
    assert verify_file(path, expected.xxh64)
    assert verify_file(path, expected)
    assert not verify_file(path, hashlib.md5(b"other").hexdigest())
    assert not verify_file(path, str(xxhash.xxh64(b"other").intdigest()))
    assert not verify_file(path, FileHash(expected.md5, expected.xxh64, expected.size + 1))
    assert not verify_file(path, "1" * 32)  # 32 digits is an MD5, not an xxHash64
    for bad in ["", "xyz", "18446744073709551616", "a" * 31]:
        with pytest.raises(UsageError, match="neither an MD5"):
            verify_file(path, bad)


def test_walk_files(tmp_path: Path) -> None:
    for name in ["b/2.txt", "b/1.txt", "a/z/3.txt", "top.txt"]:
        _write(tmp_path / "proj" / name, b"x")
    (tmp_path / "proj" / "link").symlink_to(tmp_path / "proj" / "a", target_is_directory=True)
    single = _write(tmp_path / "single.txt", b"x")
    found = walk_files([tmp_path / "proj", single, tmp_path / "proj" / "top.txt"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "proj/top.txt",
        "proj/a/z/3.txt",
        "proj/b/1.txt",
        "proj/b/2.txt",
        "single.txt",
    ]
    with pytest.raises(NotFoundError, match="missing"):
        walk_files([tmp_path / "missing"])


def test_rescan_stats_each_file_once_and_asks_the_cache_in_a_few_queries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    paths = [_write(tree / f"d{i % 7}" / f"f{i:04d}", os.urandom(50)) for i in range(1200)]
    with HashCache(tmp_path / "cache.db") as cache:
        first = hash_files(walk_files([tree]), cache=cache)
        stats: list[str] = []
        real_stat = os.stat

        def counting_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            stats.append(os.fspath(path))
            return real_stat(path, *args, **kwargs)

        queries: list[str] = []
        cache._db.set_trace_callback(queries.append)
        monkeypatch.setattr(os, "stat", counting_stat)
        calls: list[Progress] = []
        again = hash_files(walk_files([tree]), cache=cache, on_progress=calls.append)
        monkeypatch.undo()
    assert again == first and len(again) == 1200
    assert sorted(s for s in stats if s != str(tree)) == sorted(map(str, paths)), "one stat a file, nothing else"
    assert len([q for q in queries if q.startswith("SELECT")]) == 3  # 1,200 paths, 500 a query
    assert calls == [Progress("hash", 1200, 1200, 60000, 60000, skipped=1200, bytes_skipped=60000)]


def test_get_many_answers_for_each_spelling_and_only_for_the_same_size_and_mtime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "f", b"abc")
    st = path.stat()
    monkeypatch.chdir(tmp_path)
    with HashCache(tmp_path / "cache.db") as cache:
        cache.put(path, _expected(b"abc"), mtime_ns=st.st_mtime_ns)
        found = cache.get_many([(path, 3, st.st_mtime_ns), ("f", 3, st.st_mtime_ns), (tmp_path / "gone", 3, 0)])
        assert found == {path: _expected(b"abc"), "f": _expected(b"abc")}
        assert cache.get_many([(path, 4, st.st_mtime_ns), (path, 3, st.st_mtime_ns + 1)]) == {}


def test_a_hash_cache_that_cannot_be_opened_says_what_to_do(tmp_path: Path) -> None:
    from rfarm.errors import ConfigError
    from rfarm.files.hashing import _cache_advice

    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database" * 100)
    with pytest.raises(ConfigError, match="Remove the file: it is only a cache"):
        HashCache(damaged)
    kept = tmp_path / "kept.db"
    sqlite3.connect(kept).close()
    readonly = sqlite3.connect(f"file:{kept}?mode=ro", uri=True)  # what a folder nobody may write gives
    try:
        with pytest.raises(sqlite3.OperationalError) as raised:
            readonly.execute("CREATE TABLE t (x)")
    finally:
        readonly.close()
    assert "readonly" in str(raised.value)
    assert _cache_advice(raised.value) == "Make its folder writable (see RFARM_HOME); the file itself is fine."
