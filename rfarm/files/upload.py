"""Dedup upload from the submitting machine, through the farm's seam.

Files are hashed here (with the hash cache), the farm is asked which hashes
it lacks, and only those files are sent, each recorded by the farm as soon as
it is stored, so an interrupted upload keeps what it finished.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfarm.files.hashing import FileHash, HashCache, hash_files, walk_files
from rfarm.files.progress import Progress, ProgressCallback, report
from rfarm.state.users import Caller

if TYPE_CHECKING:
    from rfarm.api import FarmAPI

UPLOAD_THREADS = 8


@dataclass(frozen=True, slots=True)
class UploadedFile:
    path: str
    hash: str
    xxhash: str
    size: int
    uploaded: bool

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "hash": self.hash, "xxhash": self.xxhash, "size": self.size,
                "uploaded": self.uploaded}


@dataclass(frozen=True, slots=True)
class UploadSummary:
    """What :func:`upload_files` sent and skipped; ``files`` in input order."""

    uploaded: int
    skipped: int
    bytes_uploaded: int
    bytes_skipped: int
    files: tuple[UploadedFile, ...]

    def counts(self) -> dict[str, int]:
        return {"uploaded": self.uploaded, "skipped": self.skipped,
                "bytes_uploaded": self.bytes_uploaded, "bytes_skipped": self.bytes_skipped}

    def to_dict(self) -> dict[str, Any]:
        return {**self.counts(), "files": [f.to_dict() for f in self.files]}


def upload_files(
    api: FarmAPI,
    caller: Caller,
    paths: Iterable[Path | str],
    *,
    cache: HashCache | None = None,
    on_progress: ProgressCallback | None = None,
    force: bool = False,
    threads: int = UPLOAD_THREADS,
) -> UploadSummary:
    """Hash files (directories walked) and send the ones the caller's store does not hold.

    Args:
        cache: Hash cache; unchanged files are then not read again.
        on_progress: Reports the ``hash`` stage, then the ``upload`` stage.
        force: Send every file, even those the store holds.

    Raises:
        NotFoundError: a path does not exist.
        StorageError: the store failed; files sent before it are recorded.
        Cancelled: ``on_progress`` returned ``False``.
    """
    hashes = hash_files(walk_files(paths), cache=cache, on_progress=on_progress)
    first_path: dict[FileHash, Path] = {}
    for path, file_hash in hashes.items():
        first_path.setdefault(file_hash, path)
    to_send = list(first_path) if force else api.check_hashes(caller, list(first_path))["to_upload"]
    sent = _send(api, caller, to_send, first_path, threads, on_progress)
    results = tuple(
        UploadedFile(str(path), h.md5, h.xxh64, h.size, h in sent and first_path[h] == path)
        for path, h in hashes.items()
    )
    up = [f for f in results if f.uploaded]
    return UploadSummary(
        uploaded=len(up),
        skipped=len(results) - len(up),
        bytes_uploaded=sum(f.size for f in up),
        bytes_skipped=sum(f.size for f in results if not f.uploaded),
        files=results,
    )


def _send(
    api: FarmAPI,
    caller: Caller,
    hashes: list[FileHash],
    paths: dict[FileHash, Path],
    threads: int,
    on_progress: ProgressCallback | None,
) -> set[FileHash]:
    """Send each object from a few threads; progress is reported from this thread.

    Each object is recorded by the farm as soon as it is stored, so what an
    interrupted upload finished is kept. A failed object, or ``on_progress``
    cancelling, stops the others from starting and waits for those under way
    (they are recorded), then raises. Ctrl+C returns at once: the senders are
    daemon threads, so the process, which exits then, drops the objects still
    in flight, each of which is stored whole or not at all.
    """
    sent: set[FileHash] = set()
    if not hashes:
        return sent
    todo: queue.SimpleQueue[FileHash] = queue.SimpleQueue()
    for file_hash in hashes:
        todo.put(file_hash)
    done: queue.SimpleQueue[tuple[FileHash, BaseException | None]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                file_hash = todo.get_nowait()
            except queue.Empty:
                return
            try:
                api.upload_file(caller, paths[file_hash], file_hash)
            except BaseException as exc:  # noqa: BLE001 - handed to the reporting thread, which raises it
                done.put((file_hash, exc))
            else:
                done.put((file_hash, None))

    senders = [threading.Thread(target=work, name=f"rfarm-upload-{i}", daemon=True)
               for i in range(min(max(1, threads), len(hashes)))]
    for sender in senders:
        sender.start()
    bytes_total = sum(h.size for h in hashes)
    bytes_done = 0
    try:
        for _ in hashes:
            file_hash, failure = done.get()
            if failure is not None:
                raise failure
            sent.add(file_hash)
            bytes_done += file_hash.size
            report(on_progress, Progress("upload", len(sent), len(hashes), bytes_done, bytes_total), "Upload")
    except KeyboardInterrupt:
        stop.set()
        raise
    except BaseException:
        stop.set()
        for sender in senders:
            sender.join()
        raise
    return sent
