"""The CLI gives the same documents and exit codes on this machine's farm and through ``rfarm serve``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from rfarm_testlib import assert_one_error_line, run_cli

pytestmark = pytest.mark.e2e  # the remote half runs a real server

SCENE = ('//Maya ASCII 2024 scene\nrequires maya "2024";\nplaybackOptions -min 1 -max 4;\n'
         'createNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n')
TASK_KEYS = {"task_id", "status", "user", "name", "scene", "renderer", "priority", "frames_spec", "created_at",
             "finished_at", "counts"}
HUGE = "99999999999999999999999"


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "shot.ma"
    path.parent.mkdir()
    path.write_text(SCENE, encoding="utf-8")
    (path.parent / "tex.png").write_bytes(b"\x89PNG" + b"t" * 3000)
    return path


def ok(*args: str, env: dict[str, str]) -> object:
    code, out, err = run_cli(*args, "--json", env=env)
    assert code == 0, f"rfarm {' '.join(args)} exited {code}: {err}"
    return json.loads(out)


def test_submit_status_list_and_control(both, scene: Path) -> None:  # type: ignore[no-untyped-def]
    alice = both.env_for("alice")
    doc = ok("submit", str(scene), "--frames", "1-3", "--test-frame", "2", "--upload", env=alice)
    tid = doc["task_id"]
    assert (doc["status"], doc["frames"], doc["test_frames"], doc["files"]) == ("queued", 3, [2], "upload")
    status = ok("status", str(tid), env=alice)
    assert set(status) == TASK_KEYS | {"progress", "eta_s", "waiting", "frames"} and status["user"] == "alice"
    assert sorted(f["frame"] for f in status["frames"]) == [1, 2, 3]
    assert [t["task_id"] for t in ok("list", env=alice)] == [tid]
    assert [t["task_id"] for t in ok("list", "--status", "queued", env=alice)] == [tid]
    assert ok("list", "--status", "done", env=alice) == []
    assert ok("pause", str(tid), env=alice) == {"task_id": tid, "status": "paused"}
    assert ok("resume", str(tid), env=alice)["status"] == "queued"
    assert ok("cancel", str(tid), env=alice) == {"task_id": tid, "status": "cancelled", "frames_cancelled": 3}
    assert ok("retry", str(tid), env=alice) == {"task_id": tid, "status": "queued", "frames_requeued": 3,
                                                "blocklist_cleared": 0}
    assert set(ok("cleanup", str(tid), env=alice)) == {"task_id", "status", "removed"}
    if both.remote:
        assert not (Path(alice["RFARM_HOME"]) / "rfarm.db").exists(), "no database on the artist's machine"


def test_unknown_and_other_users_tasks_are_one_line(both, scene: Path) -> None:  # type: ignore[no-untyped-def]
    alice, bob = both.env_for("alice"), both.env_for("bob")
    tid = ok("submit", str(scene), "--frames", "1-2", env=bob)["task_id"]
    for command in ("status", "cancel", "pause", "resume", "retry", "cleanup", "delete", "logs", "download"):
        for task in ("999", HUGE, str(tid)):
            line = assert_one_error_line(*run_cli(command, task, env=alice))
            assert task in line, (command, line)
    code, out, err = run_cli("status", str(tid), "--json", env=alice)
    assert_one_error_line(code, out, err, json_doc=True)
    assert json.loads(out)["error"]["type"] == "NotFoundError"
    assert ok("list", env=alice) == []
    assert_one_error_line(*run_cli("list", "--all", env=alice), exit_code=4)
    assert ok("status", str(tid), env=bob)["status"] == "queued", "nothing alice tried changed bob's task"
    boss = both.env_for("boss", "manager")
    assert [t["task_id"] for t in ok("list", "--all", env=boss)] == [tid]
    assert ok("cancel", str(tid), "--all", env=boss)["status"] == "cancelled"


def test_farm_commands_and_roles(both) -> None:  # type: ignore[no-untyped-def]
    alice, boss = both.env_for("alice"), both.env_for("boss", "admin")
    assert ok("nodes", env=alice) == []
    assert ok("hwconfig", "list", env=alice) == []
    code, out, err = run_cli("hwconfig", "add", "big", "--ram", "64", "--json", env=alice)
    assert_one_error_line(code, out, err, exit_code=4, json_doc=True)
    assert ok("hwconfig", "add", "big", "--ram", "64", "--tag", "gpu", env=boss) == {
        "name": "big", "ram_gb": 64.0, "gpus": 0, "gpu_memory_gb": 0.0, "tags": ["gpu"]}
    assert [c["name"] for c in ok("hwconfig", "list", env=alice)] == ["big"]
    assert ok("hwconfig", "remove", "big", env=boss) == {"name": "big", "removed": True}
    stats = ok("stats", env=alice)
    assert stats["queued"] == {"high": 0, "default": 0, "low": 0} and stats["nodes"] == []
    code, out, err = run_cli("nodes", "--json", "disable", "ghost", env=boss)
    assert_one_error_line(code, out, err, json_doc=True)
    assert_one_error_line(*run_cli("stats", "--hours", "nan", env=alice))
    for value in ("nan", "inf", "-1", "1e308"):
        assert_one_error_line(*run_cli("hwconfig", "add", "odd", "--ram", value, env=boss))
        assert_one_error_line(*run_cli("hwconfig", "add", "odd", "--gpu-memory", value, env=boss))
    assert ok("hwconfig", "list", env=alice) == []


def test_upload_dedup_is_per_user(both, scene: Path) -> None:  # type: ignore[no-untyped-def]
    alice, bob = both.env_for("alice"), both.env_for("bob")
    first = ok("upload", str(scene.parent), "--dedup", env=alice)
    assert (first["uploaded"], first["skipped"]) == (2, 0)
    again = ok("upload", str(scene.parent), "--dedup", env=alice)
    assert (again["uploaded"], again["skipped"]) == (0, 2)
    theirs = ok("upload", str(scene.parent), "--dedup", env=bob)
    assert (theirs["uploaded"], theirs["skipped"]) == (2, 0), "bob's store is his own"


def test_bad_numbers_are_refused_before_the_farm(both, scene: Path) -> None:  # type: ignore[no-untyped-def]
    alice = both.env_for("alice")
    for flag, value in (("--timeout", "nan"), ("--timeout", "1e300"), ("--ram", "nan"), ("--priority", "urgent"),
                        ("--frames", "9-1"), ("--test-frame", "77")):
        args = ["submit", str(scene), "--frames", "1-4", flag, value] if flag != "--frames" else \
               ["submit", str(scene), flag, value]
        assert_one_error_line(*run_cli(*args, env=alice))
    assert ok("list", env=alice) == []


def test_users_commands(both) -> None:  # type: ignore[no-untyped-def]
    admin, alice = both.env_for("wrangler", "admin"), both.env_for("alice")
    made = ok("users", "add", "carol", "--role", "viewer", env=admin)
    assert set(made) == {"name", "role", "token"} and made["role"] == "viewer"
    assert "carol" in {u["name"] for u in ok("users", "list", env=admin)}
    code, out, err = run_cli("users", "add", "mallory", "--role", "admin", "--json", env=alice)
    assert_one_error_line(code, out, err, exit_code=4, json_doc=True)


def test_a_render_read_back_logs_downloads_and_waits(both, tmp_path: Path, make_blend) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    alice = both.env_for("alice")
    scene = make_blend(tmp_path / "shots" / "turntable.blend", samples=1, frames=2, size=16)
    tid = ok("submit", str(scene), "--frames", "1-2", "--test-frame", "1", "--upload", env=alice)["task_id"]
    worker = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "n1"], env=both.farm_env,
                            capture_output=True, text=True, timeout=240)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    status = ok("status", str(tid), env=alice)
    assert status["status"] == "done" and all(f["worker"] == "n1" for f in status["frames"])
    code, log, err = run_cli("logs", str(tid), "--frame", "2", env=alice)
    assert code == 0 and "RFARM FRAME 2 done" in log and "frame_0002.png" in log, err
    logs = ok("logs", str(tid), env=alice)
    assert sorted(p["frame"] for p in logs["logs"]) == [1, 2] and all(p["text"] for p in logs["logs"])
    got = ok("download", str(tid), "--dest", str(tmp_path / "renders"), env=alice)
    files = sorted(p for p in (tmp_path / "renders").rglob("*") if p.is_file())
    assert len(files) == 2 and got["files"] == 2
    line = assert_one_error_line(*run_cli("retry", str(tid), "--failed", env=alice))
    assert "no failed frames" in line


def claim_a_frame(both) -> str:  # type: ignore[no-untyped-def]
    """A node on the farm's own side takes a frame, as a worker would: it is rendering now."""
    from rfarm.api import LocalFarm
    from rfarm.config import load_config
    from rfarm.state import scheduler

    LocalFarm(load_config(both.farm_env))._open()
    claim = scheduler.claim("node-1", lease_s=600)
    assert claim is not None
    return claim.token


