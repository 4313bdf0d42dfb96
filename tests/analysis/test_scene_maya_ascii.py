"""Maya ASCII details: the traps real files show, projects, references and resolution."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rfarm.analysis import analyze_scene

pytest_plugins = ["scene_fixtures"]

WriteMa = Callable[..., Path]  # the write_ma fixture


def deps_of(result: object) -> list[tuple[str, str, str, str]]:
    return [(d.kind, d.node, d.attr, d.path) for d in result.dependencies]  # type: ignore[attr-defined]


def test_traps_settings(scene_data: Path) -> None:
    info = analyze_scene(scene_data / "traps.ma", env={}).to_dict()["scene_info"]
    assert info == {
        "scene_type": "maya",
        "path": str(scene_data / "traps.ma"),
        "software_version": "2018ff09",
        "renderer": "redshift",
        # `setAttr -k on ".fs";` sets nothing; the later `-av -k on ".fs" 1001` does.
        "start": 1001,
        "end": 1100.5,
        "by_frame": 2,
        "animation": True,
        "current_frame": 1001,
        # vraySettings .wi/.he and the image plane's .w/.h are not the resolution.
        "width": 1920,
        "height": 1080,
        "image_prefix": "<Scene>/<RenderLayer>/<RenderLayer>",
        "image_format": "exr",
        "cameras": ["shotCam"],
        "render_layers": [{"name": "defaultRenderLayer", "renderable": True, "render_setup_layer": None, "overrides": {}}],
        "time_unit": "80fps",
        "fps": 80.0,
        # requires before the file lines, repeated, over several lines, with a trailing space.
        "plugins": {
            "fbxmaya": "2020.3.9", "mtoa": "3.1.2", "stereoCamera": "10.0",
            "redshift4maya": "3.0.46", "vrayformaya": "5",
        },
        "defaulted": ["render_layers"],
    }


def test_traps_dependencies(scene_data: Path) -> None:
    result = analyze_scene(scene_data / "traps.ma", env={})
    assert deps_of(result) == [
        ("image_plane", "imagePlaneShape1", "imn", "D:/WS Micro Film/plates/plate.####.jpg"),
        ("texture", "cup1:file1", "ftn", "C:/Users/me/_3D Projects/Maya//sourceimages/cup.png"),
        ("texture", "file3", "ftn", "C:/Users/me/_3D Projects/Maya//sourceimages/cup.png"),
        ("texture", "winFile", "ftn", "G:\\Artfx\\textures\\wall diffuse.tif"),
        ("texture", "envFile", "ftn", "${SLiBLib}/wood/oak_<UDIM>.exr"),
        ("alembic", "crate_AlembicNode", "fn", "/data/cache/crate.abc"),
        ("alembic", "crate_AlembicNode", "fns[0]", "/data/cache/crate.abc"),
        ("alembic", "crate_AlembicNode", "fns[1]", "/data/cache/crate_layer.abc"),
        ("proxy", "rsProxy1", "fn", "H:/proxies/tree.####.rs"),
        ("texture", "rsDomeLightShape1", "tex0", "H:/hdri/sky.hdr"),
        ("materialx", "mtlx1", "filename", "looks/bottle.mtlx"),
        # A reference edit overrides the referenced file node's texture.
        ("texture", "char:file1", "fileTextureName", "G:/proj/textures/override.png"),
        # The reference tree: `file -r` lines, then the nested references only the
        # -rdi lines name (char_rig.mb is absent), each file once (charRN1 is a copy of
        # charRN); not the -op INCL list, nor the unloaded (-rdi ... -dr 1) reference.
        ("reference", "charRN", "", "G:/proj/assets/char/char_rig.mb"),
        ("reference", "crowdRN", "", "G:/proj/cache/crowd.abc"),
        ("reference", "char:modelRN", "", "G:/proj/assets/char/char_model.ma"),
        ("reference", "char:model:lineColorRN", "", "G:/proj/assets/char/line.ma"),
    ]
    refs = [d for d in result.dependencies if d.kind == "reference"]
    assert [(d.depth, d.via) for d in refs] == [
        (1, str(scene_data / "traps.ma")), (1, str(scene_data / "traps.ma")),
        (2, "G:/proj/assets/char/char_rig.mb"), (3, "G:/proj/assets/char/char_model.ma"),
    ]
    assert refs[0].also == (("G:/proj/assets/char/char_rig.mb{1}", str(scene_data / "traps.ma")),)
    winfile = result.dependencies[3]
    assert winfile.resolved == "G:/Artfx/textures/wall diffuse.tif"
    assert refs[0].resolved == "G:/proj/assets/char/char_rig.mb"
    codes = {tip.code: tip for tip in result.tips}
    assert set(codes) == {
        "missing_files", "missing_reference", "local_path", "unknown_variable", "unloaded_reference", "script_nodes",
        "unknown_path_attribute",
    }
    # A path on an attribute the table does not know is a tip, not an input.
    assert "custom1.dataFile = K:/plugin/data/lut.ocio" in codes["unknown_path_attribute"].message
    assert "line.ma (needed by " + " > ".join(
        (str(scene_data / "traps.ma"), "G:/proj/assets/char/char_rig.mb", "G:/proj/assets/char/char_model.ma")
    ) in codes["missing_reference"].message
    assert "$SLiBLib" in codes["unknown_variable"].message
    assert "oldRN" in codes["unloaded_reference"].message
    assert "loadStuff" in codes["script_nodes"].message
    assert result.can_render


def test_project_resolution(scene_data: Path) -> None:
    project = scene_data / "project"
    result = analyze_scene(project / "scenes" / "shot.ma", env={}, path_map=[("p:\\show", str(project))])
    by_node = {d.node: d for d in result.dependencies}
    images = project.resolve() / "Images"
    # uvTilingMode 3 reads the UDIM from the name; the workspace maps sourceImages to Images.
    assert by_node["col"].files == tuple(f"{images.as_posix()}/col.{tile}.exr" for tile in (1001, 1002, 1011))
    # useFrameExtension: the last number is the frame.
    assert len(by_node["plateShape"].files) == 3
    assert by_node["anim_abc"].resolved == (project.resolve() / "cache/alembic/anim.abc").as_posix()
    assert by_node["beat"].exists
    # The P:/ rule (case-insensitive, either slash) maps onto the project.
    assert by_node["mapped"].exists and len(by_node["mapped"].files) == 3
    # {1} copy numbers are stripped: the copy is the same file, listed once and read once;
    # its nodes get the namespace.
    assert by_node["propRN"].exists and "propRN1" not in by_node
    assert by_node["propRN"].also == (("assets/prop.ma{1}", str((project / "scenes/shot.ma").resolve())),)
    assert by_node["prop:file1"].exists and by_node["prop:file1"].source == str((project / "assets/prop.ma").resolve())
    assert not by_node["prop:file2"].exists
    # prop.ma references shot.ma back: a loop, not read again, and the scene is not its own input.
    assert "prop:shotRN" not in by_node
    assert result.missing == [{"prop:file2.ftn": "prop_missing.png"}]
    assert {tip.code for tip in result.tips} == {"missing_files", "reference_loop"}
    # The referenced file's render settings (vray) do not count.
    assert result.scene_info.renderer == "arnold"
    assert (result.scene_info.start, result.scene_info.end, result.scene_info.fps) == (1001, 1024, 30.0)


def test_explicit_project_overrides_the_search(scene_data: Path, tmp_path: Path) -> None:
    shot = scene_data / "project" / "scenes" / "shot.ma"
    result = analyze_scene(shot, project=tmp_path, env={})
    assert not {d.node: d for d in result.dependencies}["col"].exists


def test_environment_variables(write_ma: WriteMa, tmp_path: Path) -> None:
    (tmp_path / "lib" / "wood").mkdir(parents=True)
    (tmp_path / "lib" / "wood" / "oak.png").write_bytes(b"x")
    scene = write_ma(
        "env.ma",
        'createNode file -n "a";\n\tsetAttr ".ftn" -type "string" "$LIB/wood/oak.png";\n'
        'createNode file -n "b";\n\tsetAttr ".ftn" -type "string" "${LIB}/wood/oak.png";\n'
        'createNode file -n "c";\n\tsetAttr ".ftn" -type "string" "%LIB%/wood/oak.png";\n',
    )
    result = analyze_scene(scene, env={"LIB": str(tmp_path / "lib")})
    assert [d.exists for d in result.dependencies] == [True, True, False]


def test_long_names_explicit_nodes_and_crlf(write_ma: WriteMa) -> None:
    body = (
        'createNode file -name "tex" -skipSelect;\r\n'
        '\tsetAttr -keyable on ".fileTextureName" -type "string" "tex/a.png";\r\n'
        'createNode transform -n "other";\r\n'
        'setAttr "tex.uvTilingMode" 3;\r\n'
        'setAttr ":defaultRenderGlobals.startFrame" 12;\r\n'
        'select -ne :defaultRenderGlobals;\r\n'
        '\tsetAttr ".currentRenderer" -type "string" "vray";\r\n'
        '\tsetAttr ".endFrame" 48;\r\n'
        '\tsetAttr ".animation" on;\r\n'
        'createNode VRaySettingsNode -s -n "vraySettings";\r\n'
        '\tsetAttr ".fnprx" -type "string" "shots/<Layer>";\r\n'
        '\tsetAttr ".imgfs" -type "string" "exr (multichannel)";\r\n'
    )
    result = analyze_scene(write_ma("long.ma", body), env={})
    info = result.scene_info
    assert (info.renderer, info.start, info.end, info.animation) == ("vray", 12, 48, True)
    assert (info.image_prefix, info.image_format) == ("shots/<Layer>", "exr (multichannel)")
    assert deps_of(result) == [("texture", "tex", "fileTextureName", "tex/a.png")]


def test_render_errors(write_ma: WriteMa) -> None:
    body = (
        'createNode transform -n "cam";\ncreateNode camera -n "camShape" -p "cam";\n\tsetAttr ".rnd" no;\n'
        'createNode renderLayer -n "defaultRenderLayer";\n\tsetAttr ".rndr" no;\n'
        'select -ne :defaultRenderGlobals;\n\tsetAttr ".fs" 20;\n\tsetAttr ".ef" 10;\n'
    )
    result = analyze_scene(write_ma("bad.ma", body, camera=False), env={})
    assert not result.can_render
    errors = [tip.code for tip in result.tips if tip.level == "error"]
    assert errors == ["no_renderable_camera", "no_renderable_layer", "end_before_start"]
    assert result.tips[0].level == "error"


@pytest.mark.parametrize(
    ("version", "size"), [("2012", (640, 480)), ("2014", (640, 480)), ("2018ff09", (960, 540)), ("2025ff03", (960, 540))]
)
def test_resolution_defaults_follow_the_version(write_ma: WriteMa, version: str, size: tuple[int, int]) -> None:
    info = analyze_scene(write_ma("v.ma", "", version=version), env={}).scene_info
    assert (info.width, info.height) == size
    assert {"width", "height"} <= set(info.defaulted)


def test_windows_code_page_strings(tmp_path: Path) -> None:
    scene = tmp_path / "cp.ma"
    scene.write_bytes(
        b'//Maya ASCII 2020 scene\n//Codeset: 1252\ncreateNode file -n "f";\n'
        b'\tsetAttr ".ftn" -type "string" "C:/textures/caf\xe9.png";\n'
    )
    (dep,) = analyze_scene(scene, env={}).dependencies
    assert dep.path == "C:/textures/café.png"


def test_declared_code_page(tmp_path: Path) -> None:
    scene = tmp_path / "jp.ma"
    scene.write_bytes(
        b'//Maya ASCII 2019 scene\n//Name: jp.ma\n//Codeset: 932\ncreateNode file -n "f";\n'
        b'\tsetAttr ".ftn" -type "string" "' + "C:/テクスチャ/木.png".encode("cp932") + b'";\n'
    )
    (dep,) = analyze_scene(scene, env={}).dependencies
    assert dep.path == "C:/テクスチャ/木.png"


def test_assembly_representations(write_ma: WriteMa) -> None:
    body = (
        'createNode assemblyDefinition -n "AD";\n'
        '\tsetAttr ".rep[0].rty" -type "string" "Locator";\n'
        '\tsetAttr ".rep[0].rda" -type "string" "Annotation: set.ma";\n'
        '\tsetAttr ".rep[1].rty" -type "string" "Scene";\n'
        '\tsetAttr ".rep[1].rda" -type "string" "set.ma";\n'
        '\tsetAttr ".rep[2].rty" -type "string" "Cache";\n'
        '\tsetAttr ".rep[2].rla" -type "string" "set.abc";\n'
        '\tsetAttr ".rep[2].rda" -type "string" "cache/set.abc";\n'
    )
    result = analyze_scene(write_ma("ad.ma", body), env={})
    assert deps_of(result) == [
        ("assembly", "AD", "rep[1].rda", "set.ma"),
        ("assembly", "AD", "rep[2].rda", "cache/set.abc"),
    ]


@pytest.mark.parametrize(
    ("node", "attr", "value", "kind"),
    [
        ("xgmPalette", "xfn", "hair/groom__collection.xgen", "xgen"),
        ("pgYetiMaya", "cacheFileName", "fur/groom.%04d.fur", "yeti"),
        ("VRayMesh", "fileName", "proxies/tree.vrmesh", "proxy"),
        ("audio", "f", "sound/beat.wav", "audio"),
        ("aiVolume", "filename", "vdb/smoke.####.vdb", "volume"),
        ("aiPhotometricLight", "aiFilename", "ies/spot.ies", "ies"),
        ("mayaUsdProxyShape", "fp", "usd/set.usda", "usd"),
        ("RedshiftIESLight", "profile", "ies/spot.ies", "ies"),
    ],
)
def test_dependency_table(write_ma: WriteMa, node: str, attr: str, value: str, kind: str) -> None:
    body = f'createNode {node} -n "n1";\n\tsetAttr ".{attr}" -type "string" "{value}";\n'
    assert deps_of(analyze_scene(write_ma("t.ma", body), env={})) == [(kind, "n1", attr, value)]


def test_cache_files_and_an_ocio_config_that_is_configuration(write_ma: WriteMa) -> None:
    body = (
        'createNode cacheFile -n "clothCache1";\n'
        '\tsetAttr ".cp" -type "string" "cache/nCache/shot";\n'
        '\tsetAttr ".cn" -type "string" "clothShape1";\n'
        'select -ne :defaultColorMgtGlobals;\n'
        '\tsetAttr ".cfp" -type "string" "/studio/ocio/aces_1.2/config.ocio";\n'
    )
    result = analyze_scene(write_ma("c.ma", body), env={})
    assert deps_of(result) == [("cache", "clothCache1", "cp", "cache/nCache/shot/clothShape1.xml")]
    assert "/studio/ocio/aces_1.2/config.ocio" in next(t for t in result.tips if t.code == "ocio_config").message
