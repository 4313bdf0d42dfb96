"""Password hashes for the dashboard's login: scrypt (memory-hard, in the standard library).

A stored hash reads ``scrypt$N$R$P$SALT$HASH`` (salt and hash in base64), so
the cost can be raised later without losing the hashes already stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from rfarm.errors import UsageError

_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_HASH_BYTES = 32
#: enough for N=2**14, R=8 (128 * N * R bytes = 16 MiB), with room for a higher stored N
_MAXMEM = 64 * 2**20


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_HASH_BYTES)


def hash_password(password: str) -> str:
    """The text to store for ``password`` (a new random salt each time)."""
    if not password:
        raise UsageError("the password is empty; give a non-empty one")
    salt = os.urandom(_SALT_BYTES)
    digest = _scrypt(password, salt, _N, _R, _P)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (compared in constant time).

    A malformed ``stored`` text matches nothing.
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)
