"""Dedup upload through the CLI: a 1,000-file project uploaded twice; the second time sends nothing.

Run: ``python benchmarks/bench_upload.py [--files 1000] [--mib 400] [--oss] [--dir DIR]``

The project is written once (file sizes spread from a few KB to a few MB),
then ``rfarm upload PROJECT --dedup --json`` runs twice as a real process
against a fresh farm home (hash cache under the home, assets in its SQLite
database), as a user would type it. The first run hashes and sends every
file; the second finds every hash in the cache and every object recorded,
and sends zero bytes. Printed: both times, their ratio (the goal is at most
0.1), and beside them the start-up of ``rfarm upload --help`` in the same
run: the part of the second upload that is the interpreter and the CLI's imports.
``--oss`` also runs it against the local OSS-protocol server from ``tests/``
(real ``oss2`` client, signed requests over HTTP on 127.0.0.1), counting the
requests each upload makes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB = 1 << 20


def write_project(root: Path, files: int, total_mib: int) -> int:
    """``files`` files whose sizes follow a long tail and add up to about ``total_mib``."""
    rng = random.Random(7)
    weights = [rng.paretovariate(1.2) for _ in range(files)]
    scale = total_mib * MIB / sum(weights)
    block = os.urandom(8 * MIB)
    written = 0
    for i, weight in enumerate(weights):
        size = max(1024, min(int(weight * scale), len(block) - 64))
        path = root / f"assets{i % 25:02d}" / f"tex_{i:04d}.exr"
        path.parent.mkdir(parents=True, exist_ok=True)
        start = rng.randrange(0, len(block) - size)
        path.write_bytes(i.to_bytes(8, "little") + block[start : start + size - 8])
        written += size
    return written


def rfarm(env: dict[str, str], *args: str) -> tuple[float, dict[str, object]]:
    """Wall seconds of one ``python -m rfarm ARGS`` process, and its JSON document (if any)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rfarm", *args], env=env, capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"rfarm {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, (json.loads(proc.stdout) if "--json" in args else {})


def run(label: str, project: Path, env: dict[str, str], count: Callable[[], int] | None = None) -> None:
    startup = min(rfarm(env, "upload", "--help")[0] for _ in range(3))
    first_s, first = rfarm(env, "upload", str(project), "--dedup", "--json")
    first_requests = count() if count else 0
    second_s, second = rfarm(env, "upload", str(project), "--dedup", "--json")
    second_requests = (count() - first_requests) if count else 0
    assert first["uploaded"] == len(first["files"]) and second["bytes_uploaded"] == 0, (first, second)
    print(f"{label}: first upload  {first_s:7.2f} s  sent {first['uploaded']} files / "
          f"{first['bytes_uploaded'] / MIB:.1f} MiB" + (f", {first_requests} storage requests" if count else ""))
    print(f"{label}: second upload {second_s:7.2f} s  sent {second['uploaded']} files / {second['bytes_uploaded']} "
          f"bytes, skipped {second['skipped']} files" + (f", {second_requests} storage requests" if count else ""))
    print(f"{label}: rfarm upload --help {startup:5.2f} s  (start-up: the interpreter, the CLI's imports)")
    print(f"{label}: second / first = {second_s / first_s:.3f} (goal 0.1); without start-up "
          f"{max(0.0, second_s - startup) / max(1e-9, first_s - startup):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mib", type=int, default=400, help="total size of the project")
    parser.add_argument("--oss", action="store_true", help="also upload to the local OSS-protocol test server")
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("RFARM_")]:
        del os.environ[name]
    base = {name: value for name, value in os.environ.items() if not name.startswith("RFARM_")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH", "")]))
    base["RFARM_USER"] = "bench"
    work = Path(tempfile.mkdtemp(prefix="rfarm-bench-upload-", dir=args.dir))
    try:
        size = write_project(work / "project", args.files, args.mib)
        print(f"project: {args.files} files, {size / MIB:.1f} MiB in {work / 'project'}")
        folder_env = {**base, "RFARM_HOME": str(work / "home-folder"), "RFARM_STORAGE_URL": (work / "store").as_uri()}
        run("folder", work / "project", folder_env)
        if args.oss:
            from tests.oss_server import OssServer

            with OssServer() as server:
                url = f"oss://{server.bucket}/farm?endpoint={server.endpoint}&region={server.region}"
                oss_env = {**base, "RFARM_HOME": str(work / "home-oss"), "RFARM_STORAGE_URL": url,
                           "OSS_ACCESS_KEY_ID": server.access_key_id, "OSS_ACCESS_KEY_SECRET": server.access_key_secret}
                run("oss", work / "project", oss_env, count=lambda: len(server.log))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
