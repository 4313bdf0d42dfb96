"""The ``rfarm`` command: exit codes, one-line errors, JSON documents."""
from __future__ import annotations

import json
import re
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import TEST_USER, assert_one_error_line, clean_env, cli_json, run_cli

ISO_UTC_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
TASK_STATES = {"queued", "rendering", "held", "paused", "done", "failed", "cancelled"}
FRAME_STATES = {"queued", "running", "done", "failed", "cancelled"}
FRAME_KEYS = {"frame", "status", "attempts", "is_test", "worker", "error", "started_at", "finished_at", "outputs"}


@pytest.fixture
def scene(tmp_path: Path, make_blend: Callable[..., Path]) -> Path:
    return make_blend(tmp_path / "scenes" / "shot.blend", samples=1, frames=3, size=16)


def tasks_recorded(home: Path) -> int:
    db = home / "rfarm.db"
    if not db.exists():
        return 0
    conn = sqlite3.connect(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return conn.execute("SELECT COUNT(*) FROM task").fetchone()[0] if "task" in tables else 0
    finally:
        conn.close()


def submit(scene: Path, env: dict[str, str], *args: str) -> int:
    doc = cli_json("submit", str(scene), *args, env=env)
    assert isinstance(doc["task_id"], int)
    return int(doc["task_id"])


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle", "pristine"),
    [
        # the contract's cases are refused before anything is opened: not even a database appears
        (["--frames", "10-1"], "10-1", True),
        (["--frames", "abc"], "abc", True),
        (["--frames", "1-5x0"], "step", True),
        (["--frames", "1-3", "--priority", "urgent"], "urgent", True),
        (["--frames", "1-3", "--chunk", "0"], "chunk", True),
        (["--frames", "1-3", "--renderer", "povray"], "povray", True),
        (["--frames", "1-3", "--stop-after-test"], "test-frame", True),
        (["--frames", "1-3", "--test-frame", "9"], "9", True),
    ],
)
def test_bad_submit_exits_2_with_one_line_and_writes_nothing(
    scene: Path, home: Path, home_env: dict[str, str], args: list[str], needle: str, pristine: bool
) -> None:
    line = assert_one_error_line(*run_cli("submit", str(scene), *args, env=home_env))
    assert needle in line
    assert tasks_recorded(home) == 0
    if pristine:
        assert list(home.iterdir()) == []


def test_missing_scene_exits_2(tmp_path: Path, home: Path, home_env: dict[str, str]) -> None:
    missing = tmp_path / "nowhere" / "shot.blend"
    line = assert_one_error_line(*run_cli("submit", str(missing), "--frames", "1-3", env=home_env))
    assert "does not exist" in line and str(missing) in line
    assert list(home.iterdir()) == []


def test_unknown_task_exits_2(scene: Path, home: Path, home_env: dict[str, str]) -> None:
    tid = submit(scene, home_env, "--frames", "1-2")
    for command, task in [
        ("status", "999"), ("cancel", "999"), ("logs", "999"), ("pause", "999"), ("resume", "999"),
        ("retry", "999"), ("cleanup", "999"), ("status", "abc"), ("cancel", "abc"),
    ]:
        line = assert_one_error_line(*run_cli(command, task, env=home_env))
        assert task in line, (command, line)
    assert_one_error_line(*run_cli("logs", str(tid), "--frame", "77", env=home_env))
    doc = cli_json("status", str(tid), env=home_env)
    assert doc["status"] == "queued" and {f["status"] for f in doc["frames"]} == {"queued"}
    assert tasks_recorded(home) == 1


def test_another_users_task_is_not_found(scene: Path, home: Path, home_env: dict[str, str]) -> None:
    tid = submit(scene, home_env, "--frames", "1-2", "--user", "bob")
    for command in (["status"], ["cancel"], ["logs"]):
        assert_one_error_line(*run_cli(*command, str(tid), env=home_env))
    assert cli_json("status", env=home_env) == []
    assert [t["task_id"] for t in cli_json("status", env={**home_env, "RFARM_USER": "bob"})] == [tid]
    # --all is for admins only
    assert_one_error_line(*run_cli("status", str(tid), "--all", env=home_env), exit_code=4)
    admin_env = {**home_env, "RFARM_ADMINS": TEST_USER}
    assert cli_json("status", str(tid), "--all", env=admin_env)["status"] == "queued"
    assert cli_json("cancel", str(tid), "--all", env=admin_env)["status"] == "cancelled"


