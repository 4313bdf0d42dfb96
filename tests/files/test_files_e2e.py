"""Real ``rfarm`` processes and real Blender: submit with files, move the project away, render on a node.

The scene shows a red card textured from an external PNG and a green card
linked from a library whose own texture path is relative to the library. A
frame rendered without those files would show neither colour (Blender draws
missing textures magenta, missing links not at all), so the pixels prove the
render used the node's fetched copies.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rfarm_testlib import clean_env, cli_json, run_cli, run_cli_process

from rfarm.files.hashing import hash_file
from tests.oss_server import OssServer

pytestmark = pytest.mark.e2e

MAKE_PROJECT = r'''
import sys, bpy
from pathlib import Path
root = Path(sys.argv[-1])

def solid(path, rgba):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = bpy.data.images.new("solid", 4, 4)
    img.pixels = list(rgba) * 16
    img.filepath_raw, img.file_format = str(path), "PNG"
    img.save()
    bpy.data.images.remove(img)

def card(name, image, x):
    bpy.ops.mesh.primitive_plane_add(size=2, location=(x, 0, 0))
    obj = bpy.context.active_object
    obj.name = name
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    tex, emit, out = nodes.new("ShaderNodeTexImage"), nodes.new("ShaderNodeEmission"), nodes.new("ShaderNodeOutputMaterial")
    tex.image = bpy.data.images.load(str(image))
    links.new(tex.outputs["Color"], emit.inputs["Color"])
    links.new(emit.outputs["Emission"], out.inputs["Surface"])
    obj.data.materials.append(mat)

bpy.ops.wm.read_factory_settings(use_empty=True)
solid(root / "tex" / "red.png", (1, 0, 0, 1))
solid(root / "lib" / "maps" / "green.png", (0, 1, 0, 1))
card("Card", root / "lib" / "maps" / "green.png", 1)
bpy.ops.wm.save_as_mainfile(filepath=str(root / "lib" / "props.blend"), relative_remap=True)

bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device, scene.cycles.samples = "CPU", 1
scene.view_settings.view_transform = "Standard"
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 32, 16, 100
scene.render.image_settings.file_format = "PNG"
scene.frame_start = scene.frame_end = 1
card("Left", root / "tex" / "red.png", -1)
with bpy.data.libraries.load(str(root / "lib" / "props.blend"), link=True) as (src, dst):
    dst.objects = ["Card"]
for obj in dst.objects:
    scene.collection.objects.link(obj)
bpy.ops.object.camera_add(location=(0, 0, 5))
camera = bpy.context.active_object
camera.data.type, camera.data.ortho_scale = "ORTHO", 4
scene.camera = camera
scene.world = bpy.data.worlds.new("sky")
scene.world.color = (0, 0, 1)
bpy.ops.wm.save_as_mainfile(filepath=str(root / "shot.blend"), relative_remap=False)
bpy.ops.wm.save_as_mainfile(filepath=str(root / "shot_rel.blend"), relative_remap=True)
'''

READ_PIXELS = r'''
import json, sys, bpy
img = bpy.data.images.load(sys.argv[-1])
px, (w, h) = img.pixels[:], img.size
at = lambda x, y: [round(v, 2) for v in px[(y * w + x) * 4:(y * w + x) * 4 + 3]]
print(json.dumps({"left": at(w // 4, h // 2), "right": at(3 * w // 4, h // 2)}))
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, made once; shot.blend names its texture and library by absolute paths."""
    root = tmp_path_factory.mktemp("art") / "proj"
    done = subprocess.run([sys.executable, "-c", MAKE_PROJECT, str(root)], env=clean_env(), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return root


@contextmanager
def moved_away(project: Path) -> Iterator[None]:
    """The project folder renamed for a while, as if on another machine."""
    away = project.with_name("moved-away")
    project.rename(away)
    try:
        yield
    finally:
        away.rename(project)


def colours(png: str) -> dict[str, list[float]]:
    done = subprocess.run([sys.executable, "-c", READ_PIXELS, png], env=clean_env(), capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_red_and_green(png: str) -> None:
    seen = colours(png)
    assert seen == {"left": [1.0, 0.0, 0.0], "right": [0.0, 1.0, 0.0]}, seen


def burst(env: dict[str, str], workspace: Path, **extra: str) -> tuple[int, str, str]:
    return run_cli_process("worker", "--burst", "--name", "node2", env={**env, "RFARM_WORKSPACE_DIR": str(workspace), **extra},
                           timeout=180)


def frame_doc(env: dict[str, str], task_id: int) -> dict[str, object]:
    doc = cli_json("status", str(task_id), env=env)
    assert doc["status"] == "done", doc
    return doc["frames"][0]


def test_upload_then_render_on_a_node_without_the_project(home: Path, home_env: dict[str, str], project: Path,
                                                           tmp_path: Path) -> None:
    sub = cli_json("submit", str(project / "shot.blend"), "--upload", "--frames", "1", env=home_env)
    assert sub["files"] == "upload" and sub["upload"]["uploaded"] == 4, sub
    with moved_away(project):  # the node cannot read the artist's folder
        code, _, err = burst(home_env, tmp_path / "node-ws")
    assert code == 0, err
    frame = frame_doc(home_env, sub["task_id"])
    output = frame["outputs"][0]
    assert str(home) in output and Path(output).is_file()
    assert_red_and_green(output)
    node_project = tmp_path / "node-ws" / "alice" / str(sub["task_id"]) / "project"
    assert sorted(p.relative_to(node_project).as_posix() for p in node_project.rglob("*.png")) == [
        "lib/maps/green.png", "tex/red.png"]
    assert len(list((tmp_path / "node-ws" / "_cache" / "objects").glob("*/*"))) == 4

    dl = cli_json("download", str(sub["task_id"]), "--dest", str(tmp_path / "dl"), env=home_env)
    assert (dl["files"], dl["refetched"]) == (1, 0)
    assert (tmp_path / "dl" / Path(output).name).read_bytes() == Path(output).read_bytes()

    # the same files again: nothing is sent, and the node's cache serves the second task
    again = cli_json("submit", str(project / "shot.blend"), "--upload", "--frames", "1", env=home_env)
    assert again["upload"] == {"uploaded": 0, "skipped": 4, "bytes_uploaded": 0,
                               "bytes_skipped": sub["upload"]["bytes_uploaded"]}
    with moved_away(project):
        code, _, err = burst(home_env, tmp_path / "node-ws")
    assert code == 0, err
    frame_doc(home_env, again["task_id"])
    code, log, _ = run_cli("logs", str(again["task_id"]), env=home_env)
    assert "rfarm: prepared 4 files" in log and "(0 downloaded, 0 bytes" in log


def test_snapshot_renders_the_scene_as_submitted(home_env: dict[str, str], project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    scene = copy / "shot_rel.blend"  # relative paths: read from the artist's folder, not the snapshot's
    sub = cli_json("submit", str(scene), "--frames", "1", env=home_env)
    assert sub["files"] == "snapshot" and sub["upload"]["uploaded"] == 1
    scene.write_bytes(b"saved again by the artist, half written")
    code, _, err = burst(home_env, tmp_path / "node-ws")
    assert code == 0, err
    assert_red_and_green(frame_doc(home_env, sub["task_id"])["outputs"][0])


@pytest.fixture
def oss_env(home_env: dict[str, str]) -> Iterator[dict[str, str]]:
    with OssServer() as server:
        url = f"oss://{server.bucket}/farm?endpoint={server.endpoint}&region={server.region}"
        yield {**home_env, "RFARM_STORAGE_URL": url, "OSS_ACCESS_KEY_ID": server.access_key_id,
                       "OSS_ACCESS_KEY_SECRET": server.access_key_secret}


def test_oss_upload_render_and_download(oss_env: dict[str, str], project: Path, tmp_path: Path) -> None:
    env = oss_env
    first = cli_json("upload", str(project), "--dedup", env=env)
    second = cli_json("upload", str(project), "--dedup", env=env)
    assert first["uploaded"] == len(first["files"]) and (second["uploaded"], second["bytes_uploaded"]) == (0, 0)
    sub = cli_json("submit", str(project / "shot.blend"), "--upload", "--frames", "1", env=env)
    assert sub["upload"]["uploaded"] == 0  # uploaded above already
    with moved_away(project):
        code, _, err = burst(env, tmp_path / "node-ws")
    assert code == 0, err
    output = frame_doc(env, sub["task_id"])["outputs"][0]
    assert_red_and_green(output)
    dl = cli_json("download", str(sub["task_id"]), "--dest", str(tmp_path / "dl"), env=env)
    assert dl["files"] == 1 and (tmp_path / "dl" / Path(output).name).read_bytes() == Path(output).read_bytes()


def test_a_corrupted_object_fails_the_frame_naming_the_file(home: Path, home_env: dict[str, str], project: Path,
                                                             tmp_path: Path) -> None:
    sub = cli_json("submit", str(project / "shot.blend"), "--upload", "--frames", "1", env=home_env)
    red = hash_file(project / "tex" / "red.png")
    texture = next((home / "storage" / "users").glob(f"*/objects/{red.md5[:2]}/{red.md5}-{red.xxh64}"))
    texture.write_bytes(b"bit rot" + texture.read_bytes()[7:])
    code, _, err = burst(home_env, tmp_path / "node-ws")
    assert code == 0, err
    doc = cli_json("status", str(sub["task_id"]), env=home_env)
    assert doc["status"] == "failed", doc
    error = doc["frames"][0]["error"]
    assert error == (f"{project / 'tex' / 'red.png'}: the stored object {texture.relative_to(home / 'storage').as_posix()}"
                     " does not match its recorded hash, even fetched twice; upload the file again.")


def test_a_node_low_on_disk_claims_nothing(home_env: dict[str, str], project: Path, tmp_path: Path) -> None:
    sub = cli_json("submit", str(project / "shot.blend"), "--in-place", "--frames", "1", env=home_env)
    code, _, err = burst(home_env, tmp_path / "node-ws", RFARM_MIN_FREE_GB="1e12")
    assert code == 0 and err.count("below min_free_gb") == 1, err
    assert cli_json("status", str(sub["task_id"]), env=home_env)["frames"][0]["status"] == "queued"


def test_a_zip_project_renders_on_a_node(home_env: dict[str, str], project: Path, tmp_path: Path) -> None:
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(project.rglob("*")):
            if path.is_file() and path.name != "shot.blend":
                zf.write(path, f"proj/{path.relative_to(project).as_posix()}")
    sub = cli_json("submit", str(archive), "--scene-in-zip", "proj/shot_rel.blend", "--frames", "1", env=home_env)
    code, _, err = burst(home_env, tmp_path / "node-ws")
    assert code == 0, err
    assert_red_and_green(frame_doc(home_env, sub["task_id"])["outputs"][0])
    assert (tmp_path / "node-ws" / "alice" / str(sub["task_id"]) / "project" / "proj" / "tex" / "red.png").is_file()


def test_a_zip_that_escapes_its_folder_is_refused(home_env: dict[str, str], tmp_path: Path) -> None:
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("shot.blend", b"BLENDER")
        zf.writestr("../../etc/cron.d/evil", b"evil")
    code, out, err = run_cli("submit", str(archive), "--frames", "1", env=home_env)
    assert (code, out) == (2, "")
    assert err.strip() == ("Error: project.zip: entry '../../etc/cron.d/evil' would land outside its folder; "
                           "refusing to unpack it")


MAYA_SCENE = """//Maya ASCII 2024 scene
requires maya "2024";
requires "mtoa" "5.3.5.2";
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
\tsetAttr ".rnd" yes;
createNode file -n "wood";
\tsetAttr ".ftn" -type "string" "{texture}";
select -ne :defaultRenderGlobals;
\tsetAttr ".ren" -type "string" "arnold";
\tsetAttr ".an" yes;
\tsetAttr ".fs" 1;
\tsetAttr ".ef" 2;
"""


def test_maya_scene_paths_point_at_the_nodes_copies(home_env: dict[str, str], tmp_path: Path) -> None:
    fake = Path(__file__).resolve().parents[1] / "fakes" / "fake_render.py"
    texture = tmp_path / "maya" / "sourceimages" / "wood.png"
    texture.parent.mkdir(parents=True)
    texture.write_bytes(b"wood")
    scene = tmp_path / "maya" / "scenes" / "shot.ma"
    scene.parent.mkdir()
    scene.write_text(MAYA_SCENE.format(texture=texture.as_posix()), encoding="utf-8")
    sub = cli_json("submit", str(scene), "--upload", "--frames", "1-2", env=home_env)
    assert sub["upload"]["uploaded"] == 2
    with moved_away(tmp_path / "maya"):
        code, _, err = burst(home_env, tmp_path / "node-ws", RFARM_MAYA_EXECUTABLE=str(fake))
    assert code == 0, err
    assert cli_json("status", str(sub["task_id"]), env=home_env)["status"] == "done"
    project = tmp_path / "node-ws" / "alice" / str(sub["task_id"]) / "project"
    rewritten = (project / "scenes" / "shot.ma").read_text(encoding="utf-8")
    assert f'"{(project / "sourceimages" / "wood.png").as_posix()}"' in rewritten
    assert texture.as_posix() not in rewritten and scene.read_text(encoding="utf-8") == MAYA_SCENE.format(
        texture=texture.as_posix())


def test_a_maya_reference_tree_is_sent_whole_and_rewritten_at_every_level(home_env: dict[str, str],
                                                                        tmp_path: Path) -> None:
    """shot.ma -> a.ma (and its copy a.ma{1}) -> b.ma -> wood.png, with the scene's -rdi lines naming b.ma too."""
    fake = Path(__file__).resolve().parents[1] / "fakes" / "fake_render.py"
    root = tmp_path / "show"
    texture = root / "assets" / "sub" / "maps" / "wood.png"
    texture.parent.mkdir(parents=True)
    texture.write_bytes(b"wood")
    b = root / "assets" / "sub" / "b.ma"
    b.write_text('//Maya ASCII 2024 scene\ncreateNode file -n "wood";\n\tsetAttr ".ftn" -type "string" "maps/wood.png";\n',
                 encoding="utf-8")
    a = root / "assets" / "a.ma"
    a.write_text('//Maya ASCII 2024 scene\nfile -rdi 1 -ns "b" -rfn "bRN" "sub/b.ma";\n'
                 'file -r -ns "b" -dr 1 -rfn "bRN" "sub/b.ma";\n', encoding="utf-8")
    scene = root / "scenes" / "shot.ma"
    scene.parent.mkdir()
    refs = (f'file -rdi 1 -ns "a" -rfn "aRN" "{a.as_posix()}";\nfile -rdi 2 -ns "b" -rfn "a:bRN" "sub/b.ma";\n'
            f'file -rdi 1 -ns "a1" -rfn "aRN1" "{a.as_posix()}{{1}}";\nfile -rdi 2 -ns "b" -rfn "a1:bRN" "sub/b.ma";\n'
            f'file -r -ns "a" -dr 1 -rfn "aRN" "{a.as_posix()}";\nfile -r -ns "a1" -dr 1 -rfn "aRN1" "{a.as_posix()}{{1}}";\n')
    original = MAYA_SCENE.format(texture="sourceimages/none.png").replace(
        'requires maya "2024";\n', 'requires maya "2024";\n' + refs)
    scene.write_text(original, encoding="utf-8")
    sub = cli_json("submit", str(scene), "--upload", "--frames", "1", env=home_env)
    assert sub["upload"]["uploaded"] == 4  # the scene, a.ma, b.ma, wood.png
    with moved_away(root):
        code, _, err = burst(home_env, tmp_path / "node-ws", RFARM_MAYA_EXECUTABLE=str(fake))
    assert code == 0, err
    project = tmp_path / "node-ws" / "alice" / str(sub["task_id"]) / "project"
    node_a, node_b = project / "assets" / "a.ma", project / "assets" / "sub" / "b.ma"
    shot = (project / "scenes" / "shot.ma").read_text(encoding="utf-8")
    assert f'"{node_a.as_posix()}"' in shot and f'"{node_a.as_posix()}{{1}}"' in shot
    assert a.as_posix() not in shot and f'"{node_b.as_posix()}"' in shot and '"sub/b.ma"' not in shot
    assert f'"{node_b.as_posix()}"' in node_a.read_text(encoding="utf-8")
    assert f'"{(project / "assets" / "sub" / "maps" / "wood.png").as_posix()}"' in node_b.read_text(encoding="utf-8")
    assert scene.read_text(encoding="utf-8") == original


def test_a_binary_level_of_the_reference_tree_is_rewritten_on_the_node(home_env: dict[str, str],
                                                                      tmp_path: Path) -> None:
    """shot.ma -> a.mb -> b.ma: the .mb's reference (FREF) and texture (STR) point into the node's project."""
    from tests.analysis.test_scene_maya_binary import UUID, Iff

    fake = Path(__file__).resolve().parents[1] / "fakes" / "fake_render.py"
    root = tmp_path / "show"
    (root / "assets" / "maps").mkdir(parents=True)
    (root / "assets" / "maps" / "paint.png").write_bytes(b"paint")
    b = root / "assets" / "b.ma"
    b.write_text('//Maya ASCII 2024 scene\ncreateNode transform -n "b";\n', encoding="utf-8")
    iff = Iff(wide=True)
    a = root / "assets" / "a.mb"
    a.write_bytes(iff.group(
        b"Maya",
        iff.group(b"HEAD", iff.chunk(b"VERS", b"2024"), iff.chunk(b"TUNI", b"film")),
        iff.group(b"FREF", iff.chunk(b"FREF", b.as_posix().encode() + b"\0b\0\x01\x01bRN\0VERS|2024|\0mayaAscii\0")),
        iff.group(b"RTFT", iff.chunk(b"CREA", b"\x00paint\0" + UUID), iff.attr(b"STR ", "ftn", b"maps/paint.png\0")),
    ))
    scene = root / "scenes" / "shot.ma"
    scene.parent.mkdir()
    scene.write_text(MAYA_SCENE.format(texture="sourceimages/none.png").replace(
        'requires maya "2024";\n', f'requires maya "2024";\nfile -r -ns "a" -dr 1 -rfn "aRN" "{a.as_posix()}";\n'),
        encoding="utf-8")
    original = a.read_bytes()
    sub = cli_json("submit", str(scene), "--upload", "--frames", "1", env=home_env)
    assert sub["upload"]["uploaded"] == 4  # the scene, a.mb, b.ma, paint.png
    with moved_away(root):
        code, _, err = burst(home_env, tmp_path / "node-ws", RFARM_MAYA_EXECUTABLE=str(fake))
    assert code == 0, err
    project = tmp_path / "node-ws" / "alice" / str(sub["task_id"]) / "project"
    node_a = (project / "assets" / "a.mb").read_bytes()
    assert (project / "assets" / "b.ma").as_posix().encode() + b"\0b\0" in node_a
    assert b"\x20" + (project / "assets" / "maps" / "paint.png").as_posix().encode() + b"\0" in node_a
    assert b.as_posix().encode() not in node_a and a.read_bytes() == original
