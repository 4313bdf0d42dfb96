"""A large .ma is analysed in bounded memory: the scanner keeps one block and one statement."""
from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

from rfarm.analysis import analyze_scene

pytest_plugins = ["scene_fixtures"]

WriteMa = Callable[..., Path]  # the write_ma fixture

SIZE = 50_000_000


def mesh_block(index: int) -> str:
    values = " ".join(f"{(i * 7919 % 1000) / 10:.4f}" for i in range(1500))
    faces = " ".join(f"f 4 {i} {i + 1} {i + 2} {i + 3}" for i in range(300))
    return (
        f'createNode transform -n "geo{index}";\n'
        f'createNode mesh -n "geo{index}Shape" -p "geo{index}";\n'
        f'\tsetAttr ".uvst[0].uvsn" -type "string" "map1";\n'
        f'\tsetAttr -s 500 ".vt[0:499]" {values};\n'
        f'\tsetAttr -s 300 ".fc[0:299]" -type "polyFaces" {faces};\n'
        f'createNode animCurveTL -n "geo{index}_tx";\n'
        f'\tsetAttr -s 3 ".ktv[0:2]"  1 0 12 1.5 24 3;\n'
        f'connectAttr "geo{index}_tx.o" "geo{index}.tx";\n'
    )


def test_fifty_megabytes_in_bounded_memory(write_ma: WriteMa) -> None:
    textures = "".join(
        f'createNode file -n "tex{i}";\n\tsetAttr ".ftn" -type "string" "sourceimages/t{i}.<UDIM>.exr";\n'
        for i in range(20)
    )
    path = write_ma("large.ma", textures)
    block = "".join(mesh_block(i) for i in range(8))
    with path.open("a", encoding="utf-8") as out:
        while out.tell() < SIZE:
            out.write(block)
        out.write('select -ne :defaultRenderGlobals;\n\tsetAttr ".ren" -type "string" "arnold";\n\tsetAttr ".ef" 240;\n')
    assert path.stat().st_size >= SIZE

    tracemalloc.start()
    try:
        result = analyze_scene(path, env={})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (result.scene_info.renderer, result.scene_info.end) == ("arnold", 240)
    assert len(result.dependencies) == 20
    assert peak < 5_000_000, f"peak traced memory {peak / 1e6:.1f} MB"
