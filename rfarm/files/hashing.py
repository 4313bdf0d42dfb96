"""Content hashes of local files: MD5 and xxHash64 in one read pass, and a cache.

A file is identified by its MD5 (lowercase hex) and its xxHash64 (seed 0, as an
unsigned decimal string), the pair the storage layout names objects by.
:func:`hash_files` hashes many files in a thread pool: ``hashlib`` and
``xxhash`` release the GIL while they digest a large buffer, so threads use
every core. :class:`HashCache` remembers hashes by absolute path, size and
``mtime_ns``, so an unchanged file is never read twice: a re-scan costs one
``stat`` per file and one batched lookup.
"""
from __future__ import annotations

import hashlib
import os
import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import xxhash

from rfarm.errors import ConfigError, NotFoundError, UsageError
from rfarm.files.progress import Progress, ProgressCallback, report

BLOCK_SIZE = 1 << 20
"""Bytes read per call; large enough that digesting dominates system calls."""

PROGRESS_BYTES = 8 << 20
"""Bytes read between reports from inside a file: often enough for a bar, rare enough to cost nothing."""
_REPORT_S = 0.2
"""Seconds between progress reports while no file finishes."""

_CACHE_BATCH = 1000
"""Hashes written to the cache per transaction while hashing goes on."""
_LOOKUP_BATCH = 500
"""Paths per cache query (SQLite before 3.32 takes at most 999 parameters)."""
_MD5_HEX = re.compile(r"[0-9a-fA-F]{32}")
_DECIMAL = re.compile(r"[0-9]{1,20}")
_buffers = threading.local()
P = TypeVar("P", Path, str)


@dataclass(frozen=True, slots=True)
class FileHash:
    """The identity of a file's content.

    Attributes:
        md5: MD5 digest, lowercase hex.
        xxh64: xxHash64 digest (seed 0) as an unsigned decimal string.
        size: Length in bytes.
    """

    md5: str
    xxh64: str
    size: int

    def matches(self, expected: str | FileHash) -> bool:
        """Whether this hash equals ``expected``.

        ``expected`` is another :class:`FileHash` (MD5, xxHash64 and size must all
        agree), a 32-digit MD5 hex string, or an xxHash64 decimal string.

        Raises:
            UsageError: ``expected`` is a string that is neither kind of hash.
        """
        if isinstance(expected, FileHash):
            return (self.md5, self.xxh64, self.size) == (expected.md5, expected.xxh64, expected.size)
        if _MD5_HEX.fullmatch(expected):
            return self.md5 == expected.lower()
        if _DECIMAL.fullmatch(expected) and int(expected) < 1 << 64:
            return int(self.xxh64) == int(expected)
        raise UsageError(f"{expected!r} is neither an MD5 hex digest nor an xxHash64 decimal string.")

    def to_dict(self) -> dict[str, Any]:
        """``size``, ``hash`` (MD5) and ``xxhash``, as ``rfarm hash --json`` prints them."""
        return {"size": self.size, "hash": self.md5, "xxhash": self.xxh64}


def _buffer() -> tuple[bytearray, memoryview]:
    """This thread's read buffer, allocated once."""
    if not hasattr(_buffers, "buf"):
        _buffers.buf = bytearray(BLOCK_SIZE)
        _buffers.view = memoryview(_buffers.buf)
    return _buffers.buf, _buffers.view


def _read_error(path: Path, exc: OSError) -> UsageError:
    if isinstance(exc, FileNotFoundError):
        return NotFoundError(f"File not found: {path}")
    return UsageError(f"Cannot read {path}: {exc.strerror or exc}")


def _hash_stable(path: Path, on_bytes: Callable[[int], None] | None = None) -> tuple[FileHash, os.stat_result | None]:
    """Hash ``path``; also return its stat if the file did not change while being read.

    ``on_bytes`` is told of the bytes read, every :data:`PROGRESS_BYTES` and at
    the end, so that its calls add up to the file's size.
    """
    buf, view = _buffer()
    md5 = hashlib.md5(usedforsecurity=False)
    xxh = xxhash.xxh64()
    size = unreported = 0
    try:
        with open(path, "rb", buffering=0) as f:
            before = os.fstat(f.fileno())
            while n := f.readinto(buf):
                chunk = view[:n]
                md5.update(chunk)
                xxh.update(chunk)
                size += n
                if on_bytes is not None:
                    unreported += n
                    if unreported >= PROGRESS_BYTES:
                        on_bytes(unreported)
                        unreported = 0
            after = os.fstat(f.fileno())
    except OSError as exc:
        raise _read_error(path, exc) from exc
    finally:
        if on_bytes is not None and unreported:
            on_bytes(unreported)
    file_hash = FileHash(md5.hexdigest(), str(xxh.intdigest()), size)
    is_stable = before.st_size == after.st_size == size and before.st_mtime_ns == after.st_mtime_ns
    return file_hash, after if is_stable else None


