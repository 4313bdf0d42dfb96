"""A worker never dies quietly: unexpected errors in its slots, through real ``rfarm worker`` processes.

Each error is one log line with its cause, never a traceback; the frame the
slot held is released when the node is at fault and failed when the frame is;
a worker carries on after a pause, a ``--burst`` one exits 1; Ctrl+C exits 130.
Maya's ``Render`` is tests/fakes/fake_render.py. Faults that the configuration
refuses to load (``workspace_keep_hours = inf``) are put into the worker's own
configuration by a launcher, as a value that slipped past the checks would be.
"""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import FAKE_RENDER, TEST_USER, clean_env, run_cli, maya_scene

pytestmark = pytest.mark.e2e

SCENE = maya_scene(1)


@pytest.fixture
def farm(tmp_path: Path) -> dict[str, Any]:
    """A home with one queued Maya frame; ``env`` for its processes, ``home`` and ``task_id``."""
    home = tmp_path / "home"
    env = clean_env({"RFARM_HOME": str(home), "RFARM_USER": TEST_USER, "RFARM_MAYA_EXECUTABLE": str(FAKE_RENDER),
                     "RFARM_MAX_ATTEMPTS": "1"})
    scene = tmp_path / "proj" / "shot.ma"
    scene.parent.mkdir()
    scene.write_text(SCENE, encoding="utf-8")
    code, out, err = run_cli("submit", str(scene), "--json", env=env)
    assert code == 0, err
    return {"env": env, "home": home, "task_id": json.loads(out)["task_id"]}


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def launcher(patch: str, *args: str) -> list[str]:
    """``rfarm ARGS`` in a Python that runs ``patch`` first (the fault injected into the real worker)."""
    code = textwrap.dedent(patch) + f"\nfrom rfarm.cli.app import main\nmain({list(args)!r})\n"
    return [sys.executable, "-c", code]


def rows(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(home / "rfarm.db")
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def frame_row(farm: dict[str, Any]) -> tuple[Any, ...]:
    (row,) = rows(farm["home"], "SELECT status, failures, lost_leases, error FROM frame WHERE task_id = ?",
                  farm["task_id"])
    return row


def assert_one_line_errors(log: str, needle: str) -> list[str]:
    assert "Traceback" not in log, log
    lines = [line for line in log.splitlines() if needle in line]
    assert lines, log
    return lines


def test_an_unusable_hash_cache_releases_the_frame_and_the_worker_carries_on(
        farm: dict[str, Any], tmp_path: Path, started: list[subprocess.Popen[str]]) -> None:
    (farm["home"] / "workspaces" / "_cache" / "hashes.db").mkdir(parents=True)  # sqlite cannot open a folder
    log = tmp_path / "worker.log"
    with open(log, "w") as fh:
        worker = subprocess.Popen([sys.executable, "-m", "rfarm", "worker", "--name", "n1"], env=farm["env"],
                                  stdout=fh, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    started.append(worker)
    deadline = time.monotonic() + 60
    released = [(0,)]
    while released == [(0,)] and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
        released = rows(farm["home"], "SELECT COUNT(*) FROM event WHERE task_id = ? AND kind = 'released'",
                        farm["task_id"])
    assert worker.poll() is None, log.read_text()  # it carries on
    assert released != [(0,)], log.read_text()
    status, failures, lost, error = frame_row(farm)
    assert (failures, lost, error) == (0, 0, None)  # released: no attempt used, nothing recorded against it
    lines = assert_one_line_errors(log.read_text(), "Cannot open the hash cache")
    assert all("ConfigError: Cannot open the hash cache" in line and "retrying in" in line for line in lines)
    worker.send_signal(signal.SIGINT)
    assert worker.wait(30) == 130, log.read_text()
    assert "interrupted" in log.read_text()


def test_a_burst_worker_stopped_by_an_unexpected_error_exits_1(farm: dict[str, Any]) -> None:
    patch = """
        import dataclasses
        import rfarm.config
        load = rfarm.config.load_config
        rfarm.config.load_config = lambda *a, **k: dataclasses.replace(load(*a, **k), workspace_keep_hours=float("inf"))
    """
    done = subprocess.run(launcher(patch, "worker", "--burst", "--name", "n1"), env=farm["env"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    logged, summary = assert_one_line_errors(done.stderr, "OverflowError")
    assert "node n1, slot 0: OverflowError: " in logged and logged.endswith("; stopping")
    assert "stopped after 0 renders on an error: OverflowError" in summary
    assert frame_row(farm)[:2] == ("queued", 0)  # never claimed


def test_a_frame_that_breaks_rfarm_fails_with_the_cause(farm: dict[str, Any]) -> None:
    patch = """
        from rfarm.renderers.maya import MayaRenderer
        def broken(self, job):
            return {}["width"]
        MayaRenderer.build_command = broken
    """
    done = subprocess.run(launcher(patch, "worker", "--burst", "--name", "n1"), env=farm["env"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert_one_line_errors(done.stderr, "KeyError: 'width'")
    status, failures, _, error = frame_row(farm)
    assert (status, failures) == ("failed", 1)
    assert error.startswith("rfarm failed: KeyError: 'width' (at <string>:"), error


def test_a_full_storage_releases_the_rendered_frame_and_blocklists_no_node(farm: dict[str, Any]) -> None:
    patch = """
        import errno
        from rfarm.storage.folder import FolderStorage
        put = FolderStorage.put_file
        def full(self, key, path, *args, **kwargs):
            if "/results/" in key:  # the disk under the storage is full when the results arrive
                raise self._failed("store", key, OSError(errno.ENOSPC, "No space left on device"))
            return put(self, key, path, *args, **kwargs)
        FolderStorage.put_file = full
    """
    done = subprocess.run(launcher(patch, "worker", "--burst", "--name", "n1"), env=farm["env"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    (logged,) = [line for line in assert_one_line_errors(done.stderr, "No space left") if "slot 0" in line]
    assert "StorageError: cannot store the results of frame 1" in logged, logged
    assert frame_row(farm) == ("queued", 0, 0, None)  # released: no attempt used up
    assert rows(farm["home"], "SELECT COUNT(*) FROM node_failure") == [(0,)]
    again = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "n1"], env=farm["env"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert frame_row(farm)[:2] == ("done", 0)
