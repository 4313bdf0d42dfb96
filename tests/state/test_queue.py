"""The Huey wake-up queue on SQLite, Redis and PostgreSQL."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from rfarm_testlib import clean_env, run_together

from rfarm.errors import ConfigError
from rfarm.state.queue import Queue


@pytest.fixture(params=["sqlite", *(pytest.param(kind, marks=pytest.mark.services) for kind in ("redis", "postgresql"))])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///" + (tmp_path / "q" / "queue.db").as_posix()
    elif request.param == "redis":
        yield request.getfixturevalue("redis_url")
    else:
        yield request.getfixturevalue("pg_url")


def drain(q: Queue, count: int, timeout_s: float = 3.0) -> list[int]:
    """The next ``count`` wake-ups (fewer if the queue runs dry for ``timeout_s``)."""
    got = []
    while len(got) < count and (task_id := q.wait(timeout_s)) is not None:
        got.append(task_id)
    return got


def test_wake_ups_come_by_priority(queue_url: str) -> None:
    producer = Queue(queue_url)
    producer.flush()
    producer.notify(1, priority=2)  # low
    producer.notify(2, priority=0)  # high
    producer.notify(3, priority=1)  # default
    producer.notify(4, priority=0)  # high
    producer.notify(5, priority=2)  # low
    assert producer.pending() == 5
    consumer = Queue(queue_url)  # another instance, as in another process
    got = drain(consumer, 5)
    assert sorted(got[:2]) == [2, 4]
    assert got[2] == 3
    assert sorted(got[3:]) == [1, 5]
    assert consumer.pending() == 0


def test_notify_count_rings_several_workers(queue_url: str) -> None:
    q = Queue(queue_url)
    q.flush()
    q.notify(7, count=3)
    q.notify(8, count=0)  # at least one
    assert q.pending() == 4
    assert sorted(drain(q, 4)) == [7, 7, 7, 8]
    assert q.pending() == 0


def test_wait_times_out_with_none(queue_url: str) -> None:
    q = Queue(queue_url, poll_s=0.05)
    q.flush()
    start = time.monotonic()
    assert q.wait(0.3) is None
    assert time.monotonic() - start >= 0.25, "an empty queue is waited on until the timeout"


def test_wait_returns_a_waiting_wake_up_without_sleeping(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    q = Queue(queue_url, poll_s=0.05)
    q.flush()
    q.notify(42)
    sleeps: list[float] = []
    monkeypatch.setattr("rfarm.state.queue.time", SimpleNamespace(monotonic=time.monotonic, sleep=sleeps.append))
    assert q.wait(10) == 42
    assert sleeps == []


def test_a_queue_with_another_secret_cannot_forge_wake_ups(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = "sqlite:///" + (tmp_path / "queue.db").as_posix()
    Queue(url, secret="mallory").notify(13)
    with caplog.at_level(logging.WARNING):
        assert Queue(url, secret="the-farm", poll_s=0.05).wait(0.3) is None
    assert any("queue read failed" in r.getMessage() and "mismatch" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("url", ["ftp://host/q", "postgresql://127.0.0.1:5432", "memory://", ""])
def test_bad_queue_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        Queue(url)


def test_an_unreachable_redis_never_raises_from_notify(caplog: pytest.LogCaptureFixture) -> None:
    q = Queue("redis://127.0.0.1:1/0", poll_s=0.05)
    with caplog.at_level(logging.WARNING):
        q.notify(1)
        assert q.wait(0.2) is None
    assert any("wake-up" in r.getMessage() or "queue read failed" in r.getMessage() for r in caplog.records)


_OPEN_QUEUE_CHILD = """
from rfarm.state.queue import Queue

q = Queue((sync / "url").read_text())
q.notify(int(me[1:]) + 1)
print(q.pending())
"""


@pytest.mark.e2e
def test_queue_created_by_several_processes_at_once(tmp_path: Path) -> None:
    url = "sqlite:///" + (tmp_path / "fresh" / "queue.db").as_posix()
    sync = tmp_path / "sync"
    sync.mkdir()
    (sync / "url").write_text(url)
    run_together(_OPEN_QUEUE_CHILD, 4, clean_env(), sync)
    q = Queue(url)
    assert sorted(drain(q, 4)) == [1, 2, 3, 4]
    assert q.pending() == 0
