"""An Unreal task through submit and the worker, with tests/fakes/fake_unreal.py standing in for UnrealEditor-Cmd."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rfarm_testlib import TEST_USER, clean_env, run_cli

from rfarm.errors import UsageError
from rfarm.renderers.base import RenderJob
from rfarm.renderers.unreal import UnrealRenderer
from rfarm.submit.submission import parse_options

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "fake_unreal.py"


def test_renderer_options_parse_and_protect_rfarm_keys() -> None:
    assert parse_options(["config=/Game/Render/Preset", " map = /Game/Maps/L_Street "]) == {
        "config": "/Game/Render/Preset", "map": "/Game/Maps/L_Street"}
    for bad in ("config", "=x", "Config=/x", "files=in-place", "width=10"):
        with pytest.raises(UsageError):
            parse_options([bad])


def test_unreal_outputs_are_found_in_the_configs_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "Saved" / "MovieRenders"
    out.mkdir(parents=True)
    for frame in (9, 10, 11):
        (out / f"sh010.{frame:04d}.png").write_bytes(b"x")
    job = RenderJob(scene="C:/proj/Street.uproject", frames=(9, 10, 11), output_dir=str(tmp_path / "attempt"),
                    options={"config": "/Game/Render/Preset", "output_dir": str(out)})
    assert UnrealRenderer().frame_outputs(job, 10, []) == [out / "sh010.0010.png"]


@pytest.mark.e2e
def test_an_unreal_task_renders_through_the_worker(tmp_path: Path) -> None:
    project = tmp_path / "Street" / "Street.uproject"
    project.parent.mkdir()
    project.write_text('{"FileVersion": 3, "EngineAssociation": "5.4"}', encoding="utf-8")
    out = tmp_path / "Saved" / "MovieRenders"
    env = clean_env({"RFARM_HOME": str(tmp_path / "home"), "RFARM_USER": TEST_USER,
                     "RFARM_UNREAL_EXECUTABLE": str(FAKE), "FAKE_UNREAL_OUT": str(out), "FAKE_UNREAL_FRAMES": "1-3"})
    code, stdout, stderr = run_cli(
        "submit", str(project), "--frames", "1-3", "--chunk", "3", "--option", "config=/Game/Render/Preset",
        "--option", f"output_dir={out}", "--option", "map=/Game/Maps/L_Street", "--json", env=env)
    assert code == 0, stderr
    submitted = json.loads(stdout)
    assert submitted["files"] == "in-place", "an Unreal project is a folder: it renders where it is"
    task_id = submitted["task_id"]
    worker = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr
    code, stdout, _ = run_cli("status", str(task_id), "--json", env=env)
    doc = json.loads(stdout)
    assert doc["status"] == "done", doc
    for f in doc["frames"]:
        (png,) = f["outputs"]
        assert Path(png).name == f"sh010.{f['frame']:04d}.png" and Path(png).read_bytes().startswith(b"\x89PNG")
    code, log, _ = run_cli("logs", str(task_id), "--frame", "1", env=env)
    command = next(line for line in log.splitlines() if line.startswith("$ "))
    assert command.endswith(f"{project} /Game/Maps/L_Street -game -MoviePipelineConfig=/Game/Render/Preset "
                            "-windowed -RenderOffscreen -Unattended -log -StdOut -allowStdOutLogVerbosity")
    code, _, err = run_cli("submit", str(project), "--frames", "1", "--option", "files=x", env=env)
    assert code == 2 and "set by rfarm itself" in err
