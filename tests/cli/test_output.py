"""Output that reads well: help, local times, escaped names, words for ages, one stream per result."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rfarm_testlib import run_cli, run_cli_process

from rfarm.cli.output import ago, local_time, plural

SCENE = '//Maya ASCII 2024 scene\nrequires maya "2024";\ncreateNode camera -n "perspShape";\nplaybackOptions -min 1 -max 2;\n'


def all_commands() -> list[list[str]]:
    from rfarm.cli.commands import build_app

    found: list[list[str]] = []

    def walk(command, path):  # type: ignore[no-untyped-def]
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(build_app(), [])
    return found


def test_help_names_values_instead_of_python_types(home_env: dict[str, str]) -> None:
    commands = all_commands()
    assert len(commands) > 25
    for path in commands:
        run = run_cli_process if path[:1] == ["worker"] else run_cli
        code, out, err = run(*path, "--help", env={**home_env, "COLUMNS": "100"})
        assert code == 0, (path, err)
        for junk in ("<str>", "<list[", "<int>", "<float>", "<bool>", "<path>", "{", "``"):
            assert junk not in out, (path, junk, out)
    code, out, _ = run_cli("submit", "--help", env={**home_env, "COLUMNS": "100"})
    assert "rfarm submit [OPTIONS] SCENE" in out and "FRAMES" in out


def test_names_are_shown_as_written_and_times_in_the_local_zone(tmp_path: Path, home_env: dict[str, str]) -> None:
    scene = tmp_path / "[failed] shot.ma"
    scene.write_text(SCENE, encoding="utf-8")
    code, out, err = run_cli("submit", str(scene), "--in-place", "--json", env=home_env)
    assert code == 0, err
    tid = json.loads(out)["task_id"]
    env = {**home_env, "TZ": "Asia/Tokyo", "COLUMNS": "200"}
    listed = subprocess.run([sys.executable, "-m", "rfarm", "list"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "[failed] shot.ma" in listed.stdout, "a name is not rich markup"
    assert "cancelled" in listed.stdout, "list has a cancelled column"
    created = json.loads(run_cli("status", str(tid), "--json", env=home_env)[1])["created_at"]
    tokyo = (datetime.fromisoformat(created) + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S")
    assert tokyo in listed.stdout, (tokyo, listed.stdout)
    assert "+00:00" in created, "--json keeps UTC with its marker"


def test_ages_and_counts_in_words() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    stamp = (now - timedelta(minutes=5, seconds=10)).isoformat()
    assert ago(stamp, now=now) == "5 min ago"
    assert ago((now - timedelta(seconds=20)).isoformat(), now=now) == "just now"
    assert ago((now - timedelta(hours=3)).isoformat(), now=now) == "3 h ago"
    assert ago((now - timedelta(days=1, hours=1)).isoformat(), now=now) == "1 day ago"
    assert ago((now - timedelta(days=4)).isoformat(), now=now) == "4 days ago"
    assert ago(None) == "never" and ago("garbage") == "garbage"
    assert plural(1, "frame") == "1 frame" and plural(0, "file") == "0 files" and plural(3, "file") == "3 files"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", local_time("2026-12-03T01:02:03.000004+00:00"))
    assert local_time(None) == ""


def test_stats_writes_its_summary_and_table_to_one_stream(home_env: dict[str, str]) -> None:
    code, out, err = run_cli("stats", env={**home_env, "COLUMNS": "200"})
    assert code == 0, err
    assert out.startswith("queued: high 0") and "node" in out and err == ""


def test_a_worker_logging_to_a_file_writes_one_dated_line_per_event(home_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with open(log, "w", encoding="utf-8") as fh:
        done = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "-v", "--name", "n" * 120],
                              env={**home_env, "COLUMNS": "80"}, stderr=fh, stdout=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 0
    lines = log.read_text(encoding="utf-8").splitlines()
    logged = [line for line in lines if re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (INFO|WARNING) ", line)]
    assert logged, lines
    assert any(("n" * 120) in line for line in lines), "a long line is not wrapped at 80 columns"
