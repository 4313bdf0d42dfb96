"""Moving files to and from storage: dedup upload, verified fetch, task results.

Uploads are content-addressed (:func:`rfarm.storage.keys.object_key`) and
recorded in the ``Asset`` table. The table says which objects a user has sent
before, so a first upload costs no existence checks; a recorded object is
still checked in the store, and one that has gone is sent again and its record
repaired. Whatever is fetched back is hashed and compared with its record: a
mismatch is fetched once more, then reported as :class:`IntegrityError`.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rfarm.errors import Cancelled, IntegrityError, NotFoundError, StorageError
from rfarm.hashing import FileHash, HashCache, hash_file, hash_files, walk_files
from rfarm.storage.base import Storage
from rfarm.storage.keys import (
    object_key,
    output_manifest_key,
    outputs_prefix,
    result_key,
)

log = logging.getLogger(__name__)

UPLOAD_THREADS = 8
LIST_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a transfer stands: ``stage`` is ``hash``, ``upload``, ``download`` or ``fetch``."""

    stage: str
    done: int
    total: int
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[Progress], bool | None]
"""Called from the calling thread; returning ``False`` (not ``None``) cancels."""


@dataclass(frozen=True, slots=True)
class UploadedFile:
    path: str
    hash: str
    xxhash: str
    size: int
    uploaded: bool


@dataclass(frozen=True, slots=True)
class UploadSummary:
    """What :func:`upload_with_dedup` sent and skipped; ``files`` in input order."""

    uploaded: int
    skipped: int
    bytes_uploaded: int
    bytes_skipped: int
    files: tuple[UploadedFile, ...]


@dataclass(frozen=True, slots=True)
class ResultFile:
    """One stored result: ``path`` relative to the task's results folder (POSIX)."""

    path: str
    key: str
    hash: str
    xxhash: str
    size: int


@dataclass(frozen=True, slots=True)
class DownloadSummary:
    files: int
    bytes: int
    refetched: int
    dest: str


def _report(on_progress: ProgressCallback | None, progress: Progress, what: str) -> None:
    if on_progress is not None and on_progress(progress) is False:
        raise Cancelled(f"{what} cancelled after {progress.done} of {progress.total} files.")


def check_hashes(user: str, hashes: Iterable[FileHash], *, storage: Storage) -> dict[str, list[FileHash]]:
    """Split ``hashes`` into what ``user``'s store lacks and what it holds.

    Only hashes with an ``Asset`` record are looked up in ``storage``; a record
    whose object has gone counts as ``to_upload``.

    Returns:
        ``{"to_upload": [...], "exists": [...]}``, each in input order, each hash once.
    """
    from rfarm.db import BATCH
    from rfarm.models import Asset
    from rfarm.scheduler import get_user

    owner = get_user(user)
    unique = list(dict.fromkeys(hashes))
    recorded: set[tuple[str, str]] = set()
    md5s = sorted({h.md5 for h in unique})
    for start in range(0, len(md5s), BATCH):
        query = Asset.select(Asset.hash, Asset.xxhash).where(
            (Asset.user == owner) & Asset.hash.in_(md5s[start : start + BATCH])
        )
        recorded.update((row.hash, row.xxhash) for row in query)
    candidates = {h: object_key(owner.unionid, h.md5, h.xxh64) for h in unique if (h.md5, h.xxh64) in recorded}
    user_objects = Asset.select().where(Asset.user == owner).count() if candidates else 0
    present = _held(storage, list(candidates.values()), user_objects)
    exists = [h for h in unique if h in candidates and present[candidates[h]]]
    held = set(exists)
    return {"to_upload": [h for h in unique if h not in held], "exists": exists}


