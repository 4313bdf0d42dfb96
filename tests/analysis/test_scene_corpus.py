"""Every real scene in ../shared/corpus/maya gives what a careful reading of it gives.

Each expectation was written from reading the file itself (the header, the
requires lines, the default nodes' blocks, every string attribute holding a path).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rfarm.analysis import analyze_scene

pytest_plugins = ["scene_fixtures"]
pytestmark = pytest.mark.corpus("maya")

DEFAULT_LAYER = [{"name": "defaultRenderLayer", "renderable": True, "render_setup_layer": None, "overrides": {}}]

EXPECTED: dict[str, dict[str, Any]] = {
    # FOR4, Maya 2009: mentalRay, .an 1.0, .outf 8.0 (JPEG), .ifp "img", time1.o = 250 ticks
    # at 6000 ticks/s and film (24 fps) = frame 1; no fs/ef/w/h chunks, so Maya 2009's defaults.
    "CGRU__cgru__scene.mb": {
        "info": {
            "software_version": "2009", "renderer": "mentalRay", "start": 1, "end": 10,
            "by_frame": 1, "animation": True, "current_frame": 1, "width": 640, "height": 480,
            "image_prefix": "img", "image_format": "jpg", "cameras": ["persp"],
            "render_layers": DEFAULT_LAYER, "time_unit": "film", "fps": 24.0,
            "plugins": {"Mayatomr": "10.0.1.8m - 3.7.1.26"},
            "defaulted": ["start", "end", "by_frame", "width", "height"],
        },
        "deps": [],
        "can_render": True,
    },
    # An assembly definition: no camera and no render layer nodes at all; .ren arnold and
    # .outf 8. The Scene and Cache representations name files; the Locator one is an
    # annotation, and .icn (icon) and .cdat (a date) are not inputs.
    "danOrzc__AssetGallery__AbandonedBuilding_AD.ma": {
        "info": {
            "software_version": "2020", "renderer": "arnold", "start": 1, "end": 10,
            "by_frame": 1, "animation": False, "current_frame": 1, "width": 960, "height": 540,
            "image_prefix": "", "image_format": "jpg", "cameras": [],
            "render_layers": DEFAULT_LAYER, "time_unit": "film",
            "plugins": {"mtoa": "4.0.0", "sceneAssembly": "1.0"},
            "defaulted": ["start", "end", "by_frame", "animation", "width", "height", "image_prefix", "render_layers"],
        },
        "deps": [
            ("assembly", "AbandonedBuildingAssembly", "rep[1].rda",
             "C:/Users/dog_d/Desktop/AssetGallery/Assets/AbandonedBuilding/AbandonedBuilding.ma"),
            ("assembly", "AbandonedBuildingAssembly", "rep[2].rda",
             "C:/Users/dog_d/Desktop/AssetGallery/Assets/AbandonedBuilding/AbandonedBuilding.abc"),
        ],
        "can_render": False,
        "tips": {"no_renderable_camera", "local_path", "missing_files", "animation_off"},
    },
    # No defaultRenderGlobals block at all; defaultResolution 1920x1080; -t pal; time1.o 1028.
    # One loaded reference (the -rdi line has no -dr); the reference node's .fn[0] is history.
    "getavalon__examples__anim_v012.ma": {
        "info": {
            "software_version": "2016ff07", "renderer": "mayaSoftware", "start": 1, "end": 10,
            "by_frame": 1, "animation": False, "current_frame": 1028, "width": 1920,
            "height": 1080, "image_prefix": "", "image_format": "iff", "cameras": ["persp"],
            "render_layers": DEFAULT_LAYER, "time_unit": "pal", "fps": 25.0, "plugins": {},
            "defaulted": ["renderer", "start", "end", "by_frame", "animation", "image_prefix", "image_format"],
        },
        "deps": [
            ("reference", "Bruce_01_RN", "",
             "$AVALON_PROJECTS/batman/assets/Bruce/publish/rigDefault/v001/rigDefault.ma"),
        ],
        "can_render": True,
        "tips": {"unknown_variable", "missing_files", "missing_reference", "animation_off"},
    },
    # Maya 2014, the Indigo renderer; indigoGlobals holds output folders, not inputs.
    "haggi__OpenMaya__mayaToIndigo_firstOne.ma": {
        "info": {
            "software_version": "2014", "renderer": "Indigo", "start": 1, "end": 10,
            "by_frame": 1, "animation": False, "current_frame": 1, "width": 640, "height": 480,
            "image_prefix": "", "image_format": "iff", "cameras": ["persp"],
            "render_layers": DEFAULT_LAYER, "time_unit": "film",
            "plugins": {"mayatoindigo": "0.11"},
            "defaulted": ["start", "end", "by_frame", "animation", "width", "height", "image_prefix", "image_format"],
        },
        "deps": [
            ("texture", "file1", "ftn",
             "H:/UserDatenHaggi/Documents/coding/OpenMaya/src/mayaToIndigo/mayaToIndigoExamples//sourceimages/checker_s.jpg"),
        ],
        "can_render": True,
    },
    # Flag-only lines (setAttr -k on ".fs";) set nothing: fs/ef/bfs take the defaults.
    # CameraShape is .rnd no, so only persp renders; time1.o is 10.
    "sebastienblor__arnold-usd__test_0056_test.ma": {
        "info": {
            "software_version": "2011", "renderer": "arnold", "start": 1, "end": 10,
            "by_frame": 1, "animation": False, "current_frame": 10, "width": 160, "height": 120,
            "image_prefix": "testrender", "image_format": "tif", "cameras": ["persp"],
            "render_layers": DEFAULT_LAYER, "time_unit": "film",
            "plugins": {"mtoa": "0.14.0", "Mayatomr": "2011.0m - 3.8.1.33", "stereoCamera": "10.0"},
            "defaulted": ["start", "end", "by_frame", "animation"],
        },
        "deps": [
            ("standin", "ArnoldStandInShape", "dso",
             "C:/solidAngle/mtoa/mtoa-main/testsuite/test_0056/data/NoLightNoLink.ass"),
            ("standin", "ArnoldStandIn2Shape", "dso",
             "C:/solidAngle/mtoa/mtoa-main/testsuite/test_0056/data/NoLightNoLink.ass"),
        ],
        "can_render": True,
    },
    # Nine file textures with Arnold tokens, two of them duplicated paths.
    "sebastienblor__arnold-usd__test_0070_test.ma": {
        "info": {
            "software_version": "2017ff05", "renderer": "arnold", "width": 160, "height": 120,
            "image_prefix": "testrender", "image_format": "tif", "cameras": ["persp"],
            "plugins": {"mtoa": "2.1.1.wip", "stereoCamera": "10.0"},
            "defaulted": ["start", "end", "by_frame", "animation"],
        },
        "deps": [
            ("texture", "file_udim", "ftn", "./test/mari.<udim>.tif"),
            ("texture", "file_tile", "ftn", "./test/mudbox.<tile>.tif"),
            ("texture", "pasted__file1", "ftn", "./test/mari.<udim>.tif"),
            ("texture", "file_attr", "ftn", "./test/mari.<attr:myString>.tif"),
            ("texture", "file_utile_vtile", "ftn", "./test/mudbox._u<utile>_v<vtile>.tif"),
            ("texture", "file_shapeName", "ftn", "./test/mari.<shapeName>.tif"),
            ("texture", "pasted__file5", "ftn", "./test/mari.<shapeName>.tif"),
            ("texture", "pasted__file6", "ftn", "./test/mari.<shapeName>.tif"),
            ("texture", "file_shapePath", "ftn", "./test/mari.<shapePath>.tif"),
        ],
        "can_render": True,
    },
    # Legacy render layers: the master layer is .rndr no, the eight gradient layers render.
    "sebastienblor__arnold-usd__test_0125_test.ma": {
        "info": {
            "software_version": "2012", "renderer": "arnold", "width": 160, "height": 120,
            "image_prefix": "testrender_<RenderLayer>", "image_format": "tif",
            "render_layers": [{"name": "defaultRenderLayer", "renderable": False, "render_setup_layer": None, "overrides": {}}]
            + [
                {"name": name, "renderable": True, "render_setup_layer": None, "overrides": {}}
                for name in ("gradientX", "gradientY", "gradientZ", "gradientNX", "gradientNY",
                             "gradientNZ", "gradientCenter", "gradientConstant")
            ],
            "plugins": {"mtoa": "0.25.0.dev", "Mayatomr": "2012.0m - 3.9.1.48", "stereoCamera": "10.0"},
        },
        "deps": [],
        "can_render": True,
    },
    # Render Setup: renderSetupLayer1 owns rs_renderSetupLayer1 (connectAttr ... .lrl).
    "sebastienblor__arnold-usd__test_0251_test.ma": {
        "info": {
            "software_version": "2018ff09", "renderer": "arnold", "image_prefix": "testrender_<RenderLayer>",
            "render_layers": [
                {"name": "defaultRenderLayer", "renderable": False, "render_setup_layer": None, "overrides": {}},
                {"name": "rs_renderSetupLayer1", "renderable": True, "render_setup_layer": "renderSetupLayer1", "overrides": {}},
            ],
            "plugins": {"mtoa": "3.2.0.wip", "renderSetup.py": "1.0"},
        },
        "deps": [],
        "can_render": True,
    },
    # file2 has no .ftn; aiImage holds a D:/ path.
    "sebastienblor__arnold-usd__test_0268_test.ma": {
        "info": {"software_version": "2018ff08", "renderer": "arnold", "plugins": {"mtoa": "3.0.1"}},
        "deps": [
            ("texture", "file1", "ftn", "arnold_<UDIM>_<f>.jpg"),
            ("texture", "aiImage1", "filename", "D:/arnold/scenes/textures/arnold_<UDIM>_<f>.jpg"),
        ],
        "can_render": True,
        "tips": {"local_path", "missing_files", "animation_off"},
    },
    # stereoCamera required twice; a ZBrush-style (uvt 1) tiled texture.
    "sebastienblor__arnold-usd__test_0292_test.ma": {
        "info": {"software_version": "2018ff08", "plugins": {"mtoa": "3.1.1.wip", "stereoCamera": "10.0"}},
        "deps": [("texture", "file1", "ftn", "nr_u<u>v<v>.tga")],
        "can_render": True,
    },
    # gpuCache + stand-in on the same relative .abc, two MaterialX documents; the
    # aiSetParameter selections (/Cap/*) and .search_path "." are not files.
    "sebastienblor__arnold-usd__test_0335_test.ma": {
        "info": {
            "software_version": "2018ff09",
            "plugins": {"stereoCamera": "10.0", "mtoa": "3.2.0.wip", "gpuCache": "1.0"},
        },
        "deps": [
            ("gpu_cache", "BottleShape", "cfn", "Bottle.abc"),
            ("standin", "aiStandInShape", "dso", "Bottle.abc"),
            ("materialx", "aiMaterialx1", "filename", "Bottle.mtlx"),
            ("materialx", "aiMaterialx2", "filename", "Bottle.mtlx"),
        ],
        "can_render": True,
    },
    "sebastienblor__arnold-usd__test_0362_test.ma": {
        "info": {
            "software_version": "2019", "renderer": "arnold", "current_frame": 6,
            "plugins": {"mtoa": "3.3.0.wip", "gpuCache": "1.0"},
        },
        "deps": [("gpu_cache", "deforming_cubeShape", "cfn", "/data/Tutorials/alembic_pipe/deforming_cube.abc")],
        "can_render": True,
    },
}


def test_every_corpus_scene_has_expectations(maya_corpus: Path) -> None:
    scenes = sorted(p.name for p in maya_corpus.iterdir() if p.suffix in (".ma", ".mb"))
    assert scenes == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_scene(maya_corpus: Path, name: str) -> None:
    expected = EXPECTED[name]
    result = analyze_scene(maya_corpus / name, env={})
    document = result.to_dict()
    info = document["scene_info"]
    for key, value in expected["info"].items():
        assert info[key] == value, key
    deps = [(d["kind"], d["node"], d["attr"], d["path"]) for d in document["dependencies"]]
    assert deps == expected["deps"]
    assert all(not d["exists"] for d in document["dependencies"])
    assert document["asset"] == list(dict.fromkeys(path for *_, path in expected["deps"]))
    assert document["missing"] == [{f"{node}.{attr}" if attr else node: path} for _, node, attr, path in expected["deps"]]
    assert result.can_render is expected["can_render"]
    if "tips" in expected:
        assert {tip["code"] for tip in document["tips"]} == expected["tips"]


def test_relative_corpus_paths_resolve_beside_the_scene(maya_corpus: Path) -> None:
    result = analyze_scene(maya_corpus / "sebastienblor__arnold-usd__test_0335_test.ma", env={})
    assert result.dependencies[0].resolved == (maya_corpus.resolve() / "Bottle.abc").as_posix()


def test_unset_variable_leaves_the_reference_unresolved(maya_corpus: Path) -> None:
    (dep,) = analyze_scene(maya_corpus / "getavalon__examples__anim_v012.ma", env={}).dependencies
    assert dep.resolved is None and dep.files == ()
