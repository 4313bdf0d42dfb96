"""A node offers only the renderers it can run, a failed render names its cause, a submit names what nodes offer.

Real ``rfarm worker`` and ``rfarm submit`` processes; Blender through the bpy
module (the default when ``blender_executable`` is unset); the failed render's
error column through a worker whose Blender went missing after it started.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from importlib.metadata import version
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import TEST_USER, clean_env, run_cli

from rfarm.node.hardware import Hardware
from rfarm.node.worker import Worker
from rfarm.state import scheduler
from rfarm.state.models import Frame
from rfarm.state.scheduler import SubmitRequest

pytestmark = pytest.mark.e2e

MAYA_SCENE = """//Maya ASCII 2024 scene
//Name: shot.ma
requires maya "2024";
requires "mtoa" "5.3.5.2";
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
\tsetAttr ".rnd" yes;
select -ne :defaultRenderGlobals;
\tsetAttr ".ren" -type "string" "arnold";
\tsetAttr ".fs" 1;
\tsetAttr ".ef" 1;
"""


def burst(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "n1"], env=env,
                          capture_output=True, text=True, timeout=120)


def node_renderers(env: dict[str, str]) -> dict[str, str]:
    code, out, err = run_cli("nodes", "--json", env=env)
    assert code == 0, err
    (node,) = json.loads(out)
    return node["renderers"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env({"RFARM_HOME": str(tmp_path / "home"), "RFARM_USER": TEST_USER, "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize(("executable", "why"), [
    ("/nope/blender", "/nope/blender is not an executable file"),
    ("/bin/true", "/bin/true --version did not answer with a Blender version"),
])
def test_a_node_does_not_offer_a_blender_that_cannot_run(env: dict[str, str], tmp_path: Path, executable: str,
                                                         why: str, make_blend: Callable[..., Path]) -> None:
    env = {**env, "RFARM_BLENDER_EXECUTABLE": executable}
    done = burst(env)
    assert done.returncode == 0, done.stderr
    assert f"this node does not offer blender: {why} (blender_executable)" in done.stderr
    assert "node n1 offers no renderer" in done.stderr
    assert node_renderers(env) == {}
    scene = make_blend(tmp_path / "shot.blend", samples=1, frames=1, size=16)
    code, out, err = run_cli("submit", str(scene), "--frames", "1", env=env)
    assert code == 2
    assert err.strip().splitlines()[-1] == "Error: no node offers blender; the nodes offer no renderer"


def test_a_maya_task_is_told_which_renderers_the_nodes_offer(env: dict[str, str], tmp_path: Path) -> None:
    done = burst(env)  # no blender_executable: Blender through the bpy module
    assert done.returncode == 0, done.stderr
    bpy = ".".join(version("bpy").split(".")[:2])
    assert node_renderers(env) == {"blender": bpy}
    scene = tmp_path / "proj" / "shot.ma"
    scene.parent.mkdir()
    scene.write_text(MAYA_SCENE, encoding="utf-8")
    code, out, err = run_cli("submit", str(scene), "--force", env=env)
    assert code == 2, err
    assert err.strip().splitlines()[-1] == f"Error: no node offers maya; nodes offer: blender {bpy}"
    assert "not enough hardware" not in err


def test_a_render_that_cannot_start_fails_with_its_cause(farm: Any, config: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    scene = tmp_path / "shot.blend"
    scene.write_bytes(b"BLENDER17-01v0500" + bytes(47))
    scheduler.submit(SubmitRequest(scene=str(scene), renderer="blender", frames=[1]), user="alice")
    broken = dataclasses.replace(config, blender_executable="/nope/blender")  # gone since the node started
    worker = Worker(broken, name="n1", burst=True, hardware=Hardware("host", "Linux", "6", 4, 16.0),
                    renderers={"blender": "5.0"})
    worker.run()
    frame = Frame.get()
    assert frame.failures >= 1
    assert frame.error == "cannot start /nope/blender: No such file or directory"


def test_a_render_windows_cannot_start_fails_with_its_cause(farm: Any, config: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows the worker starts the program itself, so Popen's error reaches the worker (a stand-in raises it)."""
    import rfarm.node.worker

    def windows_popen_stand_in(argv: list[str], **_: Any) -> None:
        raise FileNotFoundError(2, "The system cannot find the file specified")

    monkeypatch.setattr(rfarm.node.worker, "RenderProcess", windows_popen_stand_in)
    scene = tmp_path / "shot.blend"
    scene.write_bytes(b"BLENDER17-01v0500" + bytes(47))
    scheduler.submit(SubmitRequest(scene=str(scene), renderer="blender", frames=[1]), user="alice")
    broken = dataclasses.replace(config, blender_executable="C:/Blender/blender.exe")
    worker = Worker(broken, name="n1", burst=True, hardware=Hardware("host", "Linux", "6", 4, 16.0),
                    renderers={"blender": "5.0"})
    worker.run()
    assert worker.failed is None
    frame = Frame.get()
    assert frame.error == "cannot start C:/Blender/blender.exe: The system cannot find the file specified"
