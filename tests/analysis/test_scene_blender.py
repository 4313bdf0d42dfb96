"""Blender scenes, made by a child Python with bpy (never imported here), read with BAT."""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rfarm.analysis import analyze_scene
from rfarm.errors import AnalysisError

MAKE_SCENES = textwrap.dedent(
    """
    import shutil, sys, wave, bpy
    from pathlib import Path
    out = Path(sys.argv[-1])
    with wave.open(str(out / "sounds" / "hit.wav"), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(bytes(1600))
    # Any font file Blender can load: one of those it ships.
    fonts = Path(bpy.utils.system_resource("DATAFILES", path="fonts"))
    shutil.copyfile(sorted(fonts.glob("*.woff2"))[0], out / "fonts" / "title.woff2")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    mesh = bpy.data.meshes.new("PropMesh")
    prop = bpy.data.objects.new("Prop", mesh)
    bpy.context.scene.collection.objects.link(prop)
    decal = bpy.data.images.new("decal", 4, 4)
    decal.source = "FILE"
    decal.filepath = "//maps/decal.png"
    material = bpy.data.materials.new("PropMat")
    material.use_nodes = True
    material.node_tree.nodes.new("ShaderNodeTexImage").image = decal
    mesh.materials.append(material)
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "assets" / "prop.blend"))

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.frame_start, scene.frame_end, scene.frame_step = 5, 42, 2
    scene.frame_current = 7
    scene.render.resolution_x, scene.render.resolution_y = 1280, 720
    scene.render.resolution_percentage = 50
    scene.render.filepath = "//render/shot_"
    scene.render.image_settings.file_format = "OPEN_EXR"
    camera = bpy.data.objects.new("ShotCam", bpy.data.cameras.new("ShotCamData"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    images = (
        ("wood", "//textures/wood.png", "FILE"),
        ("gone", "//textures/missing.png", "FILE"),
        ("tiles", "//textures/col.<UDIM>.png", "TILED"),
        ("plate", "//plates_v2/plate.0001.png", "SEQUENCE"),
    )
    for name, path, source in images:
        image = bpy.data.images.new(name, 4, 4)
        image.source = source
        image.filepath = path
        image.use_fake_user = True
    with bpy.data.libraries.load(str(out / "assets" / "prop.blend"), link=True, relative=True) as (src, dst):
        dst.objects = ["Prop"]
    for linked in dst.objects:
        scene.collection.objects.link(linked)
    bpy.data.sounds.load(str(out / "sounds" / "hit.wav")).use_fake_user = True
    title = bpy.data.curves.new("Title", "FONT")
    title.font = bpy.data.fonts.load(str(out / "fonts" / "title.woff2"))
    scene.collection.objects.link(bpy.data.objects.new("Title", title))
    wave_object = bpy.data.objects.new("Wave", bpy.data.meshes.new("WaveMesh"))
    scene.collection.objects.link(wave_object)
    wave_object.modifiers.new("Cache", "MESH_CACHE").filepath = str(out / "caches" / "wave.mdd")
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "shot.blend"), relative_remap=True)

    scene.camera = None
    bpy.data.objects.remove(camera)
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "nocamera.blend"))

    # Two files that link each other: loop/a.blend links B from b.blend, which links Ring from a.blend.
    bpy.ops.wm.read_factory_settings(use_empty=True)
    ring = bpy.data.objects.new("Ring", bpy.data.meshes.new("RingMesh"))
    bpy.context.scene.collection.objects.link(ring)
    ring.modifiers.new("Cache", "MESH_CACHE").filepath = str(out / "caches" / "ring.mdd")
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "loop" / "a.blend"), relative_remap=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("B", bpy.data.meshes.new("BMesh")))
    with bpy.data.libraries.load(str(out / "loop" / "a.blend"), link=True, relative=True) as (src, dst):
        dst.objects = ["Ring"]
    bpy.context.scene.collection.objects.link(dst.objects[0])
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "loop" / "b.blend"), relative_remap=True)
    bpy.ops.wm.open_mainfile(filepath=str(out / "loop" / "a.blend"))
    with bpy.data.libraries.load(str(out / "loop" / "b.blend"), link=True, relative=True) as (src, dst):
        dst.objects = ["B"]
    bpy.context.scene.collection.objects.link(dst.objects[0])
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "loop" / "a.blend"), relative_remap=True)
    """
)


