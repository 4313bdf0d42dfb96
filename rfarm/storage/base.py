"""The storage interface: a few primitives over POSIX-string keys, helpers built on them.

Backends implement the abstract primitives; the helpers below them are written
once here on top of the primitives, and a backend overrides one only where it
has a faster way.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

from rfarm.errors import UsageError

_BAD_KEY_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid storage key, else raise :class:`UsageError`.

    A key is a relative POSIX path: no leading ``/``, no empty, ``.`` or ``..``
    segments, no backslashes or control characters.
    """
    if not key or key.startswith("/") or _BAD_KEY_CHARS.search(key):
        raise UsageError(f"Invalid storage key {key!r}: keys are relative POSIX paths.")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise UsageError(f"Invalid storage key {key!r}: empty, '.' and '..' segments are not allowed.")
    return key


class Storage(ABC):
    """A flat store of byte objects named by keys such as ``users/u1/objects/ab/<md5>-<xxh64>``.

    Writes are all-or-nothing: a reader sees either the old object or the whole
    new one. Every method raises :class:`~rfarm.errors.StorageError` when the
    backend fails or cannot be reached, and :class:`~rfarm.errors.UsageError`
    for an invalid key.
    """

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        raise NotImplementedError

    @abstractmethod
    def put_file(self, key: str, path: Path, *, md5: str | None = None) -> None:
        """Store the content of the local file ``path`` under ``key``, replacing any object.

        Args:
            md5: The file's expected MD5 (lowercase hex). When given, the stored
                bytes are checked against it.

        Raises:
            NotFoundError: ``path`` does not exist.
            IntegrityError: the bytes stored do not match ``md5``, or were damaged
                in transit; nothing is left under ``key`` by this call.
        """
        raise NotImplementedError

    @abstractmethod
    def get_file(self, key: str, dest: Path) -> None:
        """Write the object ``key`` to ``dest`` atomically (a temporary name, then a rename).

        The parent folder of ``dest`` is created if needed.

        Raises:
            NotFoundError: no object is stored under ``key``.
            IntegrityError: the object was damaged in transit; ``dest`` is untouched.
        """
        raise NotImplementedError

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing any object."""
        raise NotImplementedError

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The whole object ``key``.

        Raises:
            NotFoundError: no object is stored under ``key``.
        """
        raise NotImplementedError

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key that starts with ``prefix`` (a plain string prefix), in sorted order."""
        raise NotImplementedError

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object ``key``; removing a missing object is not an error."""
        raise NotImplementedError

    @abstractmethod
    def size(self, key: str) -> int:
        """The length in bytes of the object ``key``.

        Raises:
            NotFoundError: no object is stored under ``key``.
        """
        raise NotImplementedError

    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        """Whether each key exists, keyed in input order."""
        return {key: self.exists(key) for key in keys}

    def put_if_absent(self, key: str, path: Path, *, md5: str | None = None) -> bool:
        """Store ``path`` under ``key`` unless an object is already there.

        Returns:
            Whether the file was stored.
        """
        if self.exists(key):
            return False
        self.put_file(key, path, md5=md5)
        return True
