#!/usr/bin/env python3
"""A stand-in for ``UnrealEditor-Cmd`` (which cannot run here) that logs as Movie Render Queue does.

It checks the command line rfarm builds (``Project.uproject [Map] -game
-MoviePipelineConfig=... -RenderOffscreen ...``), then writes one PNG-named file
per frame of ``FAKE_UNREAL_FRAMES`` (``1-3``) into ``FAKE_UNREAL_OUT``, the
output folder a real config would name.
"""
from __future__ import annotations

import os
import sys
import time


def log(frame: int, line: str) -> None:
    stamp = time.strftime("%Y.%m.%d-%H.%M.%S:000")
    print(f"[{stamp}][{frame:3d}]{line}", flush=True)


def main(argv: list[str]) -> int:
    if not argv or not argv[0].endswith(".uproject") or "-game" not in argv:
        print("usage: UnrealEditor-Cmd Project.uproject [Map] -game -MoviePipelineConfig=...", flush=True)
        return 1
    config = next((a.split("=", 1)[1] for a in argv if a.startswith("-MoviePipelineConfig=")), "")
    if not config.startswith("/Game/"):
        log(0, f"LogMovieRenderPipeline: Error: Could not find config {config}")
        return 0  # the engine exits 0 even then
    out = os.environ["FAKE_UNREAL_OUT"]
    first, _, last = os.environ.get("FAKE_UNREAL_FRAMES", "1-1").partition("-")
    log(0, "LogMovieRenderPipeline: Successfully detected and loaded required movie arguments.")
    log(2, "LogMovieRenderPipeline: [216] Initializing Camera Cut [1/1] in [sh010] CineCameraActor1.")
    os.makedirs(out, exist_ok=True)
    for frame in range(int(first), int(last or first) + 1):
        with open(os.path.join(out, f"sh010.{frame:04d}.png"), "wb") as fh:
            fh.write(b"\x89PNG\r\n\x1a\n" + frame.to_bytes(4, "little") * 16)
    log(9, "LogMovieRenderPipeline: [392] Finished processing Camera Cut [1/1].")
    log(9, "LogMovieRenderPipeline: Movie Pipeline completed. Duration: +00:00:01.000")
    log(9, "LogExit: Exiting.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
