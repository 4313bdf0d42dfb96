"""How soon a frame submitted to an idle worker starts: the queue's wake-up against the idle poll.

An ``rfarm worker`` process waits, idle, on the embedded default (SQLite
farm, Huey on SQLite) and on PostgreSQL with Redis. Each round submits one
frame through the library, as ``rfarm submit`` records it (the task, then
the wake-up), and reads how long after the submit the frame was claimed (its
``started_at``, by the farm's clock). The renderer is a script that exits at
once: what is measured is the wait, not a render. Beside it, in the same
run, Huey's own enqueue→dequeue latency on the same queue, and the ratio to
the idle poll (:data:`rfarm.node.worker.IDLE_POLL_S`) that a worker without
wake-ups would be bound by.

    python benchmarks/bench_latency.py [--rounds 10] [--backends sqlite,pg]

The Redis database it flushes is ``RFARM_BENCH_REDIS`` (default db 14).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from scratch_pg import scratch_database

REDIS = os.environ.get("RFARM_BENCH_REDIS", "redis://127.0.0.1:6379/14")
#: the "renderer" (as Maya's Render): a script that exits at once; the frame then fails, which does not matter here
EXIT_AT_ONCE = "#!/bin/sh\nexit 0\n"


def _start_worker(home: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "rfarm", "worker", "--name", "idle"], env=env,
                            stdout=subprocess.DEVNULL, stderr=(home / "worker.log").open("wb"))


def _wait_idle(log: Path, timeout_s: float = 60) -> None:
    """Until the worker has registered and said it is idle (then it waits on the queue)."""
    from rfarm.state.models import Node

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        node = Node.get_or_none(Node.name == "idle")
        if node is not None and node.state == "idle":
            time.sleep(2.5)  # past its first idle poll: the next claim comes from a wake-up or the poll
            return
        time.sleep(0.1)
    raise SystemExit("the worker did not start:\n" + log.read_text(errors="replace")[-2000:])


def bench_backend(label: str, db_url: str, queue_url: str, rounds: int, renderer: Path) -> None:
    from rfarm.node.worker import IDLE_POLL_S
    from rfarm.state import scheduler
    from rfarm.state.db import db_now, open_database
    from rfarm.state.models import Frame
    from rfarm.state.queue import Queue

    open_database(db_url)
    secret = uuid.uuid4().hex  # a shared queue needs one; the embedded default does not use it
    queue = Queue(queue_url, secret=secret)
    queue.flush()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {**os.environ, "RFARM_HOME": str(home), "RFARM_USER": "bench", "RFARM_DATABASE_URL": db_url,
               "RFARM_QUEUE_URL": queue_url, "RFARM_QUEUE_SECRET": secret, "RFARM_MAYA_EXECUTABLE": str(renderer)}
        worker = _start_worker(home, env)
        try:
            _wait_idle(home / "worker.log")
            waits = []
            for _ in range(rounds):
                scene = home / "shot.ma"
                scene.write_text("//Maya ASCII 2024 scene\n")
                submitted = db_now()
                task = scheduler.submit(scheduler.SubmitRequest(scene=str(scene), renderer="maya", frames=[1]),
                                        user="bench", limits=scheduler.Limits(max_attempts=1))
                queue.notify(task)
                deadline = time.monotonic() + 10
                started = None
                while started is None and time.monotonic() < deadline:
                    started = Frame.get(Frame.task == task).started_at
                    if started is None:
                        time.sleep(0.005)
                if started is None:
                    raise SystemExit(f"{label}: the frame did not start within 10 s")
                waits.append((started - submitted).total_seconds())
                time.sleep(IDLE_POLL_S + 0.5)  # the worker idle again, past a poll, before the next round
        finally:
            worker.terminate()
            worker.wait(30)

    raw = []
    for i in range(rounds):
        queue.flush()
        t0 = time.perf_counter()
        queue.notify(i)
        queue.wait(5)
        raw.append(time.perf_counter() - t0)
    p50, worst = statistics.median(waits), max(waits)
    print(f"{label:10} submit -> frame start, idle worker: median {p50 * 1000:6.0f} ms, best {min(waits) * 1000:6.0f} ms, "
          f"worst {worst * 1000:6.0f} ms over {rounds} | huey raw enqueue->dequeue median "
          f"{statistics.median(raw) * 1000:6.1f} ms | median / idle poll ({IDLE_POLL_S:g} s) {p50 / IDLE_POLL_S:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,pg", help="sqlite (with Huey on SQLite), pg (with Redis)")
    args = parser.parse_args()
    backends = args.backends.split(",")

    with tempfile.TemporaryDirectory() as tmp:
        renderer = Path(tmp) / "render"
        renderer.write_text(EXIT_AT_ONCE)
        renderer.chmod(0o755)
        if "sqlite" in backends:
            bench_backend("sqlite", f"sqlite:///{tmp}/rfarm.db", f"sqlite:///{tmp}/queue.db", args.rounds, renderer)
        if "pg" not in backends:
            return
        with scratch_database() as url:
            bench_backend("pg+redis", url, REDIS, args.rounds, renderer)


if __name__ == "__main__":
    main()
