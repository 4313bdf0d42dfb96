"""Throughput of the Maya ASCII analyser against merely reading the same file.

Generates a .ma of the given size (meshes with large vertex/face arrays,
animation curves, shaders, file textures, render settings: what big scenes hold), then
in the same run times a plain read of it and ``analyze_scene`` on it, and
reports MB/s for both, their ratio and the analyser's peak traced memory.

    python benchmarks/bench_analyse.py              # 500 MB
    python benchmarks/bench_analyse.py --size-mb 50 --keep scene.ma
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from rfarm.analysis import analyze_scene

HEADER = """//Maya ASCII 2024ff03 scene
//Name: bench.ma
//Codeset: UTF-8
requires maya "2024ff03";
requires -nodeType "aiOptions" -nodeType "aiAOVDriver" "mtoa" "5.3.4";
currentUnit -l centimeter -a degree -t film;
fileInfo "application" "maya";
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
\tsetAttr -k off ".v" no;
\tsetAttr ".imn" -type "string" "persp";
"""

FOOTER = """select -ne :time1;
\tsetAttr ".o" 1;
select -ne :defaultRenderGlobals;
\tsetAttr ".ren" -type "string" "arnold";
\tsetAttr ".an" yes;
\tsetAttr ".fs" 1;
\tsetAttr ".ef" 240;
\tsetAttr ".ifp" -type "string" "<Scene>/<RenderLayer>";
select -ne :defaultResolution;
\tsetAttr ".w" 1920;
\tsetAttr ".h" 1080;
// End of bench.ma
"""


def _numbers(rng: random.Random, count: int, per_line: int = 9) -> str:
    values = [f"{rng.uniform(-50, 50):.6f}" for _ in range(count)]
    lines = [" ".join(values[i : i + per_line]) for i in range(0, count, per_line)]
    return "\n\t\t ".join(lines)


def make_block(index: int, rng: random.Random) -> str:
    """One asset: a mesh with big arrays, an animation curve, a shader; one in eight has a texture."""
    vertices = 600
    texture = (
        f'createNode file -n "asset{index}_tex";\n'
        f'\tsetAttr ".ftn" -type "string" "sourceimages/asset{index % 97}/color.<UDIM>.exr";\n'
        f'\tsetAttr ".cs" -type "string" "ACES - ACEScg";\n'
        f'connectAttr "asset{index}_tex.oc" "asset{index}_mtl.base_color";\n'
    )
    return (
        f'createNode transform -n "asset{index}";\n'
        f'\trename -uid "{rng.getrandbits(64):016X}";\n'
        f'\tsetAttr ".t" -type "double3" {_numbers(rng, 3)} ;\n'
        f'createNode mesh -n "asset{index}Shape" -p "asset{index}";\n'
        f'\tsetAttr -k off ".v";\n'
        f'\tsetAttr ".uvst[0].uvsn" -type "string" "map1";\n'
        f'\tsetAttr -s {vertices} ".uvst[0].uvsp[0:{vertices - 1}]" -type "float2" {_numbers(rng, vertices * 2, 8)};\n'
        f'\tsetAttr -s {vertices} ".vt[0:{vertices - 1}]"  {_numbers(rng, vertices * 3)};\n'
        f'\tsetAttr -s {vertices} ".ed[0:{vertices - 1}]"  '
        + " ".join(f"{i} {i + 1} 0" for i in range(vertices))
        + " ;\n"
        '\tsetAttr -s 100 ".fc[0:99]" -type "polyFaces" '
        + " ".join(f"f 4 {i} {i + 1} {i + 2} {i + 3} mu 0 4 {i} {i + 1} {i + 2} {i + 3}" for i in range(100))
        + ";\n"
        f'createNode animCurveTL -n "asset{index}_translateX";\n'
        f'\tsetAttr -s 48 ".ktv[0:47]"  ' + " ".join(f"{k} {rng.random():.4f}" for k in range(1, 49)) + ";\n"
        f'createNode aiStandardSurface -n "asset{index}_mtl";\n'
        f'\tsetAttr ".base_color" -type "float3" 0.5 0.4 0.3 ;\n'
        + (texture if index % 8 == 0 else "")
        + f'connectAttr "asset{index}_translateX.o" "asset{index}.tx";\n'
    )


def generate(path: Path, size_mb: float, *, seed: int = 1) -> int:
    """Write a .ma of about ``size_mb`` MB to ``path``; return its size in bytes."""
    rng = random.Random(seed)
    blocks = [make_block(i, rng) for i in range(32)]
    target = int(size_mb * 1_000_000)
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER)
        index = 0
        while written < target:
            text = blocks[index % len(blocks)].replace("asset", f"a{index}x", -1)
            written += out.write(text)
            index += 1
        out.write(FOOTER)
    return path.stat().st_size


def time_read(path: Path, block_size: int = 1 << 20) -> float:
    start = time.perf_counter()
    with path.open("rb") as stream:
        while stream.read(block_size):
            pass
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=500.0, help="size of the generated .ma (default 500)")
    parser.add_argument("--keep", type=Path, help="write the scene here and keep it")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.ma"
        started = time.perf_counter()
        size = generate(path, args.size_mb)
        print(f"generated {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s: {path}")

        read_s = time_read(path)
        tracemalloc.start()
        started = time.perf_counter()
        result = analyze_scene(path)
        analyse_s = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # Tracing slows Python code down; time an untraced run as well.
        started = time.perf_counter()
        analyze_scene(path)
        plain_s = time.perf_counter() - started

    mb = size / 1e6
    print(f"read only : {read_s:7.2f} s  {mb / read_s:8.1f} MB/s")
    print(f"analyse   : {plain_s:7.2f} s  {mb / plain_s:8.1f} MB/s  (traced run {analyse_s:.2f} s)")
    print(f"ratio     : analysing takes {plain_s / read_s:.1f}x the time of reading")
    print(f"peak traced memory while analysing: {peak / 1e6:.2f} MB")
    print(f"dependencies: {len(result.dependencies)}, renderer {result.scene_info.renderer}, "
          f"frames {result.scene_info.start:g}-{result.scene_info.end:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
