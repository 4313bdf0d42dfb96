"""The Huey queue from a URL. Its messages are wake-ups that carry a task id only.

The database holds the truth (see :mod:`rfarm.state.scheduler`): a lost wake-up
costs at most the idle poll interval, because workers also look for work on
their own at least every two seconds.
"""
from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from rfarm.state.db import redact, sqlite_path
from rfarm.errors import ConfigError, ServiceError, first_line

log = logging.getLogger(__name__)

#: Huey priority per rfarm priority (Huey pops higher numbers first)
HUEY_PRIORITY = {0: 20, 1: 10, 2: 0}
#: the salt for signed messages when no secret is configured (embedded default)
_DEFAULT_SECRET = "rfarm-embedded"


class Queue:
    """Wake-up messages through Huey: ``notify`` on submit, ``wait`` in workers."""

    def __init__(self, url: str, *, secret: str = "", poll_s: float = 0.2) -> None:
        from huey import Huey
        from huey.serializer import SignedSerializer

        self.url = url
        self.poll_s = poll_s
        serializer = SignedSerializer(secret=secret or _DEFAULT_SECRET, salt="rfarm")
        storage, kwargs = _storage(url)
        try:
            self.huey = Huey("rfarm", results=False, serializer=serializer, storage_class=storage, **kwargs)
        except Exception as exc:  # driver errors differ per backend
            raise ServiceError(f"cannot open the queue {redact(url)}: {first_line(exc)}") from exc

        @self.huey.task(name="rfarm.wake")
        def wake(task_id: int) -> int:
            return task_id

        self._wake = wake

    def notify(self, task_id: int, *, priority: int = 1, count: int = 1) -> None:
        """Ring ``count`` workers for ``task_id``; a failure is logged, never raised."""
        try:
            for _ in range(max(1, count)):
                self.huey.enqueue(self._wake.s(task_id, priority=HUEY_PRIORITY.get(priority, 10)))
        except Exception as exc:  # the scheduler still holds the frames
            log.warning("could not send a wake-up for task %s: %s", task_id, first_line(exc))

    def wait(self, timeout_s: float) -> int | None:
        """Block until a wake-up arrives (its task id) or ``timeout_s`` passes (None)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                message = self.huey.dequeue()
            except Exception as exc:
                log.warning("queue read failed: %s", first_line(exc))
                message = None
                time.sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())))
            if message is not None:
                return int(message.args[0]) if message.args else 0
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self.huey.storage.blocking:
                time.sleep(min(self.poll_s, remaining))

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def flush(self) -> None:
        self.huey.flush()


def _storage(url: str) -> tuple[type, dict[str, Any]]:
    from huey.storage import PostgresStorage, PriorityRedisStorage, SqliteStorage

    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteStorage, {"filename": str(path), "timeout": 30}
    if url.startswith(("redis://", "rediss://")):
        return PriorityRedisStorage, {"url": url, "read_timeout": 1}
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        if not parts.path.strip("/"):
            raise ConfigError(f"queue URL {url!r} names no database")
        return PostgresStorage, {"dsn": url, "read_timeout": 1, "table_prefix": "rfarm_huey"}
    raise ConfigError(f"unsupported queue URL {url!r}: use sqlite:///PATH, redis://HOST or postgresql://...")
