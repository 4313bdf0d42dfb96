"""Ctrl+C during ``rfarm upload``: the command stops at once, keeps what it finished, and a re-run sends the rest.

The storage is the OSS test server (``tests/oss_server.py``) told to let the
first four PUTs through and hold every later one unanswered, as a stalled
network would: four objects are stored whole and the upload is still running
when the test sends SIGINT to the real ``rfarm upload`` process. In remote
mode the same storage sits behind a real ``rfarm serve``.
"""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rfarm_testlib import Server, clean_env, run_cli

from tests.oss_server import OssServer

pytestmark = pytest.mark.e2e

FILES = 12
STORED = 4


@pytest.fixture
def oss() -> Iterator[OssServer]:
    with OssServer() as server:
        yield server


def count_rows(db: Path, table: str) -> int:
    """How many rows a table of the farm's SQLite database holds (0 before it is made)."""
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:  # the schema is not made yet
            return 0


def recorded(db: Path) -> int:
    """How many objects the farm's database has recorded."""
    return count_rows(db, "asset")


@pytest.mark.parametrize("mode", ["local", "remote"])
def test_ctrl_c_keeps_finished_files_and_a_rerun_sends_only_the_rest(
    mode: str, oss: OssServer, home: Path, home_env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for i in range(FILES):
        (project / f"plate.{i:04d}.exr").write_bytes(f"plate {i} ".encode() * 500)
    farm_env = {**home_env, "RFARM_STORAGE_URL": f"oss://{oss.bucket}/farm?endpoint={oss.endpoint}&region={oss.region}",
                "OSS_ACCESS_KEY_ID": oss.access_key_id, "OSS_ACCESS_KEY_SECRET": oss.access_key_secret}
    server = None
    env = farm_env
    if mode == "remote":
        from rfarm.api import LocalFarm
        from rfarm.config import load_config
        from rfarm.state.users import Caller, Role

        token = LocalFarm(load_config(farm_env)).add_user(Caller("root", Role.ADMIN), "alice", "artist").token
        server = Server(farm_env, tmp_path / "serve.log")
        server.wait_ready()
        artist = tmp_path / "artist"
        artist.mkdir()
        env = clean_env({"RFARM_HOME": str(artist), "RFARM_SERVER_URL": server.url, "RFARM_TOKEN": token})
    try:
        oss.add_fault("hang", op="PutObject", skip=STORED, times=1000)
        proc = subprocess.Popen([sys.executable, "-m", "rfarm", "upload", str(project)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while recorded(home / "rfarm.db") < STORED:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the first objects were never recorded"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=15)  # the held PUTs are answered only after 30 s
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"rfarm upload was still running 15 s after Ctrl+C: {proc.communicate()[1][-2000:]}")
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1] == "Error: interrupted" and "Traceback" not in err, err
        assert len(oss.objects) == STORED and recorded(home / "rfarm.db") == STORED
        oss.clear_faults()
        code, out, err = run_cli("upload", str(project), "--json", env=env)
        assert code == 0, err
        doc = json.loads(out)
        assert (doc["uploaded"], doc["skipped"]) == (FILES - STORED, STORED), "only the missing files are sent"
        assert len(oss.objects) == FILES and recorded(home / "rfarm.db") == FILES
    finally:
        if server is not None:
            server.stop()


def test_ctrl_c_under_any_command_is_one_line_and_exit_130(home: Path, home_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    """``rfarm submit --wait`` with no node waits until it is stopped: Ctrl+C ends it as every error ends."""
    scene = tmp_path / "shot.ma"
    scene.write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\nplaybackOptions -min 1 -max 2;\n'
                     'createNode camera -s -n "perspShape";\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "rfarm", "submit", str(scene), "--frames", "1-2", "--wait"],
                            env=home_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not count_rows(home / "rfarm.db", "task"):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the task was never recorded"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "Error: interrupted" and "Traceback" not in err, err