def _held(storage: Storage, keys: list[str], user_objects: int) -> dict[str, bool]:
    """Whether the store holds each key: one existence check each, or one listing of the
    user's objects when that takes fewer requests (a listing page holds about 1,000 keys)."""
    if len(keys) < 2 * (user_objects // LIST_PAGE + 1):
        return storage.exists_many(keys)
    prefix = os.path.commonprefix(keys)
    listed = set(storage.list(prefix[: prefix.rfind("/") + 1]))
    return {key: key in listed for key in keys}


def _record_assets(user_id: int, unionid: str, hashes: Iterable[FileHash]) -> None:
    """Insert or refresh the ``Asset`` rows of objects now in the store."""
    from rfarm.models import Asset, database, utcnow

    now = utcnow()
    rows = [
        {"user": user_id, "hash": h.md5, "xxhash": h.xxh64, "size": h.size,
         "key": object_key(unionid, h.md5, h.xxh64), "created_at": now, "last_used": now}
        for h in hashes
    ]
    with database.atomic():
        for start in range(0, len(rows), 100):
            Asset.insert_many(rows[start : start + 100]).on_conflict(
                conflict_target=[Asset.user, Asset.hash, Asset.xxhash],
                preserve=[Asset.key, Asset.size, Asset.last_used],
            ).execute()


def _touch_assets(user_id: int, hashes: Sequence[FileHash]) -> None:
    """Mark recorded objects as used now."""
    from rfarm.db import BATCH
    from rfarm.models import Asset, database, utcnow

    md5s = sorted({h.md5 for h in hashes})
    with database.atomic():
        for start in range(0, len(md5s), BATCH):
            Asset.update(last_used=utcnow()).where(
                (Asset.user == user_id) & Asset.hash.in_(md5s[start : start + BATCH])
            ).execute()


def upload_with_dedup(
    paths: Iterable[Path | str],
    storage: Storage,
    *,
    user: str,
    cache: HashCache | None = None,
    on_progress: ProgressCallback | None = None,
    force: bool = False,
    threads: int = UPLOAD_THREADS,
) -> UploadSummary:
    """Hash files (directories walked) and send the ones ``user``'s store does not hold.

    Args:
        cache: Hash cache; unchanged files are then not read again.
        on_progress: Reports the ``hash`` stage, then the ``upload`` stage.
        force: Send every file, even those the store holds.

    Raises:
        NotFoundError: a path does not exist.
        StorageError: the store failed; files sent before it are recorded.
        Cancelled: ``on_progress`` returned ``False``.
    """
    from rfarm.scheduler import get_user

    files = walk_files(paths)
    sizes = [f.stat().st_size for f in files]
    bytes_total = sum(sizes)

    def hashed(done: int, total: int, bytes_done: int) -> bool | None:
        return None if on_progress is None else on_progress(Progress("hash", done, total, bytes_done, bytes_total))

    hashes = hash_files(files, cache=cache, on_progress=hashed if on_progress else None)
    owner = get_user(user)
    first_path: dict[FileHash, Path] = {}
    for path, file_hash in hashes.items():
        first_path.setdefault(file_hash, path)
    if force:
        to_send, held = list(first_path), []
    else:
        answer = check_hashes(user, first_path, storage=storage)
        to_send, held = answer["to_upload"], answer["exists"]
    sent = _send(storage, to_send, first_path, owner.unionid, owner.id, threads, on_progress)
    _touch_assets(owner.id, held)
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
    storage: Storage,
    hashes: Sequence[FileHash],
    paths: dict[FileHash, Path],
    unionid: str,
    user_id: int,
    threads: int,
    on_progress: ProgressCallback | None,
) -> set[FileHash]:
    """Put each object in parallel; record the ones sent (also when one fails or is cancelled)."""
    sent: set[FileHash] = set()
    bytes_total = sum(h.size for h in hashes)
    bytes_done = 0
    try:
        with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="rfarm-upload") as pool:
            futures = {
                pool.submit(storage.put_file, object_key(unionid, h.md5, h.xxh64), paths[h], md5=h.md5): h
                for h in hashes
            }
            try:
                for future in as_completed(futures):
                    future.result()
                    file_hash = futures[future]
                    sent.add(file_hash)
                    bytes_done += file_hash.size
                    _report(on_progress, Progress("upload", len(sent), len(hashes), bytes_done, bytes_total), "Upload")
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
    finally:
        _record_assets(user_id, unionid, sent)
    return sent


