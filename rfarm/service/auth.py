"""Who a request is from: its bearer token checked by the farm, and how fast it may ask.

The token is verified on every request (:func:`rfarm.state.tokens.verify_token`:
signature, expiry, and the token's id against the database, so a revoke holds at
once); the role comes from the user's row, never from the client.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rfarm.config import Config
from rfarm.errors import NotAllowedError, NotAuthenticatedError, RateLimited
from rfarm.state.users import Caller

LOGIN_HINT = "run rfarm login URL (or set RFARM_TOKEN) with a token from `rfarm users token NAME`"


def bearer(header: str | None) -> str:
    """The token of an ``Authorization: Bearer TOKEN`` header."""
    if not header:
        raise NotAuthenticatedError(f"no token: {LOGIN_HINT}")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticatedError(f"the Authorization header must be 'Bearer TOKEN': {LOGIN_HINT}")
    return token.strip()


def check_token(config: Config, token: str) -> Caller:
    """The caller ``token`` stands for; any refusal is a 401 that says how to log in."""
    from rfarm.state.tokens import verify_token

    try:
        return verify_token(config, token)
    except NotAuthenticatedError:
        raise
    except NotAllowedError as exc:
        raise NotAuthenticatedError(str(exc)) from None


def token_key(token: str) -> str:
    """What the rate limiter counts a token's requests under (never the token itself)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Count one request for ``key``.

        Raises:
            RateLimited: the key has no request left; ``retry_after`` says when it has one.
        """
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.per_minute), now)
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.stamp) * self._rate)
            bucket.stamp = now
            if bucket.tokens < 1:
                wait = max(1.0, math.ceil((1 - bucket.tokens) / self._rate))
                raise RateLimited(f"too many requests (more than {self.per_minute} a minute); retry after {wait:.0f} s",
                                  wait)
            bucket.tokens -= 1
            if len(self._buckets) > 10_000:  # forget keys idle long enough to be full again
                full = [k for k, b in self._buckets.items() if now - b.stamp > 60]
                for k in full:
                    del self._buckets[k]
