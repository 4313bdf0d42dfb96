"""Throughput of the Maya ASCII analyser against md5sum and a plain read of the same file.

Generates a .ma of the given size (meshes with large vertex/face arrays,
animation curves, shaders, file textures, references, render settings: what
big scenes hold), then in the same run times the ``md5sum`` command over it, a
plain read of it and ``analyze_scene`` on it (best of ``--repeat`` runs each,
interleaved), and prints the analyser's speed as a ratio of md5sum's and of the
plain read's (1.0 or more: at least as fast), with the peak traced memory of a
separate traced run.

``--tree`` builds a shot instead: a top scene with 40 references to present
.ma files (the set, the largest at ``--size-mb``; three characters at a tenth
of it, which reference two of the props again; 36 props at a two-hundredth)
and times analysing the whole shot against analysing the set alone.

    python benchmarks/bench_analyse.py                    # 300 MB
    python benchmarks/bench_analyse.py --size-mb 50 --keep scene.ma
    python benchmarks/bench_analyse.py --tree --size-mb 100
"""
from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path

from rfarm.analysis import analyze_scene

HEADER = """//Maya ASCII 2024ff03 scene
//Name: {name}
//Codeset: UTF-8
requires maya "2024ff03";
requires -nodeType "aiOptions" -nodeType "aiAOVDriver" "mtoa" "5.3.4";
{references}currentUnit -l centimeter -a degree -t film;
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
// End of {name}
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


def reference_lines(references: list[tuple[str, Path]]) -> str:
    """``file`` lines as Maya writes them: depth info first, then the loading ``file -r``."""
    lines = []
    for namespace, path in references:
        lines.append(f'file -rdi 1 -ns "{namespace}" -rfn "{namespace}RN" -op "v=0;" -typ "mayaAscii" "{path.as_posix()}";\n')
    for namespace, path in references:
        lines.append(
            f'file -r -ns "{namespace}" -dr 1 -rfn "{namespace}RN" -op "v=0;" -typ "mayaAscii" "{path.as_posix()}";\n'
        )
    return "".join(lines)


@cache
def _blocks() -> tuple[str, ...]:
    rng = random.Random(1)
    return tuple(make_block(i, rng) for i in range(32))


def generate(path: Path, size_mb: float, *, references: list[tuple[str, Path]] | None = None) -> int:
    """Write a .ma of about ``size_mb`` MB to ``path``; return its size in bytes.

    Without ``references`` the scene references two files that are not there
    (listed as missing, as a scene moved from another machine shows).
    """
    if references is None:
        references = [("envRef", path.parent / "absent" / "env.ma"), ("camRef", path.parent / "absent" / "cam.ma")]
    blocks = _blocks()
    target = int(size_mb * 1_000_000)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        written = out.write(HEADER.format(name=path.name, references=reference_lines(references)))
        for namespace, _ in references:
            written += out.write(f'createNode reference -n "{namespace}RN";\n')
        index = 0
        while written < target:
            written += out.write(blocks[index % len(blocks)].replace("asset", f"a{index}x", -1))
            index += 1
        out.write(FOOTER.format(name=path.name))
    return path.stat().st_size


def make_shot(folder: Path, size_mb: float) -> tuple[Path, Path, int]:
    """The ``--tree`` shot; returns the top scene, the largest file and the bytes of all files."""
    props = [folder / "props" / f"prop{i:02d}.ma" for i in range(36)]
    characters = [folder / "chars" / f"char{i}.ma" for i in range(3)]
    largest = folder / "sets" / "set.ma"
    for file in (*props, *characters, largest):
        file.parent.mkdir(parents=True, exist_ok=True)
    total = sum(generate(prop, size_mb / 200, references=[]) for i, prop in enumerate(props))
    for i, char in enumerate(characters):
        nested = [(f"prop{i * 2}", props[i * 2]), (f"prop{i * 2 + 1}", props[i * 2 + 1])]
        total += generate(char, size_mb / 10, references=nested)
    total += generate(largest, size_mb, references=[])
    listed = [("set", largest)] + [(f"char{i}", c) for i, c in enumerate(characters)]
    listed += [(f"prop{i:02d}", prop) for i, prop in enumerate(props)]
    top = folder / "shot.ma"
    total += generate(top, 0.05, references=listed)
    return top, largest, total


def time_read(path: Path, block_size: int = 1 << 20) -> None:
    with path.open("rb") as stream:
        while stream.read(block_size):
            pass


def time_md5sum(path: Path) -> None:
    subprocess.run(["md5sum", str(path)], check=True, stdout=subprocess.DEVNULL)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def best_times(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """The best wall time and the best CPU time (user and system) of each run.

    The runs are interleaved so that a busy machine slows all alike; CPU time,
    md5sum's counted from its process, is what other load disturbs least.
    """
    best = {name: (float("inf"), float("inf")) for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
            run()
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu + _children_cpu() - children
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def traced_peak(path: Path) -> float:
    """Peak traced memory (bytes) while analysing ``path``."""
    tracemalloc.start()
    try:
        analyze_scene(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bench_file(path: Path, size: int, repeat: int) -> None:
    runs = {"md5sum": lambda: time_md5sum(path), "read": lambda: time_read(path), "analyse": lambda: analyze_scene(path)}
    best = best_times(runs, repeat)
    peak = traced_peak(path)
    result = analyze_scene(path)
    mb = size / 1e6
    print("            wall s     MB/s    CPU s     MB/s")
    for name, label in (("md5sum", "md5sum   "), ("read", "read only"), ("analyse", "analyse  ")):
        wall, cpu = best[name]
        print(f"{label} : {wall:7.3f} {mb / wall:8.1f}  {cpu:7.3f} {mb / cpu:8.1f}")
    for baseline, label in (("md5sum", "md5sum   "), ("read", "read only")):
        wall, cpu = (best[baseline][i] / best["analyse"][i] for i in (0, 1))
        print(f"speed ratio analyse/{label}: wall {wall:.2f}, CPU {cpu:.2f}  (1.0 or more: at least as fast)")
    print(f"peak traced memory while analysing: {peak / 1e6:.2f} MB; "
          f"max RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
    kinds = Counter(dep.kind for dep in result.dependencies)
    print(f"dependencies: {dict(kinds)}, renderer {result.scene_info.renderer}, "
          f"frames {result.scene_info.start:g}-{result.scene_info.end:g}")


def bench_tree(top: Path, largest: Path, total: int, repeat: int) -> None:
    runs = {"largest": lambda: analyze_scene(largest), "tree": lambda: analyze_scene(top)}
    best = best_times(runs, repeat)
    result = analyze_scene(top)
    (largest_wall, largest_cpu), (tree_wall, tree_cpu) = best["largest"], best["tree"]
    print(f"largest file alone : wall {largest_wall:7.3f} s, CPU {largest_cpu:7.3f} s  ({largest.stat().st_size / 1e6:.1f} MB)")
    print(f"whole shot         : wall {tree_wall:7.3f} s, CPU {tree_cpu:7.3f} s  ({total / 1e6:.1f} MB in all files)")
    print(f"time ratio shot/largest file: wall {tree_wall / largest_wall:.2f}, CPU {tree_cpu / largest_cpu:.2f}  (goal: under 2)")
    print(f"peak traced memory analysing the shot: {traced_peak(top) / 1e6:.2f} MB")
    kinds = Counter(dep.kind for dep in result.dependencies)
    missing = sum(1 for dep in result.dependencies if not dep.exists)
    print(f"dependencies: {dict(kinds)}, {missing} missing, {len(result.tips)} tips")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=300.0, help="size of the (largest) generated .ma (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts (default 3)")
    parser.add_argument("--tree", action="store_true", help="a shot of 40 references instead of one file")
    parser.add_argument("--keep", type=Path, help="write the scene (or the shot's folder) here and keep it")
    args = parser.parse_args(argv)
    if shutil.which("md5sum") is None and not args.tree:
        print("Error: the md5sum command is needed as the baseline.", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        if args.tree:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            top, largest, total = make_shot(folder, args.size_mb)
            print(f"generated a shot of {total / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s: {top}")
            bench_tree(top, largest, total, args.repeat)
        else:
            path = args.keep or Path(tmp) / "bench.ma"
            size = generate(path, args.size_mb)
            print(f"generated {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s: {path}")
            bench_file(path, size, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
