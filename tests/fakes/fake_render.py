#!/usr/bin/env python3
"""A stand-in for Maya's ``Render`` (which cannot run here) that prints Arnold's real log lines.

It reads the command line rfarm builds (``-r arnold -s S -e E -b B -rd DIR ... scene``),
writes one small EXR-named file per frame into ``-rd`` and logs as MtoA does.
``FAKE_RENDER_MODE`` injects faults: ``ok`` (default), ``fail`` (an Arnold error,
exit 1), ``stall`` (progress stops and the process hangs), ``hang-child`` (starts
a grandchild that sleeps, then hangs), ``seconds=N`` (each frame takes N seconds).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time


def arg(argv: list[str], flag: str, default: str | None = None) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else default


def log(clock: float, message: str, level: str = "") -> None:
    elapsed = int(time.monotonic() - clock)
    stamp = f"{elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
    print(f"{stamp}   412MB {level:<7} | {message}", flush=True)


def main(argv: list[str]) -> int:
    mode = os.environ.get("FAKE_RENDER_MODE", "ok")
    seconds = float(mode.split("=", 1)[1]) if mode.startswith("seconds=") else 0.05
    start, end, step = (int(float(arg(argv, f) or d)) for f, d in (("-s", "1"), ("-e", "1"), ("-b", "1")))
    out_dir = arg(argv, "-rd", ".") or "."
    scene = argv[-1]
    name = os.path.splitext(os.path.basename(scene))[0]
    print('Starting "/usr/autodesk/maya2024/bin/maya"', flush=True)
    print(f"Result: {scene}", flush=True)
    clock = time.monotonic()
    if mode == "hang-child":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    for frame in range(start, end + 1, step):
        log(clock, "log started")
        log(clock, "host application: MtoA 5.3.5.2 Maya 2024")
        log(clock, " starting 2 bucket workers of size 64x64 ...")
        for pct in (0, 50, 100):
            if mode in ("stall", "hang-child") and pct == 50:
                time.sleep(600)
            if mode == "fail" and pct == 50:
                log(clock, "[ai_shader] aiStandardSurface1: texture /proj/missing.tx not found", "ERROR")
                print("Error: [mtoa] Failed batch render", flush=True)
                return 1
            time.sleep(seconds / 3)
            log(clock, f"{pct:5d}% done - 12 rays/pixel")
        path = os.path.join(out_dir, "masterLayer", f"{name}.{frame:04d}.exr")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"v/1\x01" + frame.to_bytes(4, "little") * 64)
        log(clock, f" [driver_exr] writing file `{path}'")
        log(clock, "render done")
    print(f"Scene {scene} completed.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
