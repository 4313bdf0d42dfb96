"""A render node's cache of fetched objects, named by hash and bounded in size.

A texture used by ten tasks is downloaded once: each task's workspace gets a
hard link to the cached copy (a copy where links are not possible). A copy is
trusted while its size and ``mtime_ns`` are those it was verified with; one
that changed is hashed again and fetched again if it no longer matches. Past
``max_bytes`` the least recently used objects are removed (last use is kept
in the file's access time, set explicitly).
"""
from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from rfarm.errors import NotFoundError, RfarmError
from rfarm.files.hashing import FileHash, HashCache, hash_files
from rfarm.files.manifest import ManifestEntry
from rfarm.storage.base import Storage
from rfarm.files.transfer import fetch_verified

log = logging.getLogger(__name__)


class NodeCache:
    """Objects this node has fetched, named by hash; past ``max_bytes`` the least recently used go.

    A cached copy is trusted while its size and ``mtime_ns`` are those it was
    verified with (a :class:`HashCache`); otherwise it is hashed again, and a
    copy that no longer matches is fetched again.
    """

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._hashes = HashCache(self.root / "hashes.db")

    def path_of(self, file_hash: FileHash) -> Path:
        return self.root / "objects" / file_hash.md5[:2] / f"{file_hash.md5}-{file_hash.xxh64}"

    def has(self, file_hash: FileHash) -> bool:
        """Whether a verified copy is cached."""
        path = self.path_of(file_hash)
        if not path.is_file():
            return False
        try:
            return hash_files([path], cache=self._hashes)[path] == file_hash
        except RfarmError:
            return False

    def link(self, storage: Storage, entry: ManifestEntry, dest: Path) -> tuple[bool, bool]:
        """Put ``entry``'s content at ``dest`` (a hard link to the cached copy where possible).

        Returns:
            (whether it was downloaded, whether a damaged copy had to be fetched again).

        Raises:
            NotFoundError: the object is not in the store.
            IntegrityError: the stored object stays damaged after a second fetch.
        """
        path = self.path_of(entry.file_hash)
        for _ in range(2):
            downloaded = refetched = False
            if not self.has(entry.file_hash):
                if path.exists():
                    log.warning("cached copy of %s is damaged; fetching it again", entry.path)
                    path.unlink(missing_ok=True)
                refetched = fetch_verified(storage, entry.key, path, entry.file_hash, label=entry.path)
                self._hashes.put(path, entry.file_hash, mtime_ns=path.stat().st_mtime_ns)
                downloaded = True
            try:
                st = path.stat()
                os.utime(path, ns=(time.time_ns(), st.st_mtime_ns))  # last use, for eviction
                link_file(path, dest)
                return downloaded, refetched
            except FileNotFoundError:  # evicted by another process in between: fetch it again
                continue
        raise NotFoundError(f"{entry.path} vanished from the node cache {self.root} twice while being used.")

    def evict(self) -> tuple[int, int]:
        """Remove least recently used objects until the cache fits; (files, bytes) removed."""
        entries = []
        for path in (self.root / "objects").glob("*/*"):
            if path.name.startswith("."):
                continue  # a download in progress
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            entries.append((st.st_atime_ns, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        removed = freed = 0
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed, freed = removed + 1, freed + size
        return removed, freed


def link_file(src: Path, dest: Path) -> None:
    """Hard-link ``src`` at ``dest`` (a copy across devices or where links are not allowed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        return
    try:
        os.link(src, dest)
    except FileExistsError:
        pass
    except OSError:
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