def test_bad_config_value_exits_2(home_env: dict[str, str]) -> None:
    line = assert_one_error_line(*run_cli("status", env={**home_env, "RFARM_LEASE_SECONDS": "soon"}))
    assert "lease_seconds" in line


@pytest.mark.parametrize(
    ("env", "exit_code", "needle"),
    [
        ({"RFARM_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}, 3, "cannot open the database"),
        ({"RFARM_DATABASE_URL": "mysql://farm/db"}, 2, "database_url must be sqlite://"),
        ({"RFARM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432"}, 2, "names no database"),
    ],
)
def test_database_problems_are_one_line(home_env: dict[str, str], env: dict[str, str], exit_code: int, needle: str) -> None:
    line = assert_one_error_line(*run_cli("status", env={**home_env, **env}), exit_code=exit_code)
    assert needle in line


@pytest.mark.parametrize("garbage", ["not-a-database", "a-folder"])
def test_a_broken_database_file_is_one_line(home: Path, home_env: dict[str, str], garbage: str) -> None:
    db = home / "rfarm.db"
    if garbage == "a-folder":
        db.mkdir()
    else:
        db.write_bytes(b"this is not SQLite" * 512)
    line = assert_one_error_line(*run_cli("status", env=home_env), exit_code=3)
    assert str(db) in line


def test_unknown_option_exits_2_without_traceback(scene: Path, home_env: dict[str, str]) -> None:
    code, out, err = run_cli("submit", str(scene), "--frames", "1-3", "--no-such-flag", env=home_env)
    assert code == 2 and "Traceback" not in err and out == ""
    assert err.strip().splitlines()[-1].startswith("Error")


# -- JSON documents --------------------------------------------------------------------


def test_every_json_output_is_one_document(scene: Path, home_env: dict[str, str]) -> None:
    code, out, err = run_cli("submit", str(scene), "--frames", "1-3", "--test-frame", "2", "--json", env=home_env)
    assert code == 0, err
    doc = json.loads(out)
    tid = doc["task_id"]
    assert isinstance(tid, int) and doc["status"] == "queued" and doc["test_frames"] == [2]
    for args in (
        ["status"], ["status", str(tid)], ["list"], ["list", "--status", "queued"], ["config", "show"],
        ["pause", str(tid)], ["resume", str(tid)], ["cancel", str(tid)], ["retry", str(tid)], ["cleanup", str(tid)],
    ):
        code, out, err = run_cli(*args, "--json", env=home_env)
        assert code == 0, f"rfarm {' '.join(args)}: {err}"
        json.loads(out)  # exactly one document: trailing data would raise
        assert out.strip().startswith(("{", "["))


def test_status_json_shape(scene: Path, home: Path, home_env: dict[str, str], farm: Any) -> None:
    tid = submit(scene, home_env, "--frames", "1-3", "--test-frame", "2")
    # render the test frame through the library on the same home
    from rfarm.state import scheduler

    c = scheduler.claim("node-x", lease_s=60)
    assert c is not None and [f.number for f in c.frames] == [2]
    out_png = home / "results" / "frame_0002.png"
    scheduler.finish_frame(c.frames[0].id, c.token, outputs=[str(out_png)])
    farm.db.close()

    doc = cli_json("status", str(tid), env=home_env)
    assert {"task_id", "status", "frames"} <= set(doc)
    assert doc["task_id"] == tid and doc["status"] in TASK_STATES and doc["status"] == "rendering"
    assert len(doc["frames"]) == 3
    assert sorted(f["frame"] for f in doc["frames"]) == [1, 2, 3]
    for f in doc["frames"]:
        assert FRAME_KEYS <= set(f)
        assert f["status"] in FRAME_STATES
        assert isinstance(f["attempts"], int) and isinstance(f["is_test"], bool) and isinstance(f["outputs"], list)
        for key in ("started_at", "finished_at"):
            assert f[key] is None or ISO_UTC_MICROS.match(f[key]), f[key]
    by_frame = {f["frame"]: f for f in doc["frames"]}
    test = by_frame[2]
    assert (test["status"], test["is_test"], test["attempts"], test["worker"], test["error"]) == (
        "done", True, 1, "node-x", None)
    assert test["outputs"] == [str(out_png)] and Path(test["outputs"][0]).is_absolute()
    started = datetime.fromisoformat(test["started_at"])
    finished = datetime.fromisoformat(test["finished_at"])
    assert started.utcoffset() == timedelta(0) and started <= finished
    assert abs(datetime.now(started.tzinfo) - finished) < timedelta(minutes=5)
    for n in (1, 3):
        assert (by_frame[n]["status"], by_frame[n]["is_test"], by_frame[n]["attempts"]) == ("queued", False, 0)
        assert by_frame[n]["started_at"] is None and by_frame[n]["worker"] is None and by_frame[n]["outputs"] == []


def test_text_output_goes_to_the_right_streams(scene: Path, home_env: dict[str, str]) -> None:
    code, out, err = run_cli("submit", str(scene), "--frames", "1-3", env=home_env)
    assert code == 0, err
    assert out.strip() == "1"  # the task id alone on stdout
    assert "submitted task" in err
    code, out, err = run_cli("status", "1", env=home_env)
    assert code == 0 and "queued" in out


# -- version and entry points ----------------------------------------------------------


def test_version(home_env: dict[str, str]) -> None:
    from rfarm import __version__

    code, out, err = run_cli("--version", env=home_env)
    assert (code, out.strip(), err) == (0, f"rfarm {__version__}", "")


def test_console_script_version(home_env: dict[str, str]) -> None:
    import shutil
    import subprocess

    script = Path(sys.executable).with_name("rfarm")
    exe = str(script) if script.exists() else shutil.which("rfarm")
    assert exe, "the rfarm console script is not installed"
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, env=home_env, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("rfarm ")


def test_no_arguments_shows_help_and_exits_2(home_env: dict[str, str]) -> None:
    code, out, err = run_cli(env=home_env)
    assert code == 2 and "Traceback" not in out + err
    assert "submit" in out + err


# -- config ----------------------------------------------------------------------------


def settings(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in doc["settings"]}


def test_config_show_and_set(home: Path, home_env: dict[str, str]) -> None:
    path = home / "rfarm.toml"
    path.write_text("# my farm\nmax_attempts = 4  # be patient\n", encoding="utf-8")
    code, out, err = run_cli("config", "set", "lease_seconds", "120", env=home_env)
    assert code == 0, err
    assert out == ""
    text = path.read_text(encoding="utf-8")
    assert "# my farm" in text and "# be patient" in text and "lease_seconds = 120" in text
    doc = cli_json("config", "show", env=home_env)
    assert doc["config_file"] == str(path)
    rows = settings(doc)
    assert (rows["lease_seconds"]["value"], rows["lease_seconds"]["source"]) == (120, f"file {path}")
    assert (rows["max_attempts"]["value"], rows["max_attempts"]["source"]) == (4, f"file {path}")
    assert rows["max_lost_leases"]["source"] == "default"
    assert rows["home"]["source"] == "env RFARM_HOME"
    rows = settings(cli_json("config", "show", env={**home_env, "RFARM_LEASE_SECONDS": "9"}))
    assert (rows["lease_seconds"]["value"], rows["lease_seconds"]["source"]) == (9, "env RFARM_LEASE_SECONDS")
    # the table form names the file too
    code, out, err = run_cli("config", "show", env=home_env)
    assert code == 0 and "lease_seconds" in out and "120" in out


def test_config_show_masks_secrets(home_env: dict[str, str]) -> None:
    env = {**home_env, "RFARM_DATABASE_URL": "postgresql://farm:TopSecret1@127.0.0.1:1/farm",
           "RFARM_QUEUE_SECRET": "Hush-Hush-42"}
    code, out, err = run_cli("config", "show", "--json", env=env)
    assert code == 0, err
    assert "TopSecret1" not in out + err and "Hush-Hush-42" not in out + err
    rows = settings(json.loads(out))
    assert rows["database_url"]["value"] == "postgresql://farm:***@127.0.0.1:1/farm"
    assert rows["queue_secret"]["value"] == "***"
    code, out, err = run_cli("config", "show", env=env)
    assert code == 0 and "TopSecret1" not in out + err and "Hush-Hush-42" not in out + err


def test_config_set_refuses_bad_input(home: Path, home_env: dict[str, str]) -> None:
    assert_one_error_line(*run_cli("config", "set", "no_such_key", "1", env=home_env))
    assert_one_error_line(*run_cli("config", "set", "lease_seconds", "soon", env=home_env))
    assert not (home / "rfarm.toml").exists()


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("lease_seconds", "1", "lease_seconds must be at least 2"),
    ("max_attempts", "0", "max_attempts must be at least 1"),
    ("max_attempts", "-3", "max_attempts must be at least 1"),
    ("cache_max_gb", "-1", "cache_max_gb must be at least 0"),
    ("min_free_gb", "nan", "min_free_gb must be a finite number"),
    ("workspace_keep_hours", "inf", "workspace_keep_hours must be a finite number"),
    ("database_url", "mysql://x", "database_url must be sqlite://"),
    ("queue_url", "amqp://q", "queue_url must be sqlite://"),
    ("storage_url", "/mnt/farm", "storage_url must be file://"),
])
def test_config_set_checks_the_value_before_writing_it(home: Path, home_env: dict[str, str], key: str, value: str,
                                                      needle: str) -> None:
    path = home / "rfarm.toml"
    path.write_text("# mine\nmax_attempts = 4\n", encoding="utf-8")
    line = assert_one_error_line(*run_cli("config", "set", key, value, env=home_env))
    assert needle in line
    assert path.read_text(encoding="utf-8") == "# mine\nmax_attempts = 4\n"
    assert cli_json("list", env=home_env) == []


