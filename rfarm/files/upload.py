"""Dedup upload from the submitting machine, through the farm's seam.

Files are hashed here (with the hash cache), the farm is asked which hashes
it lacks, and only those files are sent, each recorded by the farm as soon as
it is stored, so an interrupted upload keeps what it finished.
"""
from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
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
    if force:
        to_send, held = list(first_path), []
    else:
        answer = api.check_hashes(caller, list(first_path))
        to_send, held = answer["to_upload"], answer["exists"]
    sent = _send(api, caller, to_send, first_path, threads, on_progress)
    if held:
        api.record_assets(caller, held)
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
    """Send each object in parallel; progress is reported from this thread."""
    sent: set[FileHash] = set()
    bytes_total = sum(h.size for h in hashes)
    bytes_done = 0
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="rfarm-upload") as pool:
        futures = {pool.submit(api.upload_file, caller, paths[h], h): h for h in hashes}
        try:
            for future in as_completed(futures):
                future.result()
                file_hash = futures[future]
                sent.add(file_hash)
                bytes_done += file_hash.size
                report(on_progress, Progress("upload", len(sent), len(hashes), bytes_done, bytes_total), "Upload")
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return sent
