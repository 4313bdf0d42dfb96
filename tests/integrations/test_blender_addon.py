"""The Blender add-on for real: a child Python with bpy registers it, opens a scene, sets the
panel's settings and runs ``bpy.ops.rfarm.submit()``; a real worker then renders the task.

bpy is never imported here (see tests/conftest.py): each Blender session is a child process
that prints one ``RESULT {json}`` line.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import clean_env, run_cli_process

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]

SESSION = textwrap.dedent("""
    import json, sys
    import bpy
    from rfarm.integrations import blender as addon

    scene_path, settings, token = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    addon.register()
    bpy.ops.wm.open_mainfile(filepath=scene_path)
    props = bpy.context.scene.rfarm
    for key, value in settings.items():
        setattr(props, key, value)
    if token:  # the add-on's preferences hold the token; a session without the add-on enabled passes it here
        addon._token = lambda context: token
    try:
        result = bpy.ops.rfarm.submit()
    except RuntimeError as exc:  # an operator's ERROR report
        result = {"error": str(exc)}
    out = {"result": sorted(result) if isinstance(result, set) else result,
           "task_id": props.last_task_id, "link": props.last_task_link}
    registered = hasattr(bpy.types.Scene, "rfarm") and hasattr(bpy.types, "RFARM_PT_submit")
    addon.unregister()
    out["unregistered"] = registered and not hasattr(bpy.types.Scene, "rfarm") \\
        and not hasattr(bpy.types, "RFARM_PT_submit")
    print("RESULT " + json.dumps(out), flush=True)
""")


def blender_session(scene: Path, env: dict[str, str], token: str = "", **settings: Any) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", SESSION, str(scene), json.dumps(settings), token],
        env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=180,
        stdin=subprocess.DEVNULL, check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return dict(json.loads(lines[-1].removeprefix("RESULT ")))


def render_and_check(farm_env: dict[str, str], artist_env: dict[str, str], task_id: int, frames: list[int]) -> None:
    """A worker on the farm's side renders the task; the artist sees every frame done, the test frame first."""
    code, out, err = run_cli_process("worker", "--burst", "--name", "n1", env=farm_env, timeout=300)
    assert code == 0, err
    code, out, err = run_cli_process("status", str(task_id), "--json", env=artist_env)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "done", doc
    assert sorted(f["frame"] for f in doc["frames"]) == frames
    assert all(f["status"] == "done" and f["outputs"] for f in doc["frames"]), doc["frames"]
    assert [f["frame"] for f in doc["frames"] if f["is_test"]] == [2]


def test_the_addon_submits_to_the_embedded_farm_and_a_worker_renders_it(
    tmp_path: Path, make_blend: Callable[..., Path],
) -> None:
    scene = make_blend(tmp_path / "project" / "shot.blend", samples=1, frames=3, size=16)
    env = clean_env({"RFARM_HOME": str(tmp_path / "farm"), "RFARM_USER": "alice"})
    out = blender_session(scene, env, frames="1-3", test_frames="2")
    assert out["result"] == ["FINISHED"] and out["task_id"] >= 1 and out["link"] == "", out
    assert out["unregistered"], out
    code, text, err = run_cli_process("status", str(out["task_id"]), "--json", env=env)
    doc = json.loads(text)
    assert code == 0 and doc["status"] in ("queued", "test_frames") and len(doc["frames"]) == 3, (doc, err)
    render_and_check(env, env, out["task_id"], [1, 2, 3])


def test_the_addon_refuses_bad_frames_in_one_line_and_submits_nothing(
    tmp_path: Path, make_blend: Callable[..., Path],
) -> None:
    scene = make_blend(tmp_path / "project" / "shot.blend", samples=1, frames=3, size=16)
    env = clean_env({"RFARM_HOME": str(tmp_path / "farm"), "RFARM_USER": "alice"})
    out = blender_session(scene, env, frames="3-x")
    assert isinstance(out["result"], dict) and out["task_id"] == 0, out
    message = out["result"]["error"].strip()
    assert message.count("\n") == 0 and message.startswith("Error: rfarm: bad frame range '3-x'"), message
    code, text, _ = run_cli_process("list", "--json", env=env)
    assert code == 0 and json.loads(text) == []


def test_the_addon_submits_through_rfarm_serve_with_a_token(
    tmp_path: Path, make_blend: Callable[..., Path], start_server: Callable[..., Any],
) -> None:
    farm_env = clean_env({"RFARM_HOME": str(tmp_path / "farm"), "RFARM_USER": "boss"})
    code, out, err = run_cli_process("users", "add", "alice", "--json", env=farm_env)
    assert code == 0, err
    token = json.loads(out)["token"]
    server = start_server(farm_env)
    scene = make_blend(tmp_path / "project" / "shot.blend", samples=1, frames=3, size=16)
    artist_home = tmp_path / "artist"
    artist = clean_env({"RFARM_HOME": str(artist_home)})
    out = blender_session(scene, artist, token, frames="1-3", test_frames="2", server_url=server.url)
    assert out["result"] == ["FINISHED"] and out["task_id"] >= 1, out
    assert out["link"] == f"{server.url}/tasks/{out['task_id']}"
    assert not (artist_home / "rfarm.db").exists(), "the artist's machine holds no database"
    # the panel named the server and the preferences the token: the environment named neither
    render_and_check(farm_env, {**artist, "RFARM_SERVER_URL": server.url, "RFARM_TOKEN": token}, out["task_id"], [1, 2, 3])
