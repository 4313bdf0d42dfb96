"""The worker driving Maya's command line, with tests/fakes/fake_render.py standing in for ``Render``.

The fake prints MtoA's real log lines and writes one image per frame, or
injects a fault: an Arnold error, or progress that stops.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from rfarm_testlib import FAKE_RENDER, TEST_USER, clean_env, run_cli, maya_scene

pytestmark = pytest.mark.e2e

SCENE = maya_scene(4)


@pytest.fixture
def maya_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    return clean_env({"RFARM_HOME": str(home), "RFARM_USER": TEST_USER, "RFARM_MAYA_EXECUTABLE": str(FAKE_RENDER)})


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    path = tmp_path / "proj" / "shot.ma"
    path.parent.mkdir()
    path.write_text(SCENE, encoding="utf-8")
    return path


def cli_json(*args: str, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    code, out, err = run_cli(*args, env=env)
    assert code == 0, err
    return json.loads(out)


def burst(env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "mayanode"], env=env,
                          capture_output=True, text=True, timeout=timeout)


def fake_renders() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(FAKE_RENDER) in " ".join(proc.info["cmdline"] or ()):
                found.append(proc)
        except psutil.NoSuchProcess:
            pass
    return found


def test_a_chunked_maya_task_renders_through_the_worker(scene: Path, maya_env: dict[str, str]) -> None:
    tid = cli_json("submit", str(scene), "--chunk", "2", "--json", env=maya_env)["task_id"]
    assert burst(maya_env).returncode == 0
    doc = cli_json("status", str(tid), "--json", env=maya_env)
    assert doc["status"] == "done"
    assert [f["frame"] for f in doc["frames"]] == [1, 2, 3, 4]  # the scene's own range
    for f in doc["frames"]:
        (out,) = f["outputs"]
        assert out.endswith(f"shot.{f['frame']:04d}.exr") and Path(out).stat().st_size > 0
    code, log, _ = run_cli("logs", str(tid), "--frame", "1", env=maya_env)
    assert code == 0
    command = next(line for line in log.splitlines() if line.startswith("$ "))
    assert command.startswith(f"$ {FAKE_RENDER} -r arnold -s 1 -e 2 -b 1 -rd ")  # frames 1-2 in one process
    code, log, _ = run_cli("logs", str(tid), "--frame", "2", env=maya_env)
    assert "50% done" in log and "shot.0002.exr" in log and "shot.0001.exr" not in log
    doc = cli_json("logs", str(tid), "--json", env=maya_env)
    assert doc["task_id"] == tid and [piece["frame"] for piece in doc["logs"]] == [1, 2, 3, 4]
    assert "".join(p["text"] for p in doc["logs"] if p["frame"] == 2) == log


def test_a_stalled_render_is_killed_by_the_no_progress_timeout(scene: Path, maya_env: dict[str, str]) -> None:
    env = {**maya_env, "FAKE_RENDER_MODE": "hang-child", "RFARM_MAX_ATTEMPTS": "1"}
    tid = cli_json("submit", str(scene), "--frames", "1", "--no-progress-timeout", "0.05", "--json", env=env)["task_id"]
    worker = burst(env, timeout=90)
    assert worker.returncode == 0, worker.stderr
    doc = cli_json("status", str(tid), "--json", env=env)
    (frame,) = doc["frames"]
    assert frame["status"] == "failed"
    assert frame["error"] == "frame 1 made no progress for 0.05 min"
    assert psutil.wait_procs(fake_renders(), timeout=5)[1] == [], "the render and its child are gone"


def test_an_arnold_error_fails_the_frame_and_blocklists_the_only_node(scene: Path, maya_env: dict[str, str]) -> None:
    env = {**maya_env, "FAKE_RENDER_MODE": "fail"}
    tid = cli_json("submit", str(scene), "--json", env=env)["task_id"]
    assert burst(env).returncode == 0
    doc = cli_json("status", str(tid), "--json", env=env)
    assert doc["status"] == "failed"
    errors = {f["frame"]: f["error"] for f in doc["frames"]}
    assert errors[1] == "Arnold: [ai_shader] aiStandardSurface1: texture /proj/missing.tx not found"
    attempts = {f["frame"]: f["attempts"] for f in doc["frames"]}
    assert attempts == {1: 3, 2: 0, 3: 0, 4: 0}, "three failed renders, then the node is blocklisted"
    assert all(errors[n].startswith("no eligible node") for n in (2, 3, 4))
