"""Real Blender frames through real ``rfarm`` processes: submit, workers, kills, cancels.

Blender runs from the bpy module in child processes (never in pytest's). The
"slow" scene takes several seconds a frame, long enough to kill or cancel a
render in the middle; the "quick" one renders a frame in well under a second.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest
from rfarm_testlib import TEST_USER, clean_env, cli_json, run_cli, run_cli_process

pytestmark = pytest.mark.e2e

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T = TypeVar("T")


# -- helpers ---------------------------------------------------------------------------


def wait_for(what: str, check: Callable[[], T], timeout_s: float, interval_s: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}", pytrace=False)
        time.sleep(interval_s)


def render_processes(home: Path) -> list[psutil.Process]:
    """Live render processes (the lifeline and Blender under it) working under ``home``."""
    marker = str(home) + os.sep
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or ())
            if proc.info["status"] == psutil.STATUS_ZOMBIE or marker not in cmdline:
                continue
            if "blender_script.py" in cmdline or "rfarm.node.lifeline" in cmdline:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def status(env: dict[str, str], task_id: int) -> dict[str, Any]:
    return cli_json("status", str(task_id), env=env)


def frames(doc: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {f["frame"]: f for f in doc["frames"]}


def running_frame(env: dict[str, str], task_id: int, worker: str) -> dict[str, Any] | None:
    return next((f for f in status(env, task_id)["frames"] if f["status"] == "running" and f["worker"] == worker), None)


def submit(scene: Path, env: dict[str, str], *args: str) -> int:
    return int(cli_json("submit", str(scene), *args, env=env)["task_id"])


def assert_png_outputs(frame: dict[str, Any], home: Path | None = None) -> None:
    assert frame["outputs"], f"frame {frame['frame']} has no outputs"
    for out in frame["outputs"]:
        path = Path(out)
        assert path.is_absolute() and path.is_file(), out
        if home is not None:
            assert home in path.parents, f"{out} is not under {home}"
        data = path.read_bytes()
        assert len(data) > len(PNG_MAGIC) and data.startswith(PNG_MAGIC), out


def sqlite_rows(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(home / "rfarm.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


DONE_EVENTS = (
    "SELECT f.number, COUNT(*) FROM event e JOIN frame f ON e.frame_id = f.id "
    "WHERE e.task_id = {p} AND e.kind = 'done' GROUP BY f.number ORDER BY f.number"
)


class Workers:
    """``rfarm worker`` processes started by a test; whatever is left is killed at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"worker-{len(self.procs)}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "rfarm", "worker", *args], env=env,
                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        self.procs.append((proc, log))
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        path = next(log for p, log in self.procs if p is proc)
        return path.read_text(errors="replace")[-3000:]

    def wait(self, proc: subprocess.Popen[bytes], timeout_s: float) -> int:
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker did not exit within {timeout_s} s:\n{self.log(proc)}", pytrace=False)

    def close(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    w = Workers(tmp_path)
    yield w
    w.close()


@pytest.fixture
def quick_scene(tmp_path: Path, make_blend: Callable[..., Path]) -> Path:
    return make_blend(tmp_path / "scenes" / "quick.blend", samples=1, frames=3, size=16)


@pytest.fixture
def slow_scene(tmp_path: Path, make_blend: Callable[..., Path]) -> Path:
    """Several seconds a frame on one thread."""
    return make_blend(tmp_path / "scenes" / "slow.blend", samples=64, frames=2, size=256, threads=1)


@pytest.fixture
def medium_scene(tmp_path: Path, make_blend: Callable[..., Path]) -> Path:
    """About two seconds a frame on one thread: long enough to be killed mid-frame, short to render again."""
    return make_blend(tmp_path / "scenes" / "medium.blend", samples=32, frames=2, size=256, threads=1)


def wait_until_rendering(env: dict[str, str], home: Path, task_id: int, worker: str) -> tuple[dict[str, Any], list[psutil.Process]]:
    frame = wait_for(f"a frame running on {worker}", lambda: running_frame(env, task_id, worker), 60, 0.1)
    procs = wait_for("the render processes", lambda: render_processes(home), 30, 0.1)
    assert any("blender_script.py" in " ".join(p.cmdline()) for p in procs)
    return frame, procs


# -- (a) the main job ------------------------------------------------------------------------


def test_burst_worker_renders_test_frame_first(home: Path, home_env: dict[str, str], quick_scene: Path) -> None:
    tid = submit(quick_scene, home_env, "--frames", "1-3", "--test-frame", "2")
    code, out, err = run_cli_process("worker", "--burst", "--name", "w1", env=home_env, timeout=180)
    assert code == 0, err
    doc = status(home_env, tid)
    assert doc["status"] == "done"
    by_frame = frames(doc)
    assert sorted(by_frame) == [1, 2, 3]
    assert by_frame[2]["is_test"] and not by_frame[1]["is_test"] and not by_frame[3]["is_test"]
    for f in by_frame.values():
        assert (f["status"], f["attempts"], f["worker"], f["error"]) == ("done", 1, "w1", None)
        assert_png_outputs(f, home)
    assert all(by_frame[2]["started_at"] < by_frame[n]["started_at"] for n in (1, 3))
    assert all(by_frame[2]["finished_at"] <= by_frame[n]["started_at"] for n in (1, 3))
    code, out, err = run_cli("logs", str(tid), "--frame", "2", env=home_env)
    assert code == 0 and "RFARM FRAME 2 done" in out
    workspace = home / "workspaces" / TEST_USER / str(tid)
    assert workspace.is_dir()
    assert cli_json("cleanup", str(tid), env=home_env)["removed"] is True
    assert not workspace.exists()
    for f in frames(status(home_env, tid)).values():
        assert_png_outputs(f, home)


# -- (b) SIGKILL mid-frame -----------------------------------------------------------------


def test_sigkilled_worker_loses_nothing(home: Path, home_env: dict[str, str], medium_scene: Path, workers: Workers) -> None:
    lease_s = 3
    env = {**home_env, "RFARM_LEASE_SECONDS": str(lease_s)}
    tid = submit(medium_scene, env, "--frames", "1-2")
    a = workers.start(env, "--name", "A")
    _, procs = wait_until_rendering(env, home, tid, "A")
    a.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    assert workers.wait(a, 10) == -signal.SIGKILL
    # the frame A was rendering still reads running (on A) until its lease expires
    running = [f for f in status(env, tid)["frames"] if f["status"] == "running"]
    assert [f["worker"] for f in running] == ["A"], running
    killed = running[0]["frame"]
    # the lifeline takes the whole render down with the worker
    wait_for("A's render processes to die", lambda: not alive(procs) and not render_processes(home), 5, 0.1)
    # the frame comes back once its lease has expired
    time.sleep(max(0.0, lease_s + 0.5 - (time.monotonic() - killed_at)))
    b = workers.start(env, "--burst", "--name", "B")
    assert workers.wait(b, 120) == 0, workers.log(b)
    doc = status(env, tid)
    assert doc["status"] == "done"
    by_frame = frames(doc)
    for number, f in by_frame.items():
        assert f["status"] == "done"
        assert f["attempts"] == (2 if number == killed else 1), f
        assert_png_outputs(f, home)
    assert by_frame[killed]["worker"] == "B"
    assert sqlite_rows(home, DONE_EVENTS.format(p="?"), tid) == [(1, 1), (2, 1)]
    expired = sqlite_rows(home, "SELECT COUNT(*) FROM event WHERE task_id = ? AND kind = 'lease_expired'", tid)
    assert expired == [(1,)]
    assert not render_processes(home)


# -- (c) cancel ------------------------------------------------------------------------------


def test_cancel_kills_the_render_tree(home: Path, home_env: dict[str, str], slow_scene: Path, workers: Workers) -> None:
    tid = submit(slow_scene, home_env, "--frames", "1")
    w = workers.start(home_env, "--name", "C")
    _, procs = wait_until_rendering(home_env, home, tid, "C")
    code, _, err = run_cli("cancel", str(tid), env=home_env)
    assert code == 0, err
    wait_for("the cancelled render to die", lambda: not alive(procs) and not render_processes(home), 6, 0.1)
    doc = status(home_env, tid)
    assert doc["status"] == "cancelled"
    assert frames(doc)[1]["status"] == "cancelled"
    assert w.poll() is None, "the worker must keep running after a cancel"
    w.send_signal(signal.SIGTERM)
    assert workers.wait(w, 20) == 0, workers.log(w)


# -- (d) --wait ------------------------------------------------------------------------------


def submit_and_wait(scene: Path, env: dict[str, str], tmp_path: Path, workers: Workers, *args: str) -> tuple[int, str, str]:
    """``rfarm submit --wait --json`` while a burst worker renders; (exit code, stdout, stderr)."""
    out_path, err_path = tmp_path / "wait.out", tmp_path / "wait.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        waiting = subprocess.Popen(
            [sys.executable, "-m", "rfarm", "submit", str(scene), "--wait", "--json", *args],
            env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
        )
    try:
        wait_for("the task to be recorded", lambda: cli_json("status", env=env), 60, 0.2)
        burst = workers.start(env, "--burst", "--name", "W")
        assert workers.wait(burst, 120) == 0, workers.log(burst)
        code = waiting.wait(60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait(10)
    return code, out_path.read_text(), err_path.read_text()


def test_wait_exits_0_when_the_task_succeeds(home: Path, home_env: dict[str, str], quick_scene: Path,
                                            tmp_path: Path, workers: Workers) -> None:
    code, out, err = submit_and_wait(quick_scene, home_env, tmp_path, workers, "--frames", "1-2")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "done" and [f["status"] for f in doc["frames"]] == ["done", "done"]
    assert "Traceback" not in err


def test_wait_exits_1_when_the_task_fails(home: Path, home_env: dict[str, str], quick_scene: Path,
                                         tmp_path: Path, workers: Workers) -> None:
    # --force: submit refuses a camera the analysis does not list; forced, the render itself fails, three times
    code, out, err = submit_and_wait(quick_scene, home_env, tmp_path, workers, "--frames", "1", "--camera", "NoSuchCam",
                                     "--force")
    assert code == 1, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("Error: ")
    assert "NoSuchCam" in err.strip().splitlines()[-1]
    json.loads(out)  # one JSON document even when the work failed
    frame = frames(status(home_env, 1))[1]
    assert (frame["status"], frame["attempts"]) == ("failed", 3)
    assert "no camera named 'NoSuchCam'" in frame["error"]
    assert frame["outputs"] == []


# -- (e) SIGTERM ---------------------------------------------------------------------------


def test_sigterm_releases_the_frame(home: Path, home_env: dict[str, str], slow_scene: Path, workers: Workers) -> None:
    tid = submit(slow_scene, home_env, "--frames", "1")
    w = workers.start(home_env, "--name", "T")
    _, procs = wait_until_rendering(home_env, home, tid, "T")
    w.send_signal(signal.SIGTERM)
    assert workers.wait(w, 20) == 0, workers.log(w)
    wait_for("the render to die", lambda: not alive(procs) and not render_processes(home), 5, 0.1)
    doc = status(home_env, tid)
    frame = frames(doc)[1]
    assert (frame["status"], frame["worker"], frame["error"], frame["outputs"]) == ("queued", None, None, [])
    assert doc["status"] == "queued"
    assert sqlite_rows(home, "SELECT failures, lost_leases FROM frame WHERE task_id = ?", tid) == [(0, 0)]
    assert sqlite_rows(home, "SELECT COUNT(*) FROM event WHERE task_id = ? AND kind = 'released'", tid) == [(1,)]


# -- (f) PostgreSQL + Redis, three workers ----------------------------------------------------


def test_three_workers_on_postgresql_and_redis(home: Path, quick_scene: Path, pg_url: str, redis_url: str,
                                              workers: Workers) -> None:
    env = clean_env({"RFARM_HOME": str(home), "RFARM_USER": TEST_USER,
                     "RFARM_DATABASE_URL": pg_url, "RFARM_QUEUE_URL": redis_url, "RFARM_QUEUE_SECRET": "s3cret"})
    tid = submit(quick_scene, env, "--frames", "1-3")
    assert not (home / "rfarm.db").exists() and not (home / "queue.db").exists()
    procs = [workers.start(env, "--burst", "--name", f"w{i}") for i in range(3)]
    for p in procs:
        assert workers.wait(p, 120) == 0, workers.log(p)
    doc = status(env, tid)
    assert doc["status"] == "done"
    for f in frames(doc).values():
        assert (f["status"], f["attempts"]) == ("done", 1)
        assert f["worker"] in {"w0", "w1", "w2"}
        assert_png_outputs(f, home)
    import psycopg2

    conn = psycopg2.connect(pg_url)
    try:
        with conn.cursor() as cur:
            cur.execute(DONE_EVENTS.format(p="%s"), (tid,))
            assert cur.fetchall() == [(1, 1), (2, 1), (3, 1)]
            cur.execute("SELECT COUNT(*) FROM event WHERE task_id = %s AND kind = 'claimed'", (tid,))
            assert cur.fetchone() == (3,)
    finally:
        conn.close()
