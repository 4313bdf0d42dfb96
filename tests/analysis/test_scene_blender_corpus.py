"""Every real .blend in ../shared/corpus/blender (2.79, 2.80, 2.93) gives what a careful reading of it gives.

The settings were read field by field from each file's Scene and RenderData
blocks (``r.engine``, ``r.sfra``/``r.efra``, ``r.xsch``/``r.ysch`` scaled by
``r.size``, ``r.im_format.imtype``, ``Scene.camera``, ``r.layers`` before 2.80,
``view_layers`` after); the dependencies are compared with blender-asset-tracer's
own tracer. SOURCES.md in that folder says what each file shows.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from blender_asset_tracer import blendfile, trace

from rfarm.analysis import analyze_scene

pytest_plugins = ["scene_fixtures"]
pytestmark = pytest.mark.corpus("blender")

# Blender 2.79's factory scene: 1920x1080 at 50 %, 1-250, Cycles, FFmpeg output, one "RenderLayer".
OLD = {"software_version": "2.79", "renderer": "CYCLES", "start": 1, "end": 250, "width": 960, "height": 540,
       "image_format": "FFMPEG", "cameras": [], "render_layers": [("RenderLayer", True)]}
MISSING_LIBRARY = ("library", "//material_textures.blend", False)

EXPECTED: dict[str, dict[str, Any]] = {
    # Blender Render, with a camera; the particle system's disk cache (27 frames) beside it.
    "T55539-particles/particle.blend": {
        "info": {**OLD, "renderer": "BLENDER_RENDER", "image_format": "PNG", "cameras": ["Camera"]},
        "deps": [("point_cache", "//blendcache_particle/43756265_*.bphys", True)],
    },
    # At 100 %, frames 1-10; the smoke domain's cache is named by the hex of "Smoke Domain".
    "T55542-smoke/smoke_cache.blend": {
        "info": {**OLD, "renderer": "BLENDER_RENDER", "end": 10, "width": 1920, "height": 1080,
                 "image_format": "PNG", "cameras": ["Camera"]},
        "deps": [("point_cache", "//blendcache_smoke_cache/536D6F6B6520446F6D61696E_*.bphys", True)],
    },
    # 2.80: Eevee, a view layer; two images never published, one relative, one absolute.
    "absolute_path.blend": {
        "info": {**OLD, "software_version": "2.80", "renderer": "BLENDER_EEVEE", "width": 1920, "height": 1080,
                 "image_format": "PNG"},
        "deps": [
            ("image", "//textures/Bricks/brick_dotted_04-color.jpg", False),
            ("image", "/home/sybren/workspace/bam/blender-asset-tracer/tests/blendfiles/textures/Textures/"
             "Buildings/buildings_roof_04-color.png", False),
        ],
    },
    "alembic-user.blend": {"info": {**OLD, "end": 70}, "deps": [("alembic", "//clothsim.abc", True)]},
    "basic_file.blend": {"info": OLD, "deps": []},
    "basic_file_compressed.blend": {"info": OLD, "deps": []},
    # linked_cube.blend links basic_file.blend: the indirect library is listed from linked_cube.
    "doubly_linked.blend": {
        "info": OLD,
        "deps": [("library", "//linked_cube.blend", True), MISSING_LIBRARY, ("library", "//basic_file.blend", True)],
    },
    "geometry-nodes/node_lib.blend": {
        "info": {**OLD, "software_version": "2.93", "width": 2048, "height": 858, "image_format": "PNG",
                 "render_layers": [("View Layer", True)]},
        "deps": [],
    },
    "geometry-nodes/object_lib.blend": {
        "info": {**OLD, "software_version": "2.93", "width": 2048, "height": 858, "image_format": "PNG",
                 "render_layers": [("View Layer", True)]},
        "deps": [("library", "//node_lib.blend", True)],
    },
    # The lamp's texture is procedural: no file.
    "lamp_textures.blend": {"info": {**OLD, "renderer": "BLENDER_RENDER"}, "deps": []},
    "linked_cube.blend": {"info": OLD, "deps": [("library", "//basic_file.blend", True)]},
    # The compressed copy names basic_file.blend by the absolute path it had where it was saved.
    "linked_cube_compressed.blend": {
        "info": OLD,
        "deps": [("library", "/home/sybren/workspace/bam/blender-asset-tracer/tests/blendfiles/basic_file.blend", False)],
    },
    "meshcache-user.blend": {"info": {**OLD, "end": 70}, "deps": [("mesh_cache", "//meshcache.mdd", True)]},
    "missing_textures.blend": {
        "info": OLD,
        "deps": [
            ("image", "//textures/Textures/Marble/marble_decoration-color.png", False),
            ("image", "//textures/HDRI/Myanmar/Golden Palace 2, Old Bagan-1k.exr", False),
        ],
    },
    "multiple_materials.blend": {"info": OLD, "deps": []},
    "multires_external.blend": {"info": OLD, "deps": [("multires", "//Cube.btx", True)]},
    # The ocean's bake folder was never published.
    "ocean_modifier.blend": {"info": {**OLD, "end": 50}, "deps": [("ocean_cache", "//cache_ocean", False)]},
    # They link each other: each lists the other once, and the loop ends.
    "recursive_dependency_1.blend": {"info": OLD, "deps": [("library", "//recursive_dependency_2.blend", True)]},
    "recursive_dependency_2.blend": {"info": OLD, "deps": [("library", "//recursive_dependency_1.blend", True)]},
    "subdir/doubly_linked_up-windows.blend": {
        "info": OLD,
        "deps": [("library", "//../linked_cube.blend", True), ("library", "//../material_textures.blend", False),
                 ("library", "//basic_file.blend", True)],
    },
    "subdir/doubly_linked_up.blend": {
        "info": OLD,
        "deps": [("library", "//../linked_cube.blend", True), ("library", "//../material_textures.blend", False),
                 ("library", "//basic_file.blend", True)],
    },
    # Colour and cross strips only: the sequencer names no file.
    "with_sequencer.blend": {"info": {**OLD, "end": 45}, "deps": []},
}


def corpus_files(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.blend"))


def test_every_corpus_file_has_expectations(blender_corpus: Path) -> None:
    assert corpus_files(blender_corpus) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_settings_and_dependencies(blender_corpus: Path, name: str) -> None:
    expected = EXPECTED[name]
    result = analyze_scene(blender_corpus / name)
    info = result.scene_info.to_dict()
    for key, value in expected["info"].items():
        if key == "render_layers":
            value = [{"name": layer, "renderable": on, "render_setup_layer": None, "overrides": {}} for layer, on in value]
        assert info[key] == value, key
    assert info["defaulted"] == []
    assert [(d.kind, d.path, d.exists) for d in result.dependencies] == expected["deps"]
    assert all(d.files for d in result.dependencies if d.exists)
    assert result.can_render is bool(expected["info"]["cameras"])


def bat_trace(path: Path) -> tuple[set[str], set[Path]]:
    """blender-asset-tracer's own answer: the paths as written, and the files its ``files()`` expands to."""
    written: set[str] = set()
    files: set[Path] = set()
    try:
        for usage in trace.deps(path):
            written.add(bytes(usage.asset_path).decode("utf-8", "surrogateescape"))
            files.update(file.resolve() for file in usage.files())
    finally:
        blendfile.close_all_cached()
    return written, files


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_has_every_dependency_the_tracer_finds(blender_corpus: Path, name: str) -> None:
    written, files = bat_trace(blender_corpus / name)
    result = analyze_scene(blender_corpus / name)
    ours = {Path(file).resolve() for dep in result.dependencies for file in dep.files}
    assert written <= {dep.path for dep in result.dependencies}
    assert files <= ours
    # Nothing more either: every file rfarm lists is one the tracer lists.
    assert ours == files
