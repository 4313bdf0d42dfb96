"""The service against the library, side by side in one run on one farm.

A fresh SQLite farm home; ``rfarm serve`` runs on it as a real process, and
the library (:class:`rfarm.api.LocalFarm`) works on the same home in this
process. Each measure is taken both ways:

1. submit of a 10,000-frame task (best of 3): ``LocalFarm.submit`` against
   ``HttpFarm.submit`` (the request and its answer through HTTP);
2. the status document of a 1,000-frame task (median of 30):
   ``LocalFarm.task(...).to_dict()`` against ``GET /api/tasks/{id}/status``
   decoded, and ``HttpFarm.task`` (decoded into the library's record);
3. status calls a second for ``--seconds`` from ``--threads`` threads, each
   with its own connection pool, against the same threads on ``LocalFarm``;
4. dedup upload of ``--files`` small files with ``upload_files``: the first
   upload (every file sent) and the second (every file skipped), through an
   ``HttpFarm`` and through ``LocalFarm``, each for a user of its own.

The server takes its rate limit from ``RFARM_API_RATE_LIMIT``, set high here
so the limit measures nothing. Goals are printed beside the figures; they are
never asserted.

    python benchmarks/bench_service.py [--threads 8] [--seconds 5] [--files 1000] [--profile status]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rfarm.api import LocalFarm  # noqa: E402
from rfarm.client.http import HttpFarm  # noqa: E402
from rfarm.config import load_config  # noqa: E402
from rfarm.files.upload import upload_files  # noqa: E402
from rfarm.state.users import Caller, Role  # noqa: E402
from rfarm.submit.request import SubmitRequest  # noqa: E402

ANY = Caller("")  # through HTTP the token says who calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """``rfarm serve`` on a free port of this machine, over the farm home ``env`` names."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        import httpx

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with open(log, "wb") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "rfarm", "serve", "--port", str(port)], env=env,
                                         stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"rfarm serve did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def best(call: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def median(call: Callable[[], Any], runs: int) -> float:
    call()  # warm: connections, caches, imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_second(call_for_thread: Callable[[], Callable[[], Any]], threads: int, seconds: float) -> float:
    """Calls a second from ``threads`` threads, each calling its own ``call_for_thread()`` until time is up."""
    counts = [0] * threads
    stop = threading.Event()
    ready = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        call = call_for_thread()
        call()
        ready.wait()
        while not stop.is_set():
            call()
            counts[i] += 1

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    ready.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - start
    for t in pool:
        t.join()
    return sum(counts) / elapsed


def write_files(root: Path, count: int) -> None:
    for i in range(count):
        path = root / f"dir{i % 20:02d}" / f"tex_{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(i.to_bytes(4, "little") * 256)  # 1 KiB each, every one different


def request(scene: Path, frames: int) -> SubmitRequest:
    return SubmitRequest(scene=str(scene), renderer="maya", frames=range(1, frames + 1), test_frames=(1,))


Row = tuple[str, str, str, str, str]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def table(rows: list[Row]) -> None:
    head = ("measure", "library", "server", "server/library", "goal (server)")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submit-frames", type=int, default=10_000)
    parser.add_argument("--status-frames", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=8, help="client threads for the requests-a-second figure")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--files", type=int, default=1_000)
    parser.add_argument("--profile", choices=("submit", "status", "upload"),
                        help="also profile that measure's client side in this process (cProfile, top 25)")
    args = parser.parse_args()

    for name in [n for n in os.environ if n.startswith("RFARM_")]:
        del os.environ[name]
    work = Path(tempfile.mkdtemp(prefix="rfarm-bench-service-"))
    env = {"RFARM_HOME": str(work / "home"), "RFARM_USER": "root", "RFARM_API_RATE_LIMIT": str(10**9)}
    os.environ.update(env)
    server = None
    try:
        config = load_config()
        local = LocalFarm(config)
        root = Caller("root", Role.ADMIN)
        local.add_user(root, "root", "admin")
        alice = local.add_user(root, "alice", "artist").token
        bob = local.add_user(root, "bob", "artist").token
        scene = work / "shot.ma"
        scene.write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\n', encoding="utf-8")
        server = Serve({**os.environ, **env}, work / "serve.log")
        http = HttpFarm(server.url, alice)
        rows: list[Row] = []

        big = request(scene, args.submit_frames)
        lib = best(lambda: local.submit(Caller("alice"), big), 3)
        srv = best(lambda: http.submit(ANY, big), 3)
        rows.append((f"submit {args.submit_frames:,} frames (best of 3)", ms(lib), ms(srv), f"{srv / lib:.2f}",
                     "< 1000 ms"))

        task_id = local.submit(Caller("alice"), request(scene, args.status_frames)).task_id
        raw = http.transport
        lib = median(lambda: local.task(Caller("alice"), task_id).to_dict(), 30)
        srv = median(lambda: raw.request("GET", f"/api/tasks/{task_id}/status").json(), 30)
        rows.append((f"GET status, {args.status_frames:,} frames (median)", ms(lib), ms(srv), f"{srv / lib:.2f}",
                     "< 50 ms"))
        client = median(lambda: http.task(ANY, task_id), 30)
        rows.append(("  the same through HttpFarm.task", ms(lib), ms(client), f"{client / lib:.2f}", ""))

        small = local.submit(Caller("alice"), request(scene, 10)).task_id

        def local_status() -> Callable[[], Any]:
            return lambda: local.task(Caller("alice"), small).to_dict()

        def http_status() -> Callable[[], Any]:
            own = HttpFarm(server.url, alice)
            return lambda: own.transport.request("GET", f"/api/tasks/{small}/status").json()

        lib = per_second(local_status, args.threads, args.seconds)
        srv = per_second(http_status, args.threads, args.seconds)
        rows.append((f"status/s, 10 frames, {args.threads} threads, {args.seconds:g} s", f"{lib:,.0f}/s",
                     f"{srv:,.0f}/s", f"{srv / lib:.2f}", "(figure)"))

        project = work / "project"
        write_files(project, args.files)
        bobs = HttpFarm(server.url, bob)
        timings = {}
        for label, api, caller in (("library", local, Caller("alice")), ("server", bobs, ANY)):
            timings[label] = (best(lambda: upload_files(api, caller, [project]), 1),
                              best(lambda: upload_files(api, caller, [project]), 1))
        for i, what in enumerate(("first", "again (all skipped)")):
            lib, srv = timings["library"][i], timings["server"][i]
            rows.append((f"upload {args.files:,} small files, {what}", ms(lib), ms(srv), f"{srv / lib:.2f}",
                         "(figure)"))
        print(f"farm home {env['RFARM_HOME']}, SQLite, server {server.url}, {os.cpu_count()} CPUs seen")
        table(rows)

        if args.profile:
            calls = {
                "submit": lambda: http.submit(ANY, big),
                "status": lambda: [http.task(ANY, task_id) for _ in range(20)],
                "upload": lambda: upload_files(bobs, ANY, [project]),
            }
            profile = cProfile.Profile()
            profile.runcall(calls[args.profile])
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        http.close()
        bobs.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
