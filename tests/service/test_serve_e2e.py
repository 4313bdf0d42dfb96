"""``rfarm serve`` for real: an artist's CLI with only a URL and a token, a worker on the farm's side."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import assert_one_error_line, clean_env, run_cli, run_cli_process

pytestmark = pytest.mark.e2e


def add_user(farm_env: dict[str, str], name: str, role: str) -> str:
    code, out, err = run_cli_process("users", "add", name, "--role", role, "--json", env=farm_env)
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"name", "role", "token"} and doc["name"] == name and doc["role"] == role
    return str(doc["token"])


def artist_env(tmp_path: Path, name: str, url: str, token: str) -> dict[str, str]:
    home = tmp_path / f"artist-{name}"
    home.mkdir()
    return clean_env({"RFARM_HOME": str(home), "RFARM_SERVER_URL": url, "RFARM_TOKEN": token})


def test_an_artist_submits_watches_and_downloads_through_the_server(
    tmp_path: Path, make_blend: Callable[..., Path], start_server: Callable[..., Any],
) -> None:
    farm_home = tmp_path / "farm"
    farm_env = clean_env({"RFARM_HOME": str(farm_home), "RFARM_USER": "boss"})
    add_user(farm_env, "boss", "admin")  # the first admin, made on the server's machine; then boss adds the rest
    tokens = {name: add_user(farm_env, name, "artist") for name in ("alice", "bob")}
    server = start_server(farm_env)
    alice = artist_env(tmp_path, "alice", server.url, tokens["alice"])
    bob = artist_env(tmp_path, "bob", server.url, tokens["bob"])
    scene = make_blend(tmp_path / "project" / "shot.blend", samples=1, frames=2, size=16)

    code, out, err = run_cli("submit", str(scene), "--frames", "1-2", "--test-frame", "1", "--upload", "--json",
                             env=alice)
    assert code == 0, err
    task_id = json.loads(out)["task_id"]
    assert json.loads(out)["upload"]["uploaded"] >= 1
    assert not (Path(alice["RFARM_HOME"]) / "rfarm.db").exists(), "the artist's machine holds no database"

    # the second artist can neither see nor touch it
    for args in (["status", str(task_id)], ["cancel", str(task_id)], ["logs", str(task_id)],
                 ["download", str(task_id), "--dest", str(tmp_path / "stolen")]):
        line = assert_one_error_line(*run_cli(*args, env=bob))
        assert str(task_id) in line
    code, out, _ = run_cli("list", "--json", env=bob)
    assert code == 0 and json.loads(out) == []
    code, _, err = run_cli("status", str(task_id), "--all", env=bob)
    assert code == 4, err

    # the artist watches live (the event stream) while a node on the farm's side renders
    watcher = subprocess.Popen([sys.executable, "-m", "rfarm", "status", str(task_id), "--watch", "--json"], env=alice,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        worker = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "n1"], env=farm_env,
                                capture_output=True, text=True, timeout=240)
        assert worker.returncode == 0, worker.stdout + worker.stderr
        seen = []
        assert watcher.stdout is not None
        for line in watcher.stdout:
            seen.append(json.loads(line)["status"])
            if seen[-1] == "done":
                break
    finally:
        watcher.kill()
        watcher.wait(10)
    assert seen[-1] == "done" and len(seen) >= 2 and seen[0] != "done", f"documents as the task went: {seen}"
    code, out, err = run_cli("status", str(task_id), "--json", env=alice)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "done" and [f["status"] for f in doc["frames"]] == ["done", "done"]
    dest = tmp_path / "renders"
    code, out, err = run_cli("download", str(task_id), "--dest", str(dest), "--json", env=alice)
    assert code == 0, err
    files = sorted(p for p in dest.rglob("*") if p.is_file())
    assert len(files) == 2 and all(p.stat().st_size > 0 for p in files)
    code, out, err = run_cli("logs", str(task_id), "--frame", "1", env=alice)
    assert code == 0 and out.strip(), err
    assert server.stop() == 0, server.log.read_text()[-2000:]
    log = server.log.read_text()
    assert f"GET /api/tasks/{task_id}/status 200" in log and " alice" in log
    assert tokens["alice"] not in log and tokens["bob"] not in log, "the request log never shows a token"


def test_without_a_token_or_server_one_line_says_what_to_do(tmp_path: Path, start_server: Callable[..., Any]) -> None:
    farm_env = clean_env({"RFARM_HOME": str(tmp_path / "farm")})
    server = start_server(farm_env)
    env = artist_env(tmp_path, "nobody", server.url, "")
    line = assert_one_error_line(*run_cli("list", env=env), exit_code=4)
    assert "rfarm login" in line
    env = artist_env(tmp_path, "forged", server.url, "eyJhbGciOiJIUzI1NiJ9.e30.sig")
    assert_one_error_line(*run_cli("list", "--json", env=env), exit_code=4, json_doc=True)
    assert server.stop() == 0
    line = assert_one_error_line(*run_cli("list", env=env), exit_code=3)
    assert server.url in line


def test_the_sdk_submits_waits_and_downloads(tmp_path: Path, make_blend: Callable[..., Path],
                                              start_server: Callable[..., Any]) -> None:
    import threading

    from rfarm.client import Client
    from rfarm.errors import NotFoundError

    farm_env = clean_env({"RFARM_HOME": str(tmp_path / "farm"), "RFARM_USER": "boss"})
    tokens = {name: add_user(farm_env, name, "artist") for name in ("alice", "bob")}
    server = start_server(farm_env)
    scene = make_blend(tmp_path / "project" / "turntable.blend", samples=1, frames=2, size=16)
    with Client(server.url, tokens["alice"]) as farm:
        assert farm.whoami() == {"user": "alice", "role": "artist"}
        task_id = farm.submit(scene, frames="1-2", test_frames=["2"], files="upload")
        worker = threading.Thread(target=subprocess.run, args=(
            [sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "n1"],), kwargs={"env": farm_env,
            "capture_output": True, "timeout": 240})
        worker.start()
        final = farm.wait(task_id, timeout_s=240)
        worker.join(60)
        assert final.status == "done" and final.counts["done"] == 2
        paths = farm.download(task_id, tmp_path / "renders")
        assert len(paths) == 2 and all(p.stat().st_size > 0 for p in paths)
    with Client(server.url, tokens["bob"]) as other, pytest.raises(NotFoundError):
        other.status(task_id)
