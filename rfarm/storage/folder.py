"""Storage in a folder: a local disk, a NAS mount or a Windows UNC share."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from io import FileIO
from pathlib import Path
from typing import BinaryIO

from rfarm.errors import IntegrityError, NotFoundError, StorageError, UsageError
from rfarm.storage.base import Storage, check_key

_BLOCK_SIZE = 1 << 20
_TEMP_NAME = re.compile(r"\.tmp-[0-9a-f]{16}$")
_WINDOWS_BAD_CHARS = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{n}" for d in ("COM", "LPT") for n in range(1, 10)}
_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


def _check_windows_name(key: str) -> None:
    for part in key.split("/"):
        if (
            _WINDOWS_BAD_CHARS.search(part)
            or part.endswith((".", " "))
            or part.split(".", 1)[0].upper() in _WINDOWS_RESERVED
            or _TEMP_NAME.search(part)
        ):
            raise UsageError(f"Invalid storage key {key!r}: {part!r} is not a safe file name on Windows.")


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some network file systems cannot sync a directory
    finally:
        os.close(fd)


def _atomic_write(final: Path, fill: Callable[[BinaryIO], None]) -> None:
    """Create ``final`` through ``<name>.tmp-<random>``, synced, then renamed over it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f"{final.name}.tmp-{secrets.token_hex(8)}")
    try:
        with open(temp, "xb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)


def _copy(src: FileIO, dst: BinaryIO, *, md5: str | None, what: str) -> None:
    buf = bytearray(_BLOCK_SIZE)
    view = memoryview(buf)
    digest = hashlib.md5(usedforsecurity=False) if md5 is not None else None
    while n := src.readinto(buf):
        if digest is not None:
            digest.update(view[:n])
        dst.write(view[:n])
    if digest is not None and digest.hexdigest() != md5:
        raise IntegrityError(f"{what} has MD5 {digest.hexdigest()}, expected {md5}; it changed since it was hashed.")


class FolderStorage(Storage):
    """Objects stored as files below ``root``, one file per key.

    Writes go to ``<name>.tmp-<random>`` in the same folder, are synced, then
    renamed over the final name, so readers never see a partial file and an
    interrupted write leaves only a temporary file that :meth:`list` ignores.
    Keys must be valid file names on Windows too, so one folder can be shared
    by Windows and Linux nodes.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FolderStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        check_key(key)
        _check_windows_name(key)
        return self.root.joinpath(*key.split("/"))

    def _failed(self, action: str, key: str, exc: OSError) -> StorageError:
        return StorageError(f"Cannot {action} {key!r} in folder storage {self.root}: {exc.strerror or exc}")

    def _not_found(self, key: str) -> NotFoundError:
        return NotFoundError(f"No object {key!r} in folder storage {self.root}.")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, path: Path, *, md5: str | None = None) -> None:
        target = self._path(key)
        try:
            src = open(path, "rb", buffering=0)
        except FileNotFoundError as exc:
            raise NotFoundError(f"File not found: {path}") from exc
        except OSError as exc:
            raise UsageError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        try:
            with src:
                _atomic_write(target, lambda dst: _copy(src, dst, md5=md5, what=str(path)))
        except OSError as exc:
            raise self._failed("write", key, exc) from exc

    def get_file(self, key: str, dest: Path) -> None:
        source = self._path(key)
        try:
            src = open(source, "rb", buffering=0)
        except _MISSING as exc:
            raise self._not_found(key) from exc
        except OSError as exc:
            raise self._failed("read", key, exc) from exc
        try:
            with src:
                _atomic_write(Path(dest), lambda dst: _copy(src, dst, md5=None, what=key))
        except OSError as exc:
            raise self._failed("fetch", key, exc) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)

        def fill(dst: BinaryIO) -> None:
            dst.write(data)

        try:
            _atomic_write(target, fill)
        except OSError as exc:
            raise self._failed("write", key, exc) from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except _MISSING as exc:
            raise self._not_found(key) from exc
        except OSError as exc:
            raise self._failed("read", key, exc) from exc

    def list(self, prefix: str = "") -> Iterator[str]:
        folder, _, _ = prefix.rpartition("/")
        if folder:
            check_key(folder)
        base = self.root.joinpath(*folder.split("/")) if folder else self.root
        keys: list[str] = []
        try:
            for dirpath, dirnames, filenames in os.walk(base, onerror=_raise):
                rel = Path(dirpath).relative_to(self.root).as_posix()
                head = "" if rel == "." else f"{rel}/"
                dirnames[:] = [
                    d for d in dirnames if f"{head}{d}/".startswith(prefix) or prefix.startswith(f"{head}{d}/")
                ]
                keys.extend(
                    f"{head}{name}"
                    for name in filenames
                    if f"{head}{name}".startswith(prefix) and not _TEMP_NAME.search(name)
                )
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._failed("list", prefix, exc) from exc
        yield from sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise self._failed("delete", key, exc) from exc

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            if not path.is_file():
                raise self._not_found(key)
            return path.stat().st_size
        except _MISSING as exc:
            raise self._not_found(key) from exc
        except OSError as exc:
            raise self._failed("stat", key, exc) from exc


def _raise(exc: OSError) -> None:
    raise exc
