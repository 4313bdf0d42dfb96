"""The farm's side of moving files: what a user's store holds, storing and recording objects,
verified fetches, task results. The submitting side is :mod:`rfarm.files.upload` and :mod:`rfarm.files.download`.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from rfarm.errors import IntegrityError, NotFoundError, StorageError
from rfarm.files.hashing import FileHash, hash_file, hash_files
from rfarm.storage.base import Storage
from rfarm.storage.keys import (
    object_key,
    output_manifest_key,
    outputs_prefix,
    result_key,
)

log = logging.getLogger(__name__)

LIST_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ResultFile:
    """One stored result: ``path`` relative to the task's results folder (POSIX)."""

    path: str
    key: str
    hash: str
    xxhash: str
    size: int
    #: the frame whose render stored it (None in records that do not say)
    frame: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "key": self.key, "hash": self.hash, "xxhash": self.xxhash, "size": self.size,
                "frame": self.frame}

    @property
    def file_hash(self) -> FileHash:
        return FileHash(self.hash, self.xxhash, self.size)


def check_hashes(user: str, hashes: Iterable[FileHash], *, storage: Storage) -> dict[str, list[FileHash]]:
    """Split ``hashes`` into what ``user``'s store lacks and what it holds, and mark what it holds
    as used now (whoever asks is about to use it), so a re-upload costs this one call.

    Only hashes with an ``Asset`` record are looked up in ``storage``, in one
    batch; a record whose object has gone counts as ``to_upload``.

    Returns:
        ``{"to_upload": [...], "exists": [...]}``, each in input order, each hash once.
    """
    from rfarm.state.db import BATCH
    from rfarm.state.models import Asset
    from rfarm.state.users import get_user

    owner = get_user(user)
    unique = list(dict.fromkeys(hashes))
    recorded: set[tuple[str, str]] = set()
    md5s = sorted({h.md5 for h in unique})
    for start in range(0, len(md5s), BATCH):
        query = Asset.select(Asset.hash, Asset.xxhash).where(
            (Asset.user == owner) & Asset.hash.in_(md5s[start : start + BATCH])
        )
        recorded.update(query.tuples())
    candidates = {h: object_key(owner.unionid, h.md5, h.xxh64) for h in unique if (h.md5, h.xxh64) in recorded}
    user_objects = Asset.select().where(Asset.user == owner).count() if candidates else 0
    present = _held(storage, list(candidates.values()), user_objects)
    exists = [h for h in unique if h in candidates and present[candidates[h]]]
    if exists:
        _touch_assets(owner.id, exists)
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
    from rfarm.state.models import Asset, database, utcnow

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
    from rfarm.state.db import BATCH
    from rfarm.state.models import Asset, database, utcnow

    md5s = sorted({h.md5 for h in hashes})
    with database.atomic():
        for start in range(0, len(md5s), BATCH):
            Asset.update(last_used=utcnow()).where(
                (Asset.user == user_id) & Asset.hash.in_(md5s[start : start + BATCH])
            ).execute()


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """One file in a user's store: its hashes, size, when it was stored and last used, and the tasks that use it."""

    md5: str
    xxh64: str
    size: int
    created_at: str
    last_used: str
    uses: list[tuple[int, str]]

    @property
    def saved(self) -> int:
        """Bytes dedup saved: every task after the first found the file stored instead of sending it."""
        return self.size * max(0, len({task for task, _ in self.uses}) - 1)


def list_assets(user: str, *, limit: int) -> list[AssetInfo]:
    """``user``'s stored files, most recently used first, each with the tasks that use it."""
    from rfarm.state.models import Asset, TaskAsset
    from rfarm.state.taskinfo import iso
    from rfarm.state.users import get_user

    owner = get_user(user)
    rows = list(Asset.select().where(Asset.user == owner).order_by(Asset.last_used.desc(), Asset.id.desc())
                .limit(limit))
    uses: dict[int, list[tuple[int, str]]] = {r.id: [] for r in rows}
    if rows:
        for asset_id, task_id, path in (TaskAsset.select(TaskAsset.asset, TaskAsset.task, TaskAsset.path)
                                        .where(TaskAsset.asset.in_(list(uses))).order_by(TaskAsset.task).tuples()):
            uses[asset_id].append((task_id, path))
    return [AssetInfo(r.hash, r.xxhash, r.size, iso(r.created_at) or "", iso(r.last_used) or "", uses[r.id])
            for r in rows]


