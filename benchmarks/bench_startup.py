"""How long a user waits for short commands, beside ``python -c pass`` measured in the same run.

Run: ``python benchmarks/bench_startup.py [--repeat 15]``

Each command runs as ``python -m rfarm ...`` (what the ``rfarm`` script does) in
a fresh RFARM_HOME on the embedded SQLite farm holding one submitted task; the
commands take turns, and each one's fastest run counts (wall and CPU seconds),
so load from elsewhere on the machine weighs on all alike. ``python -X importtime
-m rfarm COMMAND`` shows where the time of one goes.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENE = '//Maya ASCII 2024 scene\nrequires maya "2024";\ncreateNode camera -n "perspShape";\nplaybackOptions -min 1 -max 2;\n'


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``cmd``, which must succeed."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rfarm-bench-startup-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RFARM_")}
        env.update(RFARM_HOME=str(root / "home"), RFARM_USER="bench", COLUMNS="160")
        scene, data = root / "shot.ma", root / "texture.bin"
        scene.write_text(SCENE, encoding="utf-8")
        data.write_bytes(os.urandom(1 << 20))
        rfarm = [sys.executable, "-m", "rfarm"]
        subprocess.run([*rfarm, "submit", str(scene), "--in-place"], env=env, check=True, capture_output=True)
        subprocess.run([*rfarm, "hash", str(data)], env=env, check=True, capture_output=True)  # the cache holds it
        runs = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "rfarm --version": [*rfarm, "--version"],
            "rfarm --help": [*rfarm, "--help"],
            "rfarm status": [*rfarm, "status"],
            "rfarm list": [*rfarm, "list"],
            "rfarm hash FILE": [*rfarm, "hash", str(data)],
        }
        best = {name: (float("inf"), float("inf")) for name in runs}
        for _ in range(args.repeat):
            for name, cmd in runs.items():
                wall, cpu = timed(cmd, env)
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    base_wall, base_cpu = best["python -c pass"]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; best of {args.repeat} runs each, "
          f"{sys.executable} {sys.version.split()[0]}")
    for name, (wall, cpu) in best.items():
        print(f"{name:18s} {wall * 1000:6.0f} ms wall ({wall / base_wall:4.1f}x python -c pass, "
              f"+{(wall - base_wall) * 1000:4.0f} ms), {cpu * 1000:6.0f} ms CPU ({cpu / base_cpu:4.1f}x)")


if __name__ == "__main__":
    main()