@pytest.fixture(scope="module")
def blend_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("blend")
    for folder in ("textures", "plates_v2", "sounds", "fonts", "caches", "loop"):
        (out / folder).mkdir()
    for name in ("textures/wood.png", "textures/col.1001.png", "textures/col.1002.png", "plates_v2/plate.0001.png",
                 "plates_v2/plate.0002.png", "plates_v2/plate.0003.png", "caches/wave.mdd", "caches/ring.mdd"):
        (out / name).write_bytes(b"data")
    (out / "assets" / "maps").mkdir(parents=True)
    (out / "assets" / "maps" / "decal.png").write_bytes(b"png")
    done = subprocess.run(
        [sys.executable, "-c", MAKE_SCENES, str(out)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_blender_settings(blend_dir: Path) -> None:
    info = analyze_scene(blend_dir / "shot.blend").scene_info
    assert info.scene_type == "blender"
    assert info.software_version and info.software_version.startswith(("4.", "5."))
    assert (info.renderer, info.start, info.end, info.by_frame, info.current_frame) == ("CYCLES", 5, 42, 2, 7)
    assert (info.width, info.height) == (640, 360)
    assert (info.image_prefix, info.image_format) == ("//render/shot_", "OPEN_EXR")
    assert info.cameras == ("ShotCam",)
    assert [(layer.name, layer.renderable) for layer in info.render_layers] == [("ViewLayer", True)]
    assert info.animation is True and info.fps == 24.0


def test_blender_dependencies(blend_dir: Path) -> None:
    result = analyze_scene(blend_dir / "shot.blend")
    deps = {(d.kind, d.node, d.path): d for d in result.dependencies}
    wood = deps["image", "wood", "//textures/wood.png"]
    assert wood.exists and wood.files == ((blend_dir / "textures" / "wood.png").as_posix(),)
    gone = deps["image", "gone", "//textures/missing.png"]
    assert not gone.exists
    tiles = deps["image", "tiles", "//textures/col.<UDIM>.png"]
    assert [Path(f).name for f in tiles.files] == ["col.1001.png", "col.1002.png"]
    # Only the file name's number is the frame, not the folder's.
    plate = deps["image", "plate", "//plates_v2/plate.0001.png"]
    assert [Path(f).name for f in plate.files] == ["plate.0001.png", "plate.0002.png", "plate.0003.png"]
    library = deps["library", "prop.blend", "//assets/prop.blend"]
    assert library.exists and library.node_type == "Library"
    # The linked file's own image resolves relative to that file, not to the shot.
    decal = deps["image", "decal", "//maps/decal.png"]
    assert decal.exists and decal.source == str(blend_dir / "assets" / "prop.blend")
    sound = deps["sound", "hit.wav", "//sounds/hit.wav"]
    assert sound.files == ((blend_dir / "sounds" / "hit.wav").as_posix(),)
    font = next(d for d in result.dependencies if d.kind == "font")
    assert font.path == "//fonts/title.woff2" and font.exists and font.node_type == "VFont"
    cache = deps["mesh_cache", "Wave.modifiers[0]", "//caches/wave.mdd"]
    assert cache.exists and cache.node_type == "MeshCacheModifierData"
    assert result.missing == [{"gone.filepath": "//textures/missing.png"}]
    assert result.can_render


def test_libraries_that_link_each_other(blend_dir: Path) -> None:
    """Each file lists the other once, neither lists itself, and Ring's cache is read from a.blend either way."""
    loop = blend_dir / "loop"
    for scene, other in (("a.blend", "b.blend"), ("b.blend", "a.blend")):
        deps = analyze_scene(loop / scene).dependencies
        assert [(d.path, d.source) for d in deps if d.kind == "library"] == [(f"//{other}", str(loop / scene))]
        caches = [(d.node, d.exists, d.source) for d in deps if d.kind == "mesh_cache"]
        assert caches == [("Ring.modifiers[0]", True, str(loop / "a.blend"))]


def test_an_unreadable_library_is_a_tip(blend_dir: Path, tmp_path: Path) -> None:
    """The scene is still read; the library is listed, and named in a tip as not readable."""
    shutil.copytree(blend_dir, tmp_path / "copy")
    (tmp_path / "copy" / "assets" / "prop.blend").write_bytes(b"BLENDER-v279 but not really")
    result = analyze_scene(tmp_path / "copy" / "shot.blend")
    tips = {tip.code: tip for tip in result.tips}
    assert "prop.blend" in tips["unreadable_library"].message
    kinds = {(d.kind, d.node) for d in result.dependencies}
    assert ("library", "prop.blend") in kinds and ("image", "wood") in kinds
    assert ("image", "decal") not in kinds  # it is in the library that cannot be read
    assert result.scene_info.renderer == "CYCLES"


def test_a_missing_library_is_reported_once_as_missing_not_logged(
    blend_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The tracer's own warning about the absent library would repeat the missing dependency."""
    shutil.copytree(blend_dir, tmp_path / "copy")
    (tmp_path / "copy" / "assets" / "prop.blend").unlink()
    with caplog.at_level(logging.WARNING):
        result = analyze_scene(tmp_path / "copy" / "shot.blend")
    library = next(d for d in result.dependencies if d.kind == "library")
    assert (library.path, library.exists) == ("//assets/prop.blend", False)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("blender_asset_tracer")] == []


def test_blender_without_camera_cannot_render(blend_dir: Path) -> None:
    result = analyze_scene(blend_dir / "nocamera.blend")
    assert result.scene_info.cameras == ()
    assert not result.can_render
    assert "no_renderable_camera" in {tip.code for tip in result.tips}


@pytest.mark.parametrize("content", [b"", b"BLENDER-v500garbage", bytes(range(256)) * 20])
def test_not_a_blend_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.blend"
    path.write_bytes(content)
    with pytest.raises(AnalysisError):
        analyze_scene(path)


def test_truncated_blend_file(blend_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.blend"
    path.write_bytes((blend_dir / "shot.blend").read_bytes()[:3000])
    with pytest.raises(AnalysisError, match="cut.blend"):
        analyze_scene(path)