def test_an_invalid_stored_value_is_shown_and_repaired_not_a_lockout(home: Path, home_env: dict[str, str]) -> None:
    path = home / "rfarm.toml"
    path.write_text("# hand edited\nlease_seconds = 1\nmin_free_gb = nan\n", encoding="utf-8")
    line = assert_one_error_line(*run_cli("list", env=home_env))
    assert "lease_seconds must be at least 2" in line and "rfarm config set lease_seconds VALUE" in line
    assert "1 more" in line
    rows = settings(doc := cli_json("config", "show", env=home_env))
    assert doc["file_problem"] is None and doc["warnings"] == []
    assert (rows["lease_seconds"]["value"], rows["lease_seconds"]["source"]) == (1, f"file {path}")
    assert "must be at least 2" in rows["lease_seconds"]["problem"]
    assert "finite" in rows["min_free_gb"]["problem"]
    assert rows["max_attempts"]["problem"] is None
    code, out, err = run_cli("config", "show", env=home_env)
    assert code == 0 and "invalid: lease_seconds must be at least 2" in " ".join(out.split()), err
    code, out, err = run_cli("config", "set", "lease_seconds", "60", env=home_env)
    assert code == 0, err
    assert "min_free_gb must be a finite number" in err  # still to repair, and said so
    assert_one_error_line(*run_cli("list", env=home_env))
    assert run_cli("config", "set", "min_free_gb", "5", env=home_env)[0] == 0
    assert cli_json("list", env=home_env) == []
    text = path.read_text(encoding="utf-8")
    assert "# hand edited" in text and "lease_seconds = 60" in text
    assert all(row["problem"] is None for row in cli_json("config", "show", env=home_env)["settings"])


