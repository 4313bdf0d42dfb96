"""The Maya plug-in's logic through FakeMayaCmds (a test double of maya.cmds, see fake_maya_cmds.py):
the dialog builds the request ``rfarm submit`` builds for the same scene and settings, and
Maya's view of the open scene is compared with the offline analysis."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_maya_cmds import FakeMayaCmds  # noqa: E402

from rfarm.errors import UsageError  # noqa: E402
from rfarm.integrations import maya, submitting  # noqa: E402
from rfarm.submit import flow, submission  # noqa: E402

SCENE = """//Maya ASCII 2022 scene
//Codeset: UTF-8
requires maya "2022";
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
	setAttr ".rnd" yes;
createNode file -n "wood";
	setAttr ".ftn" -type "string" "sourceimages/wood.png";
createNode renderLayer -n "defaultRenderLayer";
	setAttr ".rndr" yes;
select -ne :defaultRenderGlobals;
	setAttr ".ren" -type "string" "arnold";
	setAttr ".an" yes;
	setAttr ".fs" 1;
	setAttr ".ef" 24;
	setAttr ".ifp" -type "string" "shot/<RenderLayer>";
select -ne :defaultResolution;
	setAttr ".w" 1280;
	setAttr ".h" 720;
"""


def fake_for(scene: Path, **changes: Any) -> FakeMayaCmds:
    """What maya.cmds answers for SCENE opened in Maya (``changes``: attributes changed in Maya since)."""
    texture = str(scene.parent / "sourceimages" / "wood.png")
    attrs = {
        "defaultRenderGlobals.currentRenderer": "arnold", "defaultRenderGlobals.startFrame": 1.0,
        "defaultRenderGlobals.endFrame": 24.0, "defaultRenderGlobals.byFrameStep": 1.0,
        "defaultRenderGlobals.animation": True, "defaultRenderGlobals.imageFilePrefix": "shot/<RenderLayer>",
        "defaultResolution.width": 1280, "defaultResolution.height": 720,
        "perspShape.renderable": True, "defaultRenderLayer.renderable": True,
        "wood.fileTextureName": "sourceimages/wood.png",
    }
    attrs.update(changes)
    return FakeMayaCmds(str(scene), attrs, {"camera": ["perspShape"], "renderLayer": ["defaultRenderLayer"],
                                            "renderSetupLayer": [], "file": ["wood"]},
                        files=[texture], parents={"perspShape": "persp"}, modified=bool(changes))


@pytest.fixture
def scene(tmp_path: Path, home: Path) -> Path:
    path = tmp_path / "proj" / "shot.ma"
    (path.parent / "sourceimages").mkdir(parents=True)
    (path.parent / "sourceimages" / "wood.png").write_bytes(b"png")
    path.write_text(SCENE, encoding="utf-8")
    return path


def test_the_dialog_builds_the_request_rfarm_submit_builds(scene: Path) -> None:
    settings = submitting.PanelSettings(frames="1-10", test_frames="5", priority="high", chunk=2, ram_gb=16, gpus=1,
                                        tags="fx, gpu", stop_after_test=True)
    prepared = maya.prepare(fake_for(scene), settings)
    cli = submission.build_request(  # what `rfarm submit shot.ma --frames 1-10 --test-frame 5 ...` builds
        str(scene), frames="1-10", test_frames=["5"], priority="high", chunk=2, ram_gb=16, gpus=1,
        tags=["fx", "gpu"], stop_after_test=True, analysis=flow.analyse_if_readable(str(scene)))
    assert prepared.request == cli
    assert prepared.request.options == {"width": 1280, "height": 720} and prepared.request.renderer == "maya"
    assert prepared.differences == []


def test_the_scene_range_is_the_default_as_in_the_cli(scene: Path) -> None:
    prepared = maya.prepare(fake_for(scene), submitting.PanelSettings())
    assert prepared.request.frames == list(range(1, 25))
    assert prepared.request == submission.build_request(str(scene), analysis=flow.analyse_if_readable(str(scene)))


def test_maya_view_reads_settings_layers_and_files(scene: Path) -> None:
    view = maya.read_scene(fake_for(scene))
    assert (view.renderer, view.start, view.end, view.width, view.height) == ("arnold", 1.0, 24.0, 1280, 720)
    assert view.cameras == ("persp",) and view.render_layers == (("defaultRenderLayer", True),)
    assert view.files == (str(scene), str(scene.parent / "sourceimages" / "wood.png"))
    assert view.file_nodes == (("wood", "sourceimages/wood.png"),)


def test_unsaved_changes_are_refused_or_saved_first_and_differences_listed(scene: Path) -> None:
    cmds = fake_for(scene, **{"defaultRenderGlobals.endFrame": 48.0, "wood.fileTextureName": "sourceimages/oak.png"})
    with pytest.raises(UsageError, match="unsaved changes"):
        maya.prepare(cmds, submitting.PanelSettings())
    assert cmds.saved == 0
    cmds = fake_for(scene, **{"defaultRenderGlobals.endFrame": 48.0, "wood.fileTextureName": "sourceimages/oak.png"})
    prepared = maya.prepare(cmds, submitting.PanelSettings(), save_first=True)
    assert cmds.saved == 1
    # the fake's file on disk was not rewritten by its save, so the offline analysis still reads 1-24 and wood.png
    assert prepared.differences == [
        "frame range: Maya says 1-48, the file says 1-24",
        "wood.fileTextureName: Maya reads sourceimages/oak.png, the file does not",
        "wood.fileTextureName: the file reads sourceimages/wood.png, Maya does not",
    ]


def test_an_untitled_scene_is_refused(scene: Path) -> None:
    cmds = fake_for(scene)
    cmds.scene = ""
    with pytest.raises(UsageError, match="never saved"):
        maya.prepare(cmds, submitting.PanelSettings())


def test_the_dialog_submits_to_the_embedded_farm(scene: Path, farm: Any) -> None:
    settings = submitting.PanelSettings(frames="1-3", test_frames="2")
    prepared = maya.prepare(fake_for(scene), settings)
    outcome = maya.submit_prepared(prepared, settings)
    assert outcome.task_id >= 1 and outcome.link == ""
    assert outcome.uploaded is not None and outcome.uploaded["uploaded"] == 2  # the scene and its texture
