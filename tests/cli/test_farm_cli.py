"""`rfarm hardware`, `nodes`, `hwconfig`, `stats`, and signed queue messages."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from rfarm_testlib import TEST_USER, assert_one_error_line, run_cli

from rfarm.state.queue import Queue


def cli_json(env: dict[str, str], *args: str) -> Any:
    code, out, err = run_cli(*args, "--json", env=env)
    assert code == 0, err
    return json.loads(out)


def test_hardware_reports_this_machine(home_env: dict[str, str]) -> None:
    import psutil

    hw = cli_json(home_env, "hardware")
    assert hw["cpu_count"] == os.cpu_count()
    assert abs(hw["ram_gb"] - psutil.virtual_memory().total / 2**30) < 0.2
    assert isinstance(hw["gpus"], list)  # no GPU here is normal, not an error
    assert hw["disk_free_gb"] > 0 and Path(hw["disk_path"]).exists()


@pytest.mark.e2e
def test_hwconfig_needs_are_checked_at_submit(home_env: dict[str, str], tmp_path: Path) -> None:
    scene = tmp_path / "s.ma"
    scene.write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\ncreateNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n', encoding="utf-8")
    code, _, err = run_cli("hwconfig", "add", "huge", "--ram", "8", env=home_env)
    assert code == 4 and "needs the manager role" in err  # artists do not change the farm's configs
    home_env = {**home_env, "RFARM_ADMINS": TEST_USER}
    made = cli_json(home_env, "hwconfig", "add", "huge", "--ram", "100000", "--gpus", "16", "--tag", "gpu")
    assert made == {"name": "huge", "ram_gb": 100000.0, "gpus": 16, "gpu_memory_gb": 0.0, "tags": ["gpu"]}
    assert [c["name"] for c in cli_json(home_env, "hwconfig", "list")] == ["huge"]
    # no node known yet: accepted with a warning
    doc = cli_json(home_env, "submit", str(scene), "--frames", "1", "--hardware-config", "huge")
    assert doc["warnings"] and "no render node" in doc["warnings"][0]
    # a Maya node registers (a burst worker with nothing to render for it; Maya's Render is the fake)
    fake_render = Path(__file__).resolve().parents[1] / "fakes" / "fake_render.py"
    worker = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "small"],
                            env={**home_env, "RFARM_MAYA_EXECUTABLE": str(fake_render)},
                            capture_output=True, text=True, timeout=60)
    assert worker.returncode == 0, worker.stderr
    code, out, err = run_cli("submit", str(scene), "--frames", "1", "--hardware-config", "huge", "--json", env=home_env)
    assert_one_error_line(code, out, err, json_doc=True)
    assert err.strip().startswith("Error: not enough hardware") and "the largest node, small" in err
    code, _, err = run_cli("submit", str(scene), "--hardware-config", "nope", env=home_env)
    assert code == 2 and "no hardware config named 'nope'" in err
    assert cli_json(home_env, "hwconfig", "remove", "huge") == {"name": "huge", "removed": True}
    assert cli_json(home_env, "hwconfig", "list") == []


@pytest.mark.e2e
def test_nodes_list_disable_enable(home_env: dict[str, str], tmp_path: Path) -> None:
    scene = tmp_path / "s.ma"
    scene.write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\ncreateNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n', encoding="utf-8")
    env = {**home_env, "RFARM_MAYA_EXECUTABLE": str(Path(__file__).resolve().parents[1] / "fakes" / "fake_render.py")}
    burst = [sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "n1", "--tag", "fx"]
    assert subprocess.run(burst, env=env, capture_output=True, timeout=60).returncode == 0
    (node,) = cli_json(env, "nodes")
    assert (node["name"], node["is_enabled"], node["tags"]) == ("n1", True, ["fx"])
    assert node["state"].startswith("offline since ") and "maya" in node["renderers"]
    code, _, err = run_cli("nodes", "disable", "n1", env=env)
    assert code == 4 and "needs the manager role" in err  # artists do not change the farm's nodes
    env = {**env, "RFARM_ADMINS": TEST_USER}
    assert cli_json(env, "nodes", "disable", "n1") == {"node": "n1", "enabled": False}
    tid = cli_json(env, "submit", str(scene), "--frames", "1")["task_id"]
    assert subprocess.run(burst, env=env, capture_output=True, timeout=60).returncode == 0
    assert cli_json(env, "status", str(tid))["frames"][0]["status"] == "queued", "a disabled node claims nothing"
    assert cli_json(env, "nodes", "enable", "n1") == {"node": "n1", "enabled": True}
    assert subprocess.run(burst, env=env, capture_output=True, timeout=60).returncode == 0
    assert cli_json(env, "status", str(tid))["status"] == "done"
    stats = cli_json(env, "stats")
    assert stats["done"] == 1 and stats["success_rate"] == 1.0 and stats["queued"] == {"high": 0, "default": 0, "low": 0}
    assert [n["node"] for n in stats["nodes"]] == ["n1"] and stats["nodes"][0]["mean_frame_s"] > 0
    assert stats["nodes"][0]["upload_mb_s"] > 0 and stats["upload_mb_s"] == stats["nodes"][0]["upload_mb_s"]
    assert stats["nodes"][0]["download_mb_s"] > 0 and stats["download_mb_s"] == stats["nodes"][0]["download_mb_s"]
    code, out, err = run_cli("nodes", "disable", "ghost", "--json", env=env)
    assert_one_error_line(code, out, err, json_doc=True)
    assert json.loads(out)["error"]["type"] == "NotFoundError" and "no node named 'ghost'" in err


def test_queue_messages_signed_with_another_secret_are_refused(redis_url: str, tmp_path: Path) -> None:
    ours = Queue(redis_url, secret="farm-secret")
    Queue(redis_url, secret="someone-else").notify(7)
    assert ours.wait(1.5) is None, "a wake-up signed with another secret is dropped"
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(marker), "w"))

    client = redis.Redis.from_url(redis_url)
    client.zadd(ours.huey.storage.queue_key, {pickle.dumps(Exploit()): 0})
    assert ours.wait(1.5) is None
    assert not marker.exists(), "an unsigned payload in Redis must not run code on a node"
    ours.notify(8)
    assert ours.wait(2) == 8


def test_a_shared_queue_needs_a_secret(home_env: dict[str, str], redis_url: str, tmp_path: Path) -> None:
    scene = tmp_path / "s.ma"
    scene.write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\ncreateNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n', encoding="utf-8")
    env = {**home_env, "RFARM_QUEUE_URL": redis_url}
    code, out, err = run_cli("submit", str(scene), "--frames", "1", "--json", env=env)
    assert_one_error_line(code, out, err, json_doc=True)
    assert "queue_secret must be set" in err
    code, out, _ = run_cli("list", "--json", env={**env, "RFARM_QUEUE_URL": ""})
    assert json.loads(out) == [], "the refused submit recorded nothing"
    code, _, err = run_cli("submit", str(scene), "--frames", "1", env={**env, "RFARM_QUEUE_SECRET": "x"})
    assert code == 0, err