def test_an_invalid_environment_value_names_the_variable(home_env: dict[str, str]) -> None:
    env = {**home_env, "RFARM_MAX_ATTEMPTS": "0"}
    line = assert_one_error_line(*run_cli("list", env=env))
    assert "RFARM_MAX_ATTEMPTS" in line and "max_attempts must be at least 1" in line
    rows = settings(cli_json("config", "show", env=env))
    assert rows["max_attempts"]["source"] == "env RFARM_MAX_ATTEMPTS" and "RFARM_MAX_ATTEMPTS" in rows["max_attempts"]["problem"]


def test_an_unknown_key_in_the_file_is_warned_about_with_the_nearest_one(tmp_path: Path, home: Path,
                                                                        home_env: dict[str, str]) -> None:
    (home / "rfarm.toml").write_text("lese_seconds = 5\n", encoding="utf-8")
    scene = tmp_path / "shot.ma"
    scene.write_text('//Maya ASCII 2024 scene\ncreateNode transform -s -n "persp";\n'
                     'createNode camera -s -n "perspShape" -p "persp";\n', encoding="utf-8")
    code, out, err = run_cli("submit", str(scene), "--frames", "1", "--json", env=home_env)  # reads the config twice
    assert code == 0, err
    assert err.count("lese_seconds") == 1 and "did you mean 'lease_seconds'?" in err
    code, out, err = run_cli("config", "show", "--json", env=home_env)
    assert code == 0, err
    (warning,) = json.loads(out)["warnings"]
    assert "unknown config key 'lese_seconds'" in warning and "did you mean 'lease_seconds'?" in warning
    line = assert_one_error_line(*run_cli("config", "set", "lese_seconds", "5", env=home_env))
    assert "did you mean 'lease_seconds'?" in line


