"""Render Setup layers: overrides of frame range, resolution and camera renderability per layer.

The scene is written the way Maya 2018+ writes Render Setup: layer, legacy
``rs_`` layer, collections with simpleSelectors, abs/rel (unique) overrides with
``.atr``/``.atv``/``.tgName``, and the connectAttr lines that tie them together.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rfarm.analysis import analyze_scene

pytest_plugins = ["scene_fixtures"]

WriteMa = Callable[..., Path]

SCENE = '''createNode transform -n "shotCam";
createNode camera -n "shotCamShape" -p "shotCam";
\tsetAttr ".rnd" no;
select -ne :defaultRenderGlobals;
\tsetAttr ".ren" -type "string" "arnold";
\tsetAttr ".an" yes;
\tsetAttr ".fs" 1;
\tsetAttr ".ef" 24;
select -ne :defaultResolution;
\tsetAttr ".w" 1920;
\tsetAttr ".h" 1080;
createNode renderLayerManager -n "renderLayerManager";
createNode renderLayer -n "defaultRenderLayer";
\tsetAttr ".g" yes;
\tsetAttr ".rndr" no;
createNode renderSetup -n "renderSetup";
createNode renderSetupLayer -n "beauty";
createNode renderLayer -n "rs_beauty";
\tsetAttr ".do" 1;
createNode renderSettingsCollection -n "beautyRenderSettings";
createNode simpleSelector -n "beautyRenderSettingsSelector";
\tsetAttr ".ssl" -type "string" "defaultRenderGlobals\\ndefaultResolution\\ndefaultArnoldRenderOptions";
\tsetAttr ".tf" 0;
createNode absUniqueOverride -n "startFrame";
\taddAttr -ci true -sn "atv" -ln "attrValue" -at "time";
\tsetAttr ".atr" -type "string" "startFrame";
\tsetAttr ".tgName" -type "string" "defaultRenderGlobals";
\tsetAttr ".atv" 1001;
createNode absUniqueOverride -n "endFrame";
\taddAttr -ci true -sn "atv" -ln "attrValue" -at "time";
\tsetAttr ".atr" -type "string" "endFrame";
\tsetAttr ".tgName" -type "string" "defaultRenderGlobals";
\tsetAttr ".atv" 1050;
createNode absOverride -n "width";
\taddAttr -ci true -sn "atv" -ln "attrValue" -at "long";
\tsetAttr ".atr" -type "string" "width";
\tsetAttr ".atv" 2048;
createNode collection -n "cameras";
createNode simpleSelector -n "camerasSelector";
\tsetAttr ".pat" -type "string" "shot*, ::*Cam";
\tsetAttr ".tf" 4;
createNode absOverride -n "renderable";
\taddAttr -ci true -sn "atv" -ln "attrValue" -min 0 -max 1 -at "bool";
\tsetAttr ".atr" -type "string" "renderable";
\tsetAttr ".atv" yes;
createNode collection -n "perspOff";
createNode simpleSelector -n "perspOffSelector";
\tsetAttr ".ssl" -type "string" "|persp";
createNode absOverride -n "perspRenderable";
\taddAttr -ci true -sn "atv" -ln "attrValue" -min 0 -max 1 -at "bool";
\tsetAttr ".atr" -type "string" "renderable";
\tsetAttr ".atv" no;
createNode renderSetupLayer -n "fg";
createNode renderLayer -n "rs_fg";
\tsetAttr ".rndr" no;
\tsetAttr ".do" 2;
createNode renderSettingsCollection -n "fgRenderSettings";
createNode simpleSelector -n "fgRenderSettingsSelector";
\tsetAttr ".ssl" -type "string" "defaultRenderGlobals\\ndefaultResolution";
createNode relOverride -n "longer";
\taddAttr -ci true -sn "mul" -ln "multiply" -at "float";
\taddAttr -ci true -sn "ofs" -ln "offset" -at "float";
\tsetAttr ".atr" -type "string" "endFrame";
\tsetAttr ".mul" 1;
\tsetAttr ".ofs" 10;
createNode absOverride -n "notASetting";
\tsetAttr ".atr" -type "string" "aiSamples";
\tsetAttr ".atv" 8;
connectAttr "renderLayerManager.rlmi[0]" "defaultRenderLayer.rlid";
connectAttr "renderLayerManager.rlmi[1]" "rs_beauty.rlid";
connectAttr "renderLayerManager.rlmi[2]" "rs_fg.rlid";
connectAttr "beauty.msg" "renderSetup.frl";
connectAttr "fg.msg" "renderSetup.lrl";
connectAttr "rs_beauty.msg" "beauty.lrl";
connectAttr "renderSetup.lit" "beauty.pls";
connectAttr "beautyRenderSettingsSelector.c" "beautyRenderSettings.sel";
connectAttr "beauty.lit" "beautyRenderSettings.pls";
connectAttr "beautyRenderSettings.lit" "startFrame.pls";
connectAttr "beautyRenderSettings.lit" "endFrame.pls";
connectAttr "beautyRenderSettings.lit" "width.pls";
connectAttr "camerasSelector.c" "cameras.sel";
connectAttr "beauty.lit" "cameras.pls";
connectAttr "cameras.lit" "renderable.pls";
connectAttr "perspOffSelector.c" "perspOff.sel";
connectAttr "cameras.lit" "perspOff.pls";
connectAttr "perspOff.lit" "perspRenderable.pls";
connectAttr "rs_fg.msg" "fg.lrl";
connectAttr "renderSetup.lit" "fg.pls";
connectAttr "fgRenderSettingsSelector.c" "fgRenderSettings.sel";
connectAttr "fg.lit" "fgRenderSettings.pls";
connectAttr "fgRenderSettings.lit" "longer.pls";
connectAttr "fgRenderSettings.lit" "notASetting.pls";
'''


def test_each_layer_gets_its_overrides(write_ma: WriteMa) -> None:
    result = analyze_scene(write_ma("shot.ma", SCENE, version="2022"), env={})
    info = result.to_dict()["scene_info"]
    assert (info["start"], info["end"], info["width"], info["height"], info["cameras"]) == (
        1, 24, 1920, 1080, ["persp"])
    assert info["render_layers"] == [
        {"name": "defaultRenderLayer", "renderable": False, "render_setup_layer": None, "overrides": {}},
        # Its own frame range and width; the camera collection turns shotCam on, then its
        # sub-collection turns persp off.
        {"name": "rs_beauty", "renderable": True, "render_setup_layer": "beauty",
         "overrides": {"start": 1001, "end": 1050, "width": 2048, "cameras": ["shotCam"]}},
        # A relative override: 24 * 1 + 10; overrides of other attributes change nothing here.
        {"name": "rs_fg", "renderable": False, "render_setup_layer": "fg", "overrides": {"end": 34}},
    ]
    assert result.can_render


def test_a_collection_in_no_layer_changes_nothing_and_a_relative_override_multiplies(write_ma: WriteMa) -> None:
    body = SCENE.replace('connectAttr "beauty.lit" "beautyRenderSettings.pls";\n', "").replace(
        '\tsetAttr ".ofs" 10;\n', "").replace('\tsetAttr ".mul" 1;\n', '\tsetAttr ".mul" 2;\n')
    info = analyze_scene(write_ma("shot.ma", body), env={}).to_dict()["scene_info"]
    layers = {layer["name"]: layer["overrides"] for layer in info["render_layers"]}
    assert layers == {"defaultRenderLayer": {}, "rs_beauty": {"cameras": ["shotCam"]}, "rs_fg": {"end": 48}}
