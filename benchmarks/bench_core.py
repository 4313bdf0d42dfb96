"""Submit and dispatch costs of the core, measured side by side in one run.

1. The library's submit of 10,000 frames (start-up and analysis aside) on
   SQLite and on PostgreSQL.
2. The worker's overhead per frame: the same frames rendered directly (one
   Blender process per frame, as the worker runs them) against submit +
   ``rfarm worker --burst``; printed as a ratio.
3. The same with ``--chunk`` (one Blender process renders a chunk's frames in
   turn, each recorded as it finishes) against the same direct one-frame
   renders: what keeping Blender loaded across a chunk saves.

Each is run ``--repeats`` times, direct and farm interleaved, and the best of
each is kept (the machine may be shared).

    python benchmarks/bench_core.py [--frames 8] [--chunk 4] [--repeats 2] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "examples" / "turntable.blend"
SCRIPT = ROOT / "rfarm" / "renderers" / "blender_script.py"


def bench_submit(url: str, frames: int) -> float:
    from rfarm.state import scheduler
    from rfarm.state.db import open_database

    open_database(url)
    request = scheduler.SubmitRequest(scene=str(SCENE), renderer="blender", frames=range(1, frames + 1),
                                      test_frames=(50,), chunk_size=1)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        scheduler.submit(request, user="bench")
        best = min(best, time.perf_counter() - start)
    return best


def pg_database(admin_url: str) -> tuple[str, callable]:
    import psycopg2

    name = "rfarm_bench_" + uuid.uuid4().hex[:8]
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE DATABASE {name}")
    base = admin_url.rsplit("/", 1)[0]

    def drop() -> None:
        from rfarm.state.models import database

        database.obj.close()
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        conn.close()

    return f"{base}/{name}", drop


def render_direct(frames: int, tmp: str) -> float:
    """One Blender process per frame, as a worker without chunks starts them."""
    start = time.perf_counter()
    for f in range(1, frames + 1):
        job = {"scene": str(SCENE), "frames": [f], "output_dir": f"{tmp}/direct", "camera": None, "layers": []}
        subprocess.run([sys.executable, str(SCRIPT), json.dumps(job)], check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def render_farm(frames: int, tmp: str, *, chunk: int = 1) -> float:
    """``rfarm submit`` then ``rfarm worker --burst`` on a fresh embedded farm."""
    home = f"{tmp}/home-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "RFARM_HOME": home, "RFARM_USER": "bench"}
    rfarm = [sys.executable, "-m", "rfarm"]
    start = time.perf_counter()
    subprocess.run([*rfarm, "submit", str(SCENE), "--frames", f"1-{frames}", "--chunk", str(chunk)], env=env,
                   check=True, capture_output=True, timeout=60)
    subprocess.run([*rfarm, "worker", "--burst"], env=env, check=True, capture_output=True, timeout=1200)
    return time.perf_counter() - start


def bench_render(frames: int, chunk: int, repeats: int) -> tuple[float, float, float]:
    """The best of ``repeats`` for direct one-frame renders, the farm without chunks and with ``chunk``."""
    direct = farm = chunked = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            direct = min(direct, render_direct(frames, tmp))
            farm = min(farm, render_farm(frames, tmp))
            chunked = min(chunked, render_farm(frames, tmp, chunk=chunk))
    return direct, farm, chunked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8, help="frames rendered for the overhead figure")
    parser.add_argument("--chunk", type=int, default=4, help="frames per render process in the chunked run")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each render case; the best is kept")
    parser.add_argument("--submit-frames", type=int, default=10_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="an admin URL to create a scratch database ('' to skip PostgreSQL)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        sqlite_s = bench_submit(f"sqlite:///{tmp}/bench.db", args.submit_frames)
    print(f"submit {args.submit_frames} frames, SQLite:     {sqlite_s * 1000:8.1f} ms (best of 3)")
    if args.pg:
        url, drop = pg_database(args.pg)
        try:
            pg_s = bench_submit(url, args.submit_frames)
        finally:
            drop()
        print(f"submit {args.submit_frames} frames, PostgreSQL: {pg_s * 1000:8.1f} ms (best of 3)")

    direct, farm, chunked = bench_render(args.frames, args.chunk, args.repeats)
    per_frame = (farm - direct) / args.frames
    print(f"render {args.frames} frames directly, one process each: {direct:8.2f} s (best of {args.repeats})")
    print(f"submit + worker --burst, same frames:        {farm:8.2f} s")
    print(f"submit --chunk {args.chunk} + worker --burst:           {chunked:8.2f} s")
    print(f"ratio farm/direct: {farm / direct:.3f}   worker overhead per frame: {per_frame * 1000:.0f} ms")
    print(f"ratio farm --chunk {args.chunk}/direct one-frame renders: {chunked / direct:.3f}")

if __name__ == "__main__":
    main()
