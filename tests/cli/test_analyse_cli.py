"""`rfarm analyse` and submit's use of the analysis."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from rfarm_testlib import assert_one_error_line, clean_env, run_cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "turntable.blend"
# No camera, and two file textures that are not there.
NO_CAMERA = """//Maya ASCII 2022 scene
createNode file -n "wood";
\tsetAttr ".ftn" -type "string" "sourceimages/wood.png";
createNode file -n "rust";
\tsetAttr ".ftn" -type "string" "sourceimages/rust.png";
"""


# A camera (shotCam), two render layers (one off) and one file texture that is not there.
SHOT = """//Maya ASCII 2024 scene
requires maya "2024";
createNode transform -n "shotCam";
createNode camera -n "shotCamShape" -p "shotCam";
\tsetAttr ".rnd" yes;
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
\tsetAttr ".rnd" no;
createNode renderLayer -n "defaultRenderLayer";
createNode renderLayer -n "beauty";
createNode renderLayer -n "fx";
\tsetAttr ".rndr" no;
createNode file -n "wood";
\tsetAttr ".ftn" -type "string" "sourceimages/wood.png";
"""


def no_camera_scene(folder: Path) -> Path:
    path = folder / "nocamera.ma"
    path.write_text(NO_CAMERA, encoding="utf-8")
    return path


def shot_scene(folder: Path) -> Path:
    path = folder / "shot.ma"
    path.write_text(SHOT, encoding="utf-8")
    return path


def test_analyse_json_is_one_document_with_the_asset_keys(tmp_path: Path) -> None:
    out = tmp_path / "asset.json"
    code, stdout, stderr = run_cli("analyse", str(EXAMPLE), "--json", "-o", str(out), env=clean_env())
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert list(doc) == ["scene_info", "asset", "missing", "dependencies", "tips"]
    info = doc["scene_info"]
    assert (info["renderer"], info["start"], info["end"], info["width"], info["height"]) == ("CYCLES", 1, 8, 320, 180)
    assert info["cameras"] == ["shotCam"]
    assert json.loads(out.read_text()) == doc


def test_a_scene_that_cannot_render_exits_1_with_the_document(tmp_path: Path) -> None:
    code, stdout, _ = run_cli("analyse", str(no_camera_scene(tmp_path)), "--json", env=clean_env())
    assert code == 1
    doc = json.loads(stdout)
    assert "no_renderable_camera" in {tip["code"] for tip in doc["tips"]}
    assert len(doc["missing"]) == 2


def test_the_dependency_table_has_one_row_per_path_with_its_users(tmp_path: Path) -> None:
    scene = tmp_path / "many.ma"
    nodes = "".join(f'createNode file -n "tile{i}";\n\tsetAttr ".ftn" -type "string" "sourceimages/same.png";\n'
                    for i in range(40))
    scene.write_text(SHOT + nodes, encoding="utf-8")
    code, stdout, stderr = run_cli("analyse", str(scene), env=clean_env())
    assert code == 0, stderr
    assert stdout.count("sourceimages/same.png") == 1 and stdout.count("sourceimages/wood.png") == 1
    assert "40 nodes (tile0.ftn, tile1.ftn, ...)" in stdout and "41 dependencies, 2 paths" in stdout
    assert len(json.loads(run_cli("analyse", str(scene), "--json", env=clean_env())[1])["dependencies"]) == 41


def test_unreadable_scenes_exit_2_with_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ma"
    junk.write_bytes(b"\x00\x01garbage" * 100)
    for path, kind in ((junk, "AnalysisError"), (tmp_path / "missing.ma", "NotFoundError")):
        code, stdout, stderr = run_cli("analyse", str(path), "--json", env=clean_env())
        assert_one_error_line(code, stdout, stderr, json_doc=True)
        assert json.loads(stdout)["error"]["type"] == kind


def test_submit_takes_the_frame_range_from_the_scene(home_env: dict[str, str]) -> None:
    code, stdout, stderr = run_cli("submit", str(EXAMPLE), "--json", env=home_env)
    assert code == 0, stderr
    task_id = json.loads(stdout)["task_id"]
    code, stdout, _ = run_cli("status", str(task_id), "--json", env=home_env)
    assert [f["frame"] for f in json.loads(stdout)["frames"]] == list(range(1, 9))


def test_strict_submit_refuses_missing_dependencies(tmp_path: Path, home_env: dict[str, str]) -> None:
    scene = shot_scene(tmp_path)
    code, stdout, stderr = run_cli("submit", str(scene), "--frames", "1", "--strict", "--json", env=home_env)
    assert_one_error_line(code, stdout, stderr, json_doc=True)
    assert "--strict: 1 dependencies are missing, first wood.ftn" in json.loads(stdout)["error"]["message"]
    code, stdout, stderr = run_cli("submit", str(scene), "--frames", "1", "--json", env=home_env)
    assert code == 0, stderr
    warning = "missing dependency wood.ftn: sourceimages/wood.png"
    assert warning in json.loads(stdout)["warnings"]  # in the document, not on stderr alone
    assert stderr.count(warning) == 1
    code, stdout, _ = run_cli("list", "--json", env=home_env)
    assert len(json.loads(stdout)) == 1


def test_submit_refuses_a_scene_its_analysis_says_cannot_render(tmp_path: Path, home_env: dict[str, str]) -> None:
    scene = no_camera_scene(tmp_path)
    code, stdout, stderr = run_cli("submit", str(scene), "--frames", "1", "--json", env=home_env)
    line = assert_one_error_line(code, stdout, stderr, json_doc=True)
    assert "no_renderable_camera" in line and "--force" in line
    assert json.loads(run_cli("list", "--json", env=home_env)[1]) == []
    code, stdout, stderr = run_cli("submit", str(scene), "--frames", "1", "--force", "--json", env=home_env)
    assert code == 0, stderr
    warnings = json.loads(stdout)["warnings"]
    assert warnings[0].startswith("--force: cannot render as it stands (no_renderable_camera)")
    assert sorted(w for w in warnings if w.startswith("missing")) == [
        "missing dependency rust.ftn: sourceimages/rust.png", "missing dependency wood.ftn: sourceimages/wood.png"]
    # --strict still refuses what --force lets through: a missing file
    code, stdout, stderr = run_cli("submit", str(scene), "--frames", "1", "--force", "--strict", env=home_env)
    assert "--strict: 2 dependencies are missing" in assert_one_error_line(code, stdout, stderr)


@pytest.mark.parametrize("scene_kind", ["maya", "blender"])
def test_submit_checks_camera_and_layer_names_against_the_analysis(tmp_path: Path, home_env: dict[str, str],
                                                                 scene_kind: str) -> None:
    scene, layers = (shot_scene(tmp_path), "defaultRenderLayer, beauty, fx") if scene_kind == "maya" else \
        (EXAMPLE, ", ".join(layer["name"] for layer in json.loads(
            run_cli("analyse", str(EXAMPLE), "--json", env=home_env)[1])["scene_info"]["render_layers"]))
    line = assert_one_error_line(*run_cli("submit", str(scene), "--frames", "1", "--camera", "nope", env=home_env))
    assert "--camera 'nope'" in line and "its cameras: shotCam" in line
    line = assert_one_error_line(*run_cli("submit", str(scene), "--frames", "1", "--layer", "nope", env=home_env))
    assert "--layer 'nope'" in line and f"its layers: {layers}" in line
    # a layer that does not exist is refused even with --force: no node could render it
    assert_one_error_line(*run_cli("submit", str(scene), "--frames", "1", "--layer", "nope", "--force", env=home_env))
    assert json.loads(run_cli("list", "--json", env=home_env)[1]) == []
    first_layer = layers.split(", ")[0]
    doc = json.loads(run_cli("submit", str(scene), "--frames", "1", "--camera", "shotCam", "--layer", first_layer,
                             "--json", env=home_env)[1])
    assert not any(w.startswith("--force") for w in doc["warnings"])
    task = json.loads(run_cli("status", str(doc["task_id"]), "--json", env=home_env)[1])
    assert task["status"] == "queued"


def test_naming_an_off_layer_renders_it(tmp_path: Path, home_env: dict[str, str]) -> None:
    scene = tmp_path / "off.ma"
    scene.write_text(SHOT.replace('createNode renderLayer -n "beauty";\n', "")
                     .replace('createNode renderLayer -n "defaultRenderLayer";\n',
                              'createNode renderLayer -n "defaultRenderLayer";\n\tsetAttr ".rndr" no;\n'),
                     encoding="utf-8")
    line = assert_one_error_line(*run_cli("submit", str(scene), "--frames", "1", env=home_env))
    assert "no_renderable_layer" in line
    code, stdout, stderr = run_cli("submit", str(scene), "--frames", "1", "--layer", "fx", "--json", env=home_env)
    assert code == 0, stderr


@pytest.mark.e2e
def test_resolution_overrides_the_scene(home_env: dict[str, str]) -> None:
    import struct
    import subprocess
    import sys

    code, stdout, stderr = run_cli("submit", str(EXAMPLE), "--frames", "1", "--resolution", "64x32", "--json", env=home_env)
    assert code == 0, stderr
    task_id = json.loads(stdout)["task_id"]
    worker = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst"], env=home_env,
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr
    code, stdout, _ = run_cli("status", str(task_id), "--json", env=home_env)
    (png,) = json.loads(stdout)["frames"][0]["outputs"]
    assert struct.unpack(">II", Path(png).read_bytes()[16:24]) == (64, 32)
    code, stdout, stderr = run_cli("submit", str(EXAMPLE), "--resolution", "64by32", env=home_env)
    assert code == 2 and "bad resolution" in stderr