def recorded_hashes(user: str, md5s: Sequence[str]) -> list[FileHash]:
    """The full hashes of ``user``'s recorded objects whose MD5 is one of ``md5s``."""
    from rfarm.state.db import BATCH
    from rfarm.state.models import Asset
    from rfarm.state.users import get_user

    owner = get_user(user)
    unique = sorted(set(md5s))
    found: list[FileHash] = []
    for start in range(0, len(unique), BATCH):
        query = Asset.select(Asset.hash, Asset.xxhash, Asset.size).where(
            (Asset.user == owner) & Asset.hash.in_(unique[start : start + BATCH])
        )
        found.extend(FileHash(row.hash, row.xxhash, row.size) for row in query)
    return found


def scene_name(owner_id: int, file_hash: FileHash) -> str | None:
    """The file name a task last gave this object of the user's (what kind of scene it is)."""
    from rfarm.state.models import Asset, TaskAsset

    row = (TaskAsset.select(TaskAsset.path).join(Asset)
           .where((Asset.user == owner_id) & (Asset.hash == file_hash.md5) & (Asset.xxhash == file_hash.xxh64))
           .order_by(TaskAsset.id.desc()).first())
    return PureWindowsPath(row.path).name if row else None


def store_object(storage: Storage, user: str, path: Path, file_hash: FileHash) -> None:
    """Put one file in ``user``'s store under its content address and record it at once,
    so an upload interrupted later keeps what it finished."""
    from rfarm.state.users import get_user

    owner = get_user(user)
    storage.put_file(object_key(owner.unionid, file_hash.md5, file_hash.xxh64), path, md5=file_hash.md5)
    _record_assets(owner.id, owner.unionid, [file_hash])


def fetch_verified(storage: Storage, key: str, dest: Path, expected: FileHash, *, label: str,
                   remedy: str = "upload the file again") -> bool:
    """Download ``key`` to ``dest`` and check it against ``expected``; a bad copy is fetched once more.

    Args:
        label: What the object is to the user (its original path), for errors.
        remedy: What the user can do about a missing or damaged object (a result is rendered again).

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
            raise NotFoundError(f"{label} is missing from storage ({key}); {remedy}.") from exc
        except IntegrityError:
            is_good = False
        if is_good:
            os.replace(tmp, dest)
            return attempt == 2
        tmp.unlink(missing_ok=True)
        log.warning("%s: the copy fetched from %s does not match its hash (attempt %s)", label, key, attempt)
    raise IntegrityError(
        f"{label}: the stored object {key} does not match its recorded hash, even fetched twice; {remedy}."
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
        stored.append(ResultFile(str(rel), key, file_hash.md5, file_hash.xxh64, file_hash.size, frame))
    record = {"frame": frame, "files": [r.to_dict() for r in stored]}
    storage.put_bytes(output_manifest_key(task_id, frame), json.dumps(record, indent=1).encode("utf-8"))
    return tuple(stored)


def stored_results(storage: Storage, task_id: int) -> list[ResultFile]:
    """The results the task's frames recorded, each path once (the latest record wins)."""
    found: dict[str, ResultFile] = {}
    for key in storage.list(outputs_prefix(task_id)):
        try:
            record = json.loads(storage.get_bytes(key))
            for item in record["files"]:
                found[item["path"]] = ResultFile(
                    str(item["path"]), str(item["key"]), str(item["hash"]), str(item["xxhash"]), int(item["size"]),
                    int(record["frame"]) if record.get("frame") is not None else None,
                )
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"The results record {key} is unreadable: {exc}.") from exc
    return list(found.values())
