"""Each row of the input-attribute table, and the paths that are not inputs, in scenes written here."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rfarm.analysis import analyze_scene
from rfarm.analysis.maya_nodes import INPUT_ATTRS

pytest_plugins = ["scene_fixtures"]

WriteMa = Callable[..., Path]

ROWS = [
    (renderer, node_type, attr, kind)
    for renderer, table in INPUT_ATTRS.items()
    for node_type, attrs in table.items()
    for attr, kind in attrs.items()
]


@pytest.mark.parametrize(("renderer", "node_type", "attr", "kind"), ROWS,
                         ids=[f"{r}-{t}.{a}" for r, t, a, _ in ROWS])
def test_each_input_attribute_is_a_dependency(write_ma: WriteMa, tmp_path: Path, renderer: str, node_type: str,
                                              attr: str, kind: str) -> None:
    data = tmp_path / "data" / "input.bin"
    data.parent.mkdir()
    data.write_bytes(b"x")
    body = f'createNode {node_type} -n "holder";\n\tsetAttr ".{attr}" -type "string" "{data.as_posix()}";\n'
    result = analyze_scene(write_ma("scene.ma", body), env={})
    deps = [(d.kind, d.node, d.node_type, d.attr) for d in result.dependencies]
    assert deps == [(kind, "holder", node_type, attr)]
    assert (result.dependencies[0].path, result.dependencies[0].exists) == (data.as_posix(), True)


def test_settings_outputs_and_search_paths_are_not_inputs(write_ma: WriteMa, tmp_path: Path) -> None:
    scene = tmp_path / "shot.ma"
    body = (
        'select -ne :defaultRenderGlobals;\n'
        '\tsetAttr ".ren" -type "string" "vray";\n'
        '\tsetAttr ".ifp" -type "string" "D:/renders/<Scene>/beauty.exr";\n'
        'createNode VRaySettingsNode -s -n "vraySettings";\n'
        f'\tsetAttr ".mSceneName" -type "string" "{scene.as_posix()}";\n'
        '\tsetAttr ".fnprx" -type "string" "D:/renders/shot.exr";\n'
        'createNode aiOptions -s -n "defaultArnoldRenderOptions";\n'
        '\tsetAttr ".texture_searchpath" -type "string" "D:/proj/sourceimages/tex.tx";\n'
        '\tsetAttr ".procedural_searchpath" -type "string" "D:/proj/ass/crowd.ass";\n'
        'createNode RedshiftOptions -s -n "redshiftOptions";\n'
        '\tsetAttr ".irradiancePointCloudFilename" -type "string" "D:/cache/ipc.rsmap";\n'
        'select -ne :defaultColorMgtGlobals;\n'
        '\tsetAttr ".cfp" -type "string" "<MAYA_RESOURCES>/OCIO-configs/Maya2022-default/config.ocio";\n'
        'createNode file -n "tex";\n'
        '\tsetAttr ".ftn" -type "string" "D:/proj/sourceimages/wood.png";\n'
        '\tsetAttr ".cmcp" -type "string" "D:/proj/ocio/config.ocio";\n'
        f'createNode myPluginNode -n "plug";\n\tsetAttr ".selfName" -type "string" "{scene.as_posix()}";\n'
    )
    result = analyze_scene(write_ma("shot.ma", body), env={})
    assert [(d.node, d.attr) for d in result.dependencies] == [("tex", "ftn")]
    assert not any(t.code in ("unknown_path_attribute", "ocio_config") for t in result.tips)


def test_a_path_on_an_unknown_attribute_is_a_tip(write_ma: WriteMa) -> None:
    body = (
        'createNode myPluginNode -n "plug";\n\tsetAttr ".dataFile" -type "string" "/mnt/lib/lut.cube.exr";\n'
        'createNode file -n "tex";\n\tsetAttr ".notes" -type "string" "/mnt/lib/reference.png";\n'
        'createNode myPluginNode -n "label";\n\tsetAttr ".title" -type "string" "hero shot";\n'
    )
    result = analyze_scene(write_ma("a.ma", body), env={})
    assert result.dependencies == ()
    tip = next(t for t in result.tips if t.code == "unknown_path_attribute")
    assert tip.level == "info"
    assert "plug.dataFile = /mnt/lib/lut.cube.exr" in tip.message and "tex.notes = /mnt/lib/reference.png" in tip.message
    assert "hero shot" not in tip.message


def test_the_table_has_a_row_for_each_renderer() -> None:
    assert set(INPUT_ATTRS) == {"maya", "arnold", "renderman", "vray", "redshift", "3delight", "mentalray", "elara",
                                "plugins"}


def test_elara_and_3delight_scenes_send_mayas_file_nodes_and_not_their_settings(write_ma: WriteMa,
                                                                                tmp_path: Path) -> None:
    """Both render Maya's own file nodes; their settings nodes hold outputs, not inputs."""
    texture = tmp_path / "sourceimages" / "wood.png"
    texture.parent.mkdir()
    texture.write_bytes(b"x")
    body = (
        'createNode eiOptions -s -n "defaultElaraRenderOptions";\n'
        '\tsetAttr ".version" -type "string" "1.4.2";\n'
        '\tsetAttr ".ipr_output" -type "string" "D:/renders/ipr/frame.exr";\n'
        'createNode delightRenderPass -n "basicRenderPass";\n'
        '\tsetAttr ".displayFilenames" -type "string" "D:/renders/<scene>_<pass>_#.exr";\n'
        'createNode file -n "tex";\n'
        f'\tsetAttr ".ftn" -type "string" "{texture.as_posix()}";\n'
    )
    result = analyze_scene(write_ma("shot.ma", body), env={})
    assert [(d.node, d.attr, d.exists) for d in result.dependencies] == [("tex", "ftn", True)]
    assert not any(t.code == "unknown_path_attribute" for t in result.tips)