def fetch_verified(storage: Storage, key: str, dest: Path, expected: FileHash, *, label: str) -> bool:
    """Download ``key`` to ``dest`` and check it against ``expected``; a bad copy is fetched once more.

    Args:
        label: What the object is to the user (its original path), for errors.

    Returns:
        Whether a second fetch was needed.

    Raises:
        NotFoundError: the object is not in the store.
        IntegrityError: both copies were damaged; ``dest`` is untouched.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
        try:
            storage.get_file(key, tmp)
            is_good = hash_file(tmp).matches(expected)
        except NotFoundError as exc:
            raise NotFoundError(f"{label} is missing from storage ({key}); upload it again.") from exc
        except IntegrityError:
            is_good = False
        if is_good:
            os.replace(tmp, dest)
            return attempt == 2
        tmp.unlink(missing_ok=True)
        log.warning("%s: the copy fetched from %s does not match its hash (attempt %s)", label, key, attempt)
    raise IntegrityError(
        f"{label}: the stored object {key} does not match its recorded hash, even fetched twice; upload the file again."
    )


def store_results(storage: Storage, task_id: int, frame: int, files: Sequence[Path], *, base: Path) -> tuple[ResultFile, ...]:
    """Upload a frame's result files under the task's prefix and record their hashes.

    ``base`` is the task's results folder: a file's key keeps its path below it.
    """
    hashes = hash_files(files)
    stored = []
    for path, file_hash in hashes.items():
        try:
            rel = PurePosixPath(Path(path).resolve().relative_to(base.resolve()).as_posix())
        except ValueError:
            rel = PurePosixPath(Path(path).name)
        key = result_key(task_id, rel)
        storage.put_file(key, Path(path), md5=file_hash.md5)
        stored.append(ResultFile(str(rel), key, file_hash.md5, file_hash.xxh64, file_hash.size))
    record = {"frame": frame, "files": [_result_dict(r) for r in stored]}
    storage.put_bytes(output_manifest_key(task_id, frame), json.dumps(record, indent=1).encode("utf-8"))
    return tuple(stored)


def _result_dict(result: ResultFile) -> dict[str, object]:
    return {"path": result.path, "key": result.key, "hash": result.hash, "xxhash": result.xxhash, "size": result.size}


def stored_results(storage: Storage, task_id: int) -> list[ResultFile]:
    """The results the task's frames recorded, each path once (the latest record wins)."""
    found: dict[str, ResultFile] = {}
    for key in storage.list(outputs_prefix(task_id)):
        try:
            record = json.loads(storage.get_bytes(key))
            for item in record["files"]:
                found[item["path"]] = ResultFile(
                    str(item["path"]), str(item["key"]), str(item["hash"]), str(item["xxhash"]), int(item["size"])
                )
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"The results record {key} is unreadable: {exc}.") from exc
    return list(found.values())


def download_results(
    task_id: int, storage: Storage, dest: Path, *, on_progress: ProgressCallback | None = None
) -> DownloadSummary:
    """Fetch a task's results into ``dest``, keeping their relative paths, and verify each hash.

    Raises:
        NotFoundError: the task has stored no results yet.
        UsageError: a recorded path would land outside ``dest``.
        IntegrityError: a result stays damaged after a second fetch.
    """
    from rfarm.workspace import safe_member

    results = stored_results(storage, task_id)
    if not results:
        raise NotFoundError(f"Task {task_id} has no results in storage yet.")
    targets = [(r, Path(dest, *safe_member(r.path, f"results of task {task_id}"))) for r in results]
    bytes_total = sum(r.size for r in results)
    bytes_done = refetched = 0
    for done, (result, target) in enumerate(targets, 1):
        expected = FileHash(result.hash, result.xxhash, result.size)
        refetched += fetch_verified(storage, result.key, target, expected, label=f"result {result.path}")
        bytes_done += result.size
        _report(on_progress, Progress("download", done, len(targets), bytes_done, bytes_total), "Download")
    return DownloadSummary(len(targets), bytes_total, refetched, str(dest))
