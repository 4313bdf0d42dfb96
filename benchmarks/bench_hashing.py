"""Hashing throughput beside ``md5sum``, and the hash cache's re-scan time.

Run: ``python benchmarks/bench_hashing.py [--big-mib 1024] [--files 2000] [--dir DIR]``

Over the same files, each the best of ``--repeat`` runs taking turns (so load
from elsewhere weighs on all alike), with the files already in the page cache
(so the disk is not what is timed):

1. one core: ``hash_file`` (MD5 + xxHash64) over 16 MiB files one after another
   beside ``md5sum`` over the same files;
2. through the command a user types, start-up included: ``rfarm hash DIR
   --no-cache`` (one thread per CPU) beside ``md5sum`` (one core) over the
   same files, for ``--big-mib`` MiB in 16 MiB files and for ``--files``
   small ones (16 KiB to 1 MiB);
3. the hash cache: a first scan of the small-file tree into an empty cache,
   then a re-scan of the unchanged tree, through ``hash_files`` and through
   ``rfarm hash DIR`` (whose start-up then is most of the time).
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rfarm.files.hashing import HashCache, hash_file, hash_files, walk_files

MIB = 1 << 20


def cpu_s() -> float:
    """CPU seconds used so far by this process and its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def best_of(repeat: int, *runs: Callable[[], object]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run's fastest repeat; runs take turns so other load affects all alike."""
    best = [(float("inf"), float("inf"))] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            wall, cpu = time.perf_counter(), cpu_s()
            run()
            best[i] = min(best[i], (time.perf_counter() - wall, cpu_s() - cpu))
    return best


def md5sum(paths: list[Path]) -> None:
    subprocess.run(["md5sum", "--", *map(str, paths)], check=True, stdout=subprocess.DEVNULL)


def rfarm_hash(folder: Path, home: Path, *options: str) -> None:
    """``rfarm hash FOLDER`` as a user runs it (the progress bar on, output to a pipe)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RFARM_")} | {"RFARM_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "rfarm", "hash", str(folder), *options], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def write_files(folder: Path, sizes: list[int]) -> list[Path]:
    block = os.urandom(4 * MIB)
    paths = []
    for i, size in enumerate(sizes):
        path = folder / f"d{i % 20:02d}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(i.to_bytes(8, "little"))
            written = 8
            while written < size:
                chunk = block[: size - written]
                f.write(chunk)
                written += len(chunk)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mib", type=int, default=1024, help="total size of the large files")
    parser.add_argument("--files", type=int, default=2000, help="number of files in the many-file tree")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files (default: a temp dir)")
    args = parser.parse_args()
    if shutil.which("md5sum") is None:
        raise SystemExit("md5sum is not on PATH")
    cpus = os.cpu_count() or 1
    root = Path(tempfile.mkdtemp(prefix="rfarm-bench-", dir=args.dir))
    try:
        big = write_files(root / "big", [16 * MIB] * max(1, args.big_mib // 16))
        rng = random.Random(4)
        many = write_files(root / "many", [rng.randint(16 * 1024, 1024 * 1024) for _ in range(args.files)])
        md5sum(big + many)  # warm the page cache

        print(f"{cpus} CPUs, load average {os.getloadavg()[0]:.2f}; best of {args.repeat} runs, files in page cache")
        big_bytes = sum(p.stat().st_size for p in big)
        ours, theirs = best_of(args.repeat, lambda: [hash_file(p) for p in big], lambda: md5sum(big))
        print(
            f"one core, {len(big)} files of 16 MiB: hash_file {big_bytes / ours[0] / MIB:.0f} MiB/s, "
            f"md5sum {big_bytes / theirs[0] / MIB:.0f} MiB/s -> {theirs[0] / ours[0]:.2f}x md5sum "
            f"(by CPU time: {big_bytes / ours[1] / MIB:.0f} vs {big_bytes / theirs[1] / MIB:.0f} MiB per CPU-second, "
            f"{theirs[1] / ours[1]:.2f}x)"
        )

        home = root / "home"
        for label, files in ((f"{len(big)} files of 16 MiB", big), (f"{len(many)} files of 16 KiB-1 MiB", many)):
            size = sum(p.stat().st_size for p in files)
            ours, theirs = best_of(args.repeat, lambda f=files: rfarm_hash(f[0].parent.parent, home, "--no-cache"),
                                   lambda f=files: md5sum(f))
            print(
                f"rfarm hash DIR --no-cache, {label} ({size / MIB:.0f} MiB): {ours[0]:.3f} s, "
                f"{size / ours[0] / MIB:.0f} MiB/s; md5sum {theirs[0]:.3f} s, {size / theirs[0] / MIB:.0f} MiB/s "
                f"-> {theirs[0] / ours[0]:.2f}x md5sum (rfarm kept {ours[1] / ours[0]:.1f} cores busy, "
                f"{ours[1]:.2f} CPU-s against md5sum's {theirs[1]:.2f})"
            )

        caches = iter(range(args.repeat))
        tree = root / "many"

        def scan(cache_path: Path) -> None:
            with HashCache(cache_path) as cache:
                hash_files(walk_files([tree]), threads=cpus, cache=cache)

        (first, first_cpu), (again, again_cpu) = best_of(
            args.repeat,
            lambda: scan(root / f"cache-{next(caches)}.db"),  # a new, empty cache each time
            lambda: scan(root / "cache-0.db"),
        )
        print(
            f"hash cache, hash_files, {len(many)} files: first scan {first:.3f} s, re-scan of the unchanged tree "
            f"{again:.3f} s -> re-scan takes {again / first:.3f}x the first ({first / again:.0f}x faster; "
            f"by CPU time {first_cpu:.2f} s against {again_cpu:.3f} s, {first_cpu / again_cpu:.0f}x)"
        )
        homes = iter(range(args.repeat))
        (first, first_cpu), (again, again_cpu) = best_of(
            args.repeat,
            lambda: rfarm_hash(tree, root / f"home-{next(homes)}"),  # a new, empty cache each time
            lambda: rfarm_hash(tree, root / "home-0"),
        )
        print(
            f"hash cache, rfarm hash DIR, {len(many)} files: first scan {first:.3f} s, re-scan {again:.3f} s "
            f"-> {first / again:.1f}x faster, start-up included (CPU {first_cpu:.2f} s against {again_cpu:.2f} s)"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