def test_cleanup_refuses_under_a_render_unless_forced(both, scene: Path) -> None:  # type: ignore[no-untyped-def]
    alice = both.env_for("alice")
    tid = ok("submit", str(scene), "--frames", "1-2", env=alice)["task_id"]
    claim_a_frame(both)
    line = assert_one_error_line(*run_cli("cleanup", str(tid), env=alice))
    assert f"task {tid}: 1 frame is rendering" in line and "--force" in line
    assert ok("status", str(tid), env=alice)["status"] == "rendering", "nothing was cancelled"
    forced = ok("cleanup", str(tid), "--force", env=alice)
    assert forced["status"] == "cancelled" and forced["frames_cancelled"] == 2 and "removed" in forced
    assert ok("cleanup", str(tid), env=alice)["status"] == "cancelled", "nothing renders now: no --force needed"


def test_delete_removes_the_task_and_its_files_no_other_task_uses(both, scene: Path) -> None:  # type: ignore[no-untyped-def]
    from rfarm.config import load_config
    from rfarm.storage import open_storage

    alice, bob = both.env_for("alice"), both.env_for("bob")
    kept = ok("submit", str(scene), "--frames", "1-2", "--upload", env=alice)["task_id"]
    own = scene.with_name("shot_v2.ma")
    own.write_text(SCENE + "// saved again\n", encoding="utf-8")
    tid = ok("submit", str(own), "--frames", "1-2", "--upload", "--priority", "high", env=alice)["task_id"]
    ok("submit", str(own), "--frames", "1", "--upload", env=bob)  # bob's copy is his, in his own store
    storage = open_storage(load_config(both.farm_env).storage)

    def objects() -> set[str]:
        return {k for k in storage.list("users/") if "/objects/" in k}

    before = objects()
    assert any(k.startswith(f"tasks/{tid}/") for k in storage.list("tasks/"))
    for args in (("delete", str(tid)), ("delete", str(tid), "--json")):  # no terminal to ask on, and no --yes
        code, out, err = run_cli(*args, env=alice)
        assert "--yes" in assert_one_error_line(code, out, err, json_doc="--json" in args)
    assert f"no task {tid}" in assert_one_error_line(*run_cli("delete", str(tid), "--yes", env=bob))
    claim_a_frame(both)  # the high-priority task's first frame
    line = assert_one_error_line(*run_cli("delete", str(tid), "--yes", env=alice))
    assert f"task {tid}: 1 frame is rendering" in line and "--force" in line
    assert ok("status", str(tid), env=alice)["status"] == "rendering", "nothing was deleted or cancelled"

    gone = ok("delete", str(tid), "--yes", "--force", env=alice)
    assert gone == {"task_id": tid, "deleted": True, "frames": 2, "frames_cancelled": 2, "objects_removed": 1,
                    "bytes_freed": own.stat().st_size}
    assert str(tid) in assert_one_error_line(*run_cli("status", str(tid), env=alice))
    assert not any(k.startswith(f"tasks/{tid}/") for k in storage.list("tasks/"))
    assert len(before - objects()) == 1 and len(objects()) == len(before) - 1, "the shared scene and bob's stay"
    assert [t["task_id"] for t in ok("list", env=alice)] == [kept]
    assert ok("upload", str(scene), str(own), env=alice)["uploaded"] == 1, "only the deleted task's own file is gone"
    audit = ok("audit", env=both.env_for("boss", "manager"))
    assert any(e["action"] == "task_deleted" and e["subject"] == f"task:{tid}" for e in audit)