def test_config_show_survives_a_file_that_is_not_toml(home: Path, home_env: dict[str, str]) -> None:
    (home / "rfarm.toml").write_text("lease_seconds = [\n", encoding="utf-8")
    doc = cli_json("config", "show", env=home_env)
    assert "cannot read config file" in doc["file_problem"]
    assert settings(doc)["lease_seconds"]["source"] == "default"
    assert "cannot read config file" in assert_one_error_line(*run_cli("list", env=home_env))


# -- isolation ---------------------------------------------------------------------------


def test_two_homes_share_nothing(tmp_path: Path, scene: Path) -> None:
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    env_a = clean_env({"RFARM_HOME": str(home_a), "RFARM_USER": TEST_USER})
    env_b = clean_env({"RFARM_HOME": str(home_b), "RFARM_USER": TEST_USER})
    tid = submit(scene, env_a, "--frames", "1-3")
    run_cli("config", "set", "lease_seconds", "33", env=env_a)
    assert cli_json("list", env=env_b) == []
    assert_one_error_line(*run_cli("status", str(tid), env=env_b))
    assert settings(cli_json("config", "show", env=env_b))["lease_seconds"]["value"] == 60
    assert submit(scene, env_b, "--frames", "1") == tid  # B numbers its own tasks
    assert [t["task_id"] for t in cli_json("list", env=env_a)] == [tid]
    assert len(cli_json("status", str(tid), env=env_a)["frames"]) == 3
    assert len(cli_json("status", str(tid), env=env_b)["frames"]) == 1
    # every file each one wrote is under its own home
    for home in (home_a, home_b):
        assert (home / "rfarm.db").is_file()
    assert not any(home_b in p.parents for p in home_a.rglob("*"))


HUGE = "99999999999999999999999"


@pytest.mark.parametrize("args", [
    ["status", HUGE], ["cancel", HUGE], ["retry", HUGE], ["logs", HUGE], ["download", HUGE],
    ["status", "--", "-1"], ["status", "0"],
])
def test_an_id_no_database_holds_is_an_unknown_task(args: list[str], home_env: dict[str, str]) -> None:
    line = assert_one_error_line(*run_cli(*args, env=home_env))
    assert "no task" in line


