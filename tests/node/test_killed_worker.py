"""A render never outlives its worker, however the worker dies.

The worker runs in its own session (``setsid``, as a service manager starts
it) and only its own PID is SIGKILLed, as the OOM killer does: nothing else of
its process group or session gets a signal. Every process of the render's tree
must be gone within 2 s. The quiet render is tests/fakes/fake_render.py in its
``hang-child`` mode (a render that prints nothing for minutes and has started a
child of its own, as Maya and Blender do), so no broken pipe can end it; the
Blender one is a real Cycles render through the bpy module.
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

import psutil
import pytest
from rfarm_testlib import FAKE_RENDER, TEST_USER, clean_env, run_cli, maya_scene

pytestmark = pytest.mark.e2e

MAYA_SCENE = maya_scene(1)


class SessionWorker:
    """``rfarm worker`` started in a session of its own; killed at the end if still alive."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"worker-{name}.log", "wb")
        with log:
            proc = subprocess.Popen([sys.executable, "-m", "rfarm", "worker", "--name", name], env=env,
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp_path / f"worker-{name}.log").read_text(errors="replace")[-3000:]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def session_workers(tmp_path: Path) -> Iterator[SessionWorker]:
    w = SessionWorker(tmp_path)
    yield w
    w.close()


def wait_for(what: str, check: Callable[[], object], timeout_s: float) -> object:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}", pytrace=False)
        time.sleep(0.1)
    return value


def render_tree(worker: subprocess.Popen[bytes], marker: str) -> list[psutil.Process]:
    """The worker's descendants, once one of them has ``marker`` in its command line."""
    try:
        tree = psutil.Process(worker.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    for proc in tree:
        try:
            if marker in " ".join(proc.cmdline()):
                return tree
        except psutil.NoSuchProcess:
            pass
    return []


def running(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``procs`` still running (a zombie is dead: only its exit status is left)."""
    out = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.Error:
            pass
    return out


def describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:120]}"
    except psutil.Error:
        return str(proc.pid)


def assert_gone_within_2_s(tree: list[psutil.Process]) -> None:
    deadline = time.monotonic() + 2.0
    while running(tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = running(tree)
    names = [describe(p) for p in left]
    for proc in left:
        proc.kill()
    assert not left, f"render processes outlived their SIGKILLed worker: {names}"


def submit_hanging_render(tmp_path: Path) -> tuple[dict[str, str], int]:
    """A farm with one Maya frame whose fake render hangs with a child of its own; its env and task id."""
    env = clean_env({"RFARM_HOME": str(tmp_path / "home"), "RFARM_USER": TEST_USER,
                     "RFARM_MAYA_EXECUTABLE": str(FAKE_RENDER), "FAKE_RENDER_MODE": "hang-child"})
    scene = tmp_path / "proj" / "shot.ma"
    scene.parent.mkdir()
    scene.write_text(MAYA_SCENE, encoding="utf-8")
    code, out, err = run_cli("submit", str(scene), "--json", env=env)
    assert code == 0, err
    return env, int(json.loads(out)["task_id"])


def kill_worker_alone(worker: subprocess.Popen[bytes]) -> None:
    os.kill(worker.pid, signal.SIGKILL)  # the worker's PID only: not its group, not its session
    assert worker.wait(10) == -signal.SIGKILL


def test_a_quiet_render_and_its_child_die_with_a_sigkilled_worker(tmp_path: Path, session_workers: SessionWorker) -> None:
    env, _ = submit_hanging_render(tmp_path)
    worker = session_workers.start(env, "quiet")
    tree = wait_for("the render's child", lambda: render_tree(worker, "time.sleep(600)"), 60)
    assert len(tree) >= 3, tree  # the lifeline, the render and the render's own child
    kill_worker_alone(worker)
    assert_gone_within_2_s(tree)  # type: ignore[arg-type]


def test_a_blender_render_dies_with_a_sigkilled_worker_and_its_restart_renders_the_frame(
        tmp_path: Path, make_blend: Callable[..., Path], session_workers: SessionWorker) -> None:
    # a lease far longer than the test: the frame must come back because the node restarted, not by expiry
    env = clean_env({"RFARM_HOME": str(tmp_path / "home"), "RFARM_USER": TEST_USER, "RFARM_LEASE_SECONDS": "3600"})
    scene = make_blend(tmp_path / "scenes" / "slow.blend", samples=64, frames=2, size=256, threads=1)
    code, out, err = run_cli("submit", str(scene), "--frames", "1", "--json", env=env)
    assert code == 0, err
    task_id = json.loads(out)["task_id"]
    worker = session_workers.start(env, "node1")
    tree = wait_for("the Blender render", lambda: render_tree(worker, "blender_script.py"), 60)
    kill_worker_alone(worker)
    assert_gone_within_2_s(tree)  # type: ignore[arg-type]
    # the service manager starts the node again: it knows its previous run is dead and renders the frame now
    again = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "node1"], env=env,
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    assert "node node1: its previous run" in again.stderr and "its 1 frames are back in the queue" in again.stderr
    code, out, err = run_cli("status", str(task_id), "--json", env=env)
    (frame,) = json.loads(out)["frames"]
    assert (frame["status"], frame["worker"], frame["attempts"]) == ("done", "node1", 2), frame
    db = sqlite3.connect(tmp_path / "home" / "rfarm.db")
    try:
        kinds = [k for (k,) in db.execute("SELECT kind FROM event WHERE task_id = ? AND frame_id IS NOT NULL"
                                          " ORDER BY id", (task_id,))]
    finally:
        db.close()
    assert kinds.count("done") == 1 and kinds.count("lease_expired") == 1, " ".join(kinds)


def test_a_restarted_node_leaves_alone_the_frames_of_a_run_still_alive(tmp_path: Path, session_workers: SessionWorker) -> None:
    env, task_id = submit_hanging_render(tmp_path)
    first = session_workers.start(env, "same")
    wait_for("the render's child", lambda: render_tree(first, "time.sleep(600)"), 60)
    second = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "same"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert "previous run" not in second.stderr
    code, out, err = run_cli("status", str(task_id), "--json", env=env)
    (frame,) = json.loads(out)["frames"]
    assert (frame["status"], frame["attempts"]) == ("running", 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_render_dies_with_its_lifeline_too(tmp_path: Path) -> None:
    from rfarm.node.process import RenderProcess

    proc = RenderProcess([sys.executable, "-c", "import time; time.sleep(600)"], cwd=tmp_path, node="n1")
    try:
        render = wait_for("the render", lambda: psutil.Process(proc.pid).children(), 30)
        os.kill(proc.pid, signal.SIGKILL)  # the lifeline itself, as the OOM killer might pick it
        assert_gone_within_2_s(render)  # type: ignore[arg-type]
    finally:
        proc.kill_tree()
