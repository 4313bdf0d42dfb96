"""Frames dispatched per second and claim latency with 1, 3 and 8 workers, on both backends.

Each worker is a separate process (spawned, as on Windows) that claims a frame,
marks it done and claims the next, with no render in between: what is
measured is the scheduler itself. Beside it, in the same run, Huey's raw
enqueue/dequeue rate on the same backend with the same number of processes;
the ratio says what the database-as-truth design costs over bare Huey.

    python benchmarks/bench_dispatch.py [--frames 2000] [--workers 1,3,8] [--backends sqlite,pg]

The Redis database it flushes is ``RFARM_BENCH_REDIS`` (default db 14).
"""
from __future__ import annotations

import argparse
import os
import multiprocessing as mp
import statistics
import tempfile
import time

from scratch_pg import scratch_database

REDIS = os.environ.get("RFARM_BENCH_REDIS", "redis://127.0.0.1:6379/14")


def _claim_loop(db_url: str, name: str, start: float, out: mp.Queue) -> None:
    from rfarm.state import scheduler
    from rfarm.state.db import open_database

    open_database(db_url)
    while time.time() < start:
        time.sleep(0.001)
    first = time.time()
    cpu = time.process_time()
    latencies = []
    while True:
        t0 = time.perf_counter()
        claim = scheduler.claim(name, lease_s=60)
        latencies.append(time.perf_counter() - t0)
        if claim is None:
            break
        for frame in claim.frames:
            scheduler.finish_frame(frame.id, claim.token, outputs=[])
    out.put((len(latencies) - 1, latencies[:-1], first, time.time(), time.process_time() - cpu))


def _dequeue_loop(queue_url: str, start: float, out: mp.Queue) -> None:
    from rfarm.state.queue import Queue

    q = Queue(queue_url)
    while time.time() < start:
        time.sleep(0.001)
    first = last = time.time()
    n = 0
    while q.huey.dequeue() is not None:  # a blocking backend waits out its read timeout at the end
        n += 1
        last = time.time()
    out.put((n, [], first, last, 0.0))


def _run(target, args_for, workers: int) -> tuple[float, list[float], int, float]:  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    start = time.time() + 3.0  # every process imported and connected before the clock starts
    procs = [ctx.Process(target=target, args=(*args_for(i), start, out)) for i in range(workers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    elapsed = max(r[3] for r in results) - min(r[2] for r in results)
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    return elapsed, [lat for r in results for lat in r[1]], done, sum(r[4] for r in results)


def bench_backend(label: str, db_url: str, queue_url: str, frames: int, worker_counts: list[int]) -> None:
    from rfarm.state import scheduler
    from rfarm.state.db import open_database
    from rfarm.state.queue import Queue

    open_database(db_url)
    for workers in worker_counts:
        scheduler.submit(scheduler.SubmitRequest(scene="/bench.blend", renderer="blender", frames=range(frames)), user="bench")
        elapsed, lat, done, cpu = _run(_claim_loop, lambda i: (db_url, f"w{i}"), workers)
        assert done == frames, f"{done} frames dispatched, expected {frames}"
        rate = done / elapsed

        q = Queue(queue_url)
        q.flush()
        t0 = time.perf_counter()
        for i in range(frames):
            q.huey.enqueue(q._wake.s(i))
        enqueue_rate = frames / (time.perf_counter() - t0)
        h_elapsed, _, h_done, _ = _run(_dequeue_loop, lambda i: (queue_url,), workers)
        assert h_done == frames, f"huey dequeued {h_done}, expected {frames}"
        huey_rate = h_done / h_elapsed
        p50 = statistics.median(lat) * 1000
        p95 = sorted(lat)[int(len(lat) * 0.95)] * 1000
        print(f"{label:10} {workers} workers: {rate:7.0f} frames/s (claim p50 {p50:5.1f} ms, p95 {p95:6.1f} ms, "
              f"worker CPU {cpu / done * 1000:.2f} ms/frame) | "
              f"huey raw: enqueue {enqueue_rate:7.0f}/s, dequeue {huey_rate:7.0f}/s | "
              f"rfarm/huey dequeue ratio {rate / huey_rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--workers", default="1,3,8")
    parser.add_argument("--backends", default="sqlite,pg", help="sqlite (with Huey on SQLite), pg (with Redis)")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    backends = args.backends.split(",")

    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            bench_backend("sqlite", f"sqlite:///{tmp}/rfarm.db", f"sqlite:///{tmp}/queue.db", args.frames, counts)
    if "pg" not in backends:
        return

    with scratch_database() as url:
        bench_backend("pg+redis", url, REDIS, args.frames, counts)


if __name__ == "__main__":
    main()