@pytest.mark.parametrize("value", ["1e300", "nan", "inf", "-5", "0"])
def test_a_time_limit_no_task_can_hold_is_refused(value: str, scene: Path, home: Path, home_env: dict[str, str]) -> None:
    for flag in ("--timeout", "--no-progress-timeout"):
        line = assert_one_error_line(*run_cli("submit", str(scene), "--frames", "1", flag, value, env=home_env))
        assert flag in line
    assert tasks_recorded(home) == 0


@pytest.mark.parametrize("value", ["1e12", "nan", "inf", "-1", "0"])
def test_a_stats_window_that_is_no_span_of_time_is_refused(value: str, home_env: dict[str, str]) -> None:
    assert "--hours" in assert_one_error_line(*run_cli("stats", "--hours", value, env=home_env))


def test_frame_numbers_and_output_paths_that_cannot_be_are_one_line(
    scene: Path, tmp_path: Path, home_env: dict[str, str]
) -> None:
    tid = submit(scene, home_env, "--frames", "1-2")
    assert "no frame" in assert_one_error_line(*run_cli("logs", str(tid), "--frame", HUGE, env=home_env))
    folder = tmp_path / "out"
    folder.mkdir()
    for target, needle in ((folder, "is a folder"), (tmp_path / "nowhere" / "a.json", "cannot write")):
        for extra in ([], ["--json"]):
            result = run_cli("analyse", str(scene), "-o", str(target), *extra, env=home_env)
            line = assert_one_error_line(*result, json_doc=bool(extra))
            assert needle in line
    assert list(folder.iterdir()) == []


def test_config_set_where_no_file_can_be_written_is_one_line(home: Path, home_env: dict[str, str]) -> None:
    (home / "rfarm.toml").mkdir(parents=True)
    assert "is not a file" in assert_one_error_line(*run_cli("config", "set", "user", "x", env=home_env))
    (home / "rfarm.toml").rmdir()
    (home / "rfarm.toml.tmp").mkdir()  # the atomic write's temporary file cannot be made
    assert "cannot write" in assert_one_error_line(*run_cli("config", "set", "user", "x", env=home_env))
    assert not (home / "rfarm.toml").exists()


def test_with_json_an_error_is_one_json_document(scene: Path, home: Path, home_env: dict[str, str]) -> None:
    tid = submit(scene, home_env, "--frames", "1", "--user", "bob")
    cases = [
        (["status", "999", "--json"], 2, "NotFoundError"),
        (["status", str(tid), "--json"], 2, "NotFoundError"),  # bob's task is not alice's to see
        (["status", str(tid), "--all", "--json"], 4, "NotAllowedError"),
        (["submit", str(scene), "--frames", "1", "--no-such-flag", "--json"], 2, "UsageError"),
        (["submit", str(scene), "--frames", "9-1", "--json"], 2, "UsageError"),
        (["nodes", "--json", "disable", "wk"], 4, "NotAllowedError"),
        (["config", "set", "no_such_key", "1", "--json"], 2, "ConfigError"),
        (["logs", str(tid), "--json"], 2, "NotFoundError"),
    ]
    for args, exit_code, kind in cases:
        code, out, err = run_cli(*args, env=home_env)
        assert_one_error_line(code, out, err, exit_code=exit_code, json_doc=True)
        assert json.loads(out)["error"]["type"] == kind, args
    # without --json stdout stays empty
    assert_one_error_line(*run_cli("status", "999", env=home_env))


def test_small_commands_answer_with_json(home: Path, home_env: dict[str, str]) -> None:
    doc = cli_json("config", "set", "lease_seconds", "90", env=home_env)
    assert doc == {"key": "lease_seconds", "value": 90, "path": str(home / "rfarm.toml")}
    admin = {**home_env, "RFARM_ADMINS": TEST_USER}
    code, out, err = run_cli("nodes", "--json", "disable", "ghost", env=admin)
    assert_one_error_line(code, out, err, json_doc=True)
    assert cli_json("hwconfig", "add", "big", "--ram", "64", env=admin)["name"] == "big"
    assert cli_json("hwconfig", "remove", "big", env=admin) == {"name": "big", "removed": True}
