"""A 100,000-frame task through the CLI: submit, status and status --json, beside their baselines.

Each command runs as a new process (as an artist runs it) on the embedded
default farm in a temporary RFARM_HOME; the best of ``--runs`` is kept.
Baselines, measured in the same run: ``rfarm --version`` (the CLI's start-up)
for submit and status, and a plain ``sqlite3`` read of the task's frame rows
written out as JSON for ``status --json``. The redraw of ``status --watch`` is
the library call it makes at each refresh, beside the refresh interval.

    python benchmarks/bench_huge.py [--frames 100000] [--runs 3]

Goals for 100,000 frames: submit under 2 s, status under 0.5 s, status --json under 3 s.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "examples" / "turntable.blend"
GOALS = {"submit": 2.0, "status": 0.5, "status --json": 3.0}


#: CPU seconds (user + system) of the last command :func:`rfarm` ran: on a busy machine, steadier than wall time
CPU = [0.0]


def rfarm(env: dict[str, str], *args: str) -> float:
    """Seconds one ``rfarm ARGS`` process takes (its output thrown away); it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rfarm", *args], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[0] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if proc.returncode != 0:
        sys.exit(f"rfarm {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return took


def best(runs: int, measure) -> float:  # type: ignore[no-untyped-def]
    return min(measure() for _ in range(runs))


def best_cli(runs: int, env: dict[str, str], *args: str) -> tuple[float, float]:
    """The best wall time of ``runs`` runs of ``rfarm ARGS``, and the least CPU time."""
    walls, cpus = [], []
    for _ in range(runs):
        walls.append(rfarm(env, *args))
        cpus.append(CPU[0])
    return min(walls), min(cpus)


def sqlite_read(db: Path, task_id: int) -> float:
    """Seconds to read the task's frame rows with sqlite3 alone and write them out as JSON."""
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT number, status, attempts, is_test, worker, error, started_at, finished_at, outputs, progress "
        "FROM frame WHERE task_id = ? ORDER BY is_test DESC, number", (task_id,)).fetchall()
    with open(os.devnull, "w") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    conn.close()
    return time.perf_counter() - start


def watch_redraw(home: Path, task_id: int, runs: int) -> float:
    """Seconds one ``status --watch`` refresh reads and lays out (the library side of a redraw)."""
    os.environ.update(RFARM_HOME=str(home), RFARM_USER="bench")
    from rich.console import Console

    from rfarm.api import local_caller, open_api
    from rfarm.cli import task_view
    from rfarm.config import load_config

    config = load_config()
    api, caller = open_api(config), local_caller(config)
    console = Console(file=open(os.devnull, "w"), width=160)

    def once() -> float:
        start = time.perf_counter()
        _, view = task_view.status_view(api, caller, task_id, task_view.FrameFilter())
        console.print(view)
        return time.perf_counter() - start

    return best(runs, once)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from rfarm.cli.tasks_cmd import WATCH_REFRESH_S

    with tempfile.TemporaryDirectory(prefix="rfarm-bench-huge-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RFARM_")}
        env.update(RFARM_HOME=str(home), RFARM_USER="bench", PYTHONPATH=str(ROOT))
        submit_args = ("submit", str(SCENE), "--frames", f"1-{args.frames}", "--no-analyse", "--in-place")
        rfarm(env, "submit", str(SCENE), "--frames", "1", "--no-analyse", "--in-place")  # the database made
        startup, startup_cpu = best_cli(args.runs, env, "--version")
        submit, submit_cpu = best_cli(args.runs, env, *submit_args)
        task = str(1 + args.runs)  # the last task submitted
        status, status_cpu = best_cli(args.runs, env, "status", task)
        status_json, status_json_cpu = best_cli(args.runs, env, "status", task, "--json")
        plain = best(args.runs, lambda: sqlite_read(home / "rfarm.db", int(task)))
        redraw = watch_redraw(home, int(task), args.runs)

    print(f"{args.frames:,} frames, best of {args.runs}")
    print(f"  rfarm --version (start-up)   {startup:6.3f} s  (CPU {startup_cpu:.3f} s)")
    for name, took, cpu, base, what in (
            ("submit", submit, submit_cpu, startup, "start-up"), ("status", status, status_cpu, startup, "start-up"),
            ("status --json", status_json, status_json_cpu, plain, "sqlite3 read + json")):
        verdict = "ok" if took < GOALS[name] else "over"
        print(f"  rfarm {name:<22} {took:6.3f} s  (CPU {cpu:.3f} s)  goal {GOALS[name]:g} s: {verdict:<4}  "
              f"{took / base:5.1f}x {what} ({base:.3f} s)")
    print(f"  status --watch redraw        {redraw:6.3f} s  {redraw / WATCH_REFRESH_S:5.2f}x its refresh interval "
          f"({WATCH_REFRESH_S:g} s)")


if __name__ == "__main__":
    main()