def hash_file(path: Path | str) -> FileHash:
    """Hash one file in a single read pass.

    Raises:
        NotFoundError: the file does not exist.
        UsageError: the file cannot be read.
    """
    return _hash_stable(Path(path))[0]


def verify_file(path: Path | str, expected: str | FileHash) -> bool:
    """Whether the file's content matches ``expected`` (see :meth:`FileHash.matches`).

    Raises:
        NotFoundError: the file does not exist.
        UsageError: the file cannot be read, or ``expected`` is not a hash.
    """
    return hash_file(path).matches(expected)


class HashCache:
    """A SQLite cache of file hashes, keyed by absolute path, valid while size and ``mtime_ns`` hold.

    The database uses WAL, so several processes may share it; one instance may be
    shared by threads (its connection is guarded by a lock). Use it as a context
    manager, or call :meth:`close`.
    """

    TABLE = "hashes_v1"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.TABLE} (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                " mtime_ns INTEGER NOT NULL, md5 TEXT NOT NULL, xxh64 TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"Cannot open the hash cache {self.path}: {exc}. {_cache_advice(exc)}") from exc

    @staticmethod
    def _key(path: Path | str) -> str:
        return os.path.normcase(os.path.abspath(path))

    def get(self, path: Path | str, *, size: int, mtime_ns: int) -> FileHash | None:
        """The cached hash of ``path`` if it was stored for this exact size and ``mtime_ns``."""
        with self._lock:
            row = self._db.execute(
                f"SELECT md5, xxh64 FROM {self.TABLE} WHERE path = ? AND size = ? AND mtime_ns = ?",
                (self._key(path), size, mtime_ns),
            ).fetchone()
        return FileHash(row[0], row[1], size) if row else None

    def get_many(self, entries: Iterable[tuple[P, int, int]]) -> dict[P, FileHash]:
        """The cached hashes of many ``(path, size, mtime_ns)``, keyed by the paths as given.

        Paths with no entry for that exact size and ``mtime_ns`` are left out. A
        few queries in all (:data:`_LOOKUP_BATCH` paths each), not one a file.
        """
        wanted: dict[str, list[tuple[P, int, int]]] = {}
        for entry in entries:
            wanted.setdefault(self._key(entry[0]), []).append(entry)
        keys = list(wanted)
        found: dict[P, FileHash] = {}
        with self._lock:
            for start in range(0, len(keys), _LOOKUP_BATCH):
                batch = keys[start:start + _LOOKUP_BATCH]
                rows = self._db.execute(
                    f"SELECT path, size, mtime_ns, md5, xxh64 FROM {self.TABLE} WHERE path IN"
                    f" ({','.join('?' * len(batch))})", batch,
                ).fetchall()
                for key, size, mtime_ns, md5, xxh64 in rows:
                    for path, want_size, want_mtime_ns in wanted[key]:
                        if (size, mtime_ns) == (want_size, want_mtime_ns):
                            found[path] = FileHash(md5, xxh64, size)
        return found

    def put(self, path: Path | str, file_hash: FileHash, *, mtime_ns: int) -> None:
        """Remember ``file_hash`` for ``path`` as it was at ``mtime_ns``."""
        self.put_many([(path, file_hash, mtime_ns)])

    def put_many(self, entries: Iterable[tuple[Path | str, FileHash, int]]) -> None:
        """Remember many ``(path, file_hash, mtime_ns)`` in one transaction."""
        rows = [(self._key(p), h.size, mtime_ns, h.md5, h.xxh64) for p, h, mtime_ns in entries]
        with self._lock, self._db:
            self._db.executemany(
                f"INSERT OR REPLACE INTO {self.TABLE} (path, size, mtime_ns, md5, xxh64) VALUES (?, ?, ?, ?, ?)", rows
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _hash_new(path: Path, cache: HashCache | None, on_bytes: Callable[[int], None] | None) -> tuple[FileHash, int | None]:
    """The file's hash and the ``mtime_ns`` to cache it under (None: do not cache it, it changed while read)."""
    file_hash, stable = _hash_stable(path, on_bytes)
    return file_hash, stable.st_mtime_ns if cache is not None and stable is not None else None


class _BytesRead:
    """Bytes the hashing threads have read so far, added to from each of them."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


def hash_files(
    paths: Iterable[Path | str],
    *,
    threads: int | None = None,
    cache: HashCache | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[Path, FileHash]:
    """Hash many files in parallel threads.

    Args:
        paths: Files to hash (use :func:`walk_files` to expand directories).
        threads: Worker threads; defaults to the number of CPUs.
        cache: Where to look up and store hashes. Every file is stat'ed once and
            the cache asked about all of them at once; a hit (same size and
            ``mtime_ns``) is not read. A file that changes while it is read is
            hashed but not cached.
        on_progress: Told of the ``hash`` stage from the calling thread after each
            file, and every few tenths of a second while a large one is read
            (bytes within files count); cache hits are ``skipped``. Returning
            ``False`` cancels.

    Returns:
        Each path (as given, duplicates once) mapped to its hash, in input order.

    Raises:
        NotFoundError: a file does not exist.
        UsageError: a file cannot be read.
        Cancelled: ``on_progress`` returned ``False``.
    """
    files = list(dict.fromkeys(p if isinstance(p, Path) else Path(p) for p in paths))
    found: dict[Path, FileHash] = {}
    bytes_total = 0
    if cache is not None or on_progress is not None:
        stats = [(p, _stat(p)) for p in files]  # the one stat a file
        bytes_total = sum(st.st_size for _, st in stats)
        if cache is not None:
            found = cache.get_many((p, st.st_size, st.st_mtime_ns) for p, st in stats)
    skipped, bytes_skipped = len(found), sum(h.size for h in found.values())
    todo = [p for p in files if p not in found]
    read = _BytesRead()
    on_bytes = read.add if on_progress is not None else None
    to_cache: list[tuple[Path | str, FileHash, int]] = []
    reported = _report(on_progress, read, len(found), len(files), bytes_total, skipped, bytes_skipped) if found else 0
    if not todo:
        return {p: found[p] for p in files}
    workers = min(threads or os.cpu_count() or 1, len(todo))
    finished: queue.SimpleQueue[Future[tuple[FileHash, int | None]]] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rfarm-hash") as pool:
        futures: dict[Future[tuple[FileHash, int | None]], Path] = {}
        try:
            for p in todo:
                future = pool.submit(_hash_new, p, cache, on_bytes)
                futures[future] = p
                future.add_done_callback(finished.put)  # one hand-over a file, however many are pending
            for _ in todo:
                while True:
                    try:
                        future = finished.get(timeout=_REPORT_S if on_progress else None)
                        break
                    except queue.Empty:  # within a large file
                        if read.value + bytes_skipped != reported:
                            reported = _report(on_progress, read, len(found), len(files), bytes_total, skipped,
                                               bytes_skipped)
                path = futures[future]
                file_hash, mtime_ns = future.result()
                found[path] = file_hash
                if mtime_ns is not None:
                    to_cache.append((path, file_hash, mtime_ns))
                if cache is not None and len(to_cache) >= _CACHE_BATCH:
                    cache.put_many(to_cache)
                    to_cache.clear()
                reported = _report(on_progress, read, len(found), len(files), bytes_total, skipped, bytes_skipped)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        finally:
            if cache is not None and to_cache:
                cache.put_many(to_cache)
    return {p: found[p] for p in files}


def _report(on_progress: ProgressCallback | None, read: _BytesRead, done: int, total: int, bytes_total: int,
            skipped: int, bytes_skipped: int) -> int:
    """Tell ``on_progress`` where hashing stands; the bytes reported."""
    bytes_done = read.value + bytes_skipped
    report(on_progress, Progress("hash", done, total, bytes_done, bytes_total, skipped, bytes_skipped), "Hashing")
    return bytes_done


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise _read_error(path, exc) from exc


def walk_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand directories into the files below them, sorted; files are kept as given.

    Symbolic links to directories are not followed. Folders are listed with
    ``os.scandir``, whose entries know their type, so no file is stat'ed here.

    Raises:
        NotFoundError: a path does not exist.
        UsageError: a folder or file below a path cannot be read (nothing is left out silently).
    """
    def unreadable(exc: OSError) -> NoReturn:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None

    def below(folder: Path) -> Iterator[Path]:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            unreadable(exc)
        subfolders = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry)
                elif entry.is_file():
                    yield folder / entry.name  # a third of the cost of Path(entry.path)
            except OSError as exc:
                exc.filename = exc.filename or entry.path
                unreadable(exc)
        for entry in subfolders:
            yield from below(folder / entry.name)

    def is_file(path: Path) -> bool:
        try:
            return path.is_file()
        except OSError as exc:
            unreadable(exc)

    files: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.update((p, None) for p in below(path))
        elif is_file(path):
            files[path] = None
        else:
            raise NotFoundError(f"File not found: {path}")
    return list(files)


def _cache_advice(exc: BaseException) -> str:
    """What to do about a hash cache that cannot be opened: a damaged file goes, a read-only folder is fixed."""
    text = str(exc).lower()
    if isinstance(exc, PermissionError) or "readonly" in text or "read-only" in text or "permission" in text:
        return "Make its folder writable (see RFARM_HOME); the file itself is fine."
    return "Remove the file: it is only a cache, and is made again."

