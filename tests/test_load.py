"""The embedded default (SQLite database, Huey on SQLite, no server) under load, steady and under faults.

For 60 s, with 2 s leases: three real ``rfarm worker`` processes, two
submitters running ``rfarm submit`` in loops, a loop that cancels and retries
tasks, and readers running ``rfarm status`` and ``rfarm stats``; every command
is a real process. The renders are ``tests/fakes/fake_render.py`` standing in
for Maya's ``Render``: the cheapest render that runs the worker's whole frame
path (claim, lease, fetching the scene from storage, the lifeline, the log
parsed line by line, the output kept and stored with its hashes, the frame
recorded) in a fraction of a second. A Blender frame through bpy would take
about a second and leave the farm idle behind the renderer.

Under faults, on top of the same load: one worker SIGKILLed every 10 s in
the middle of a render (its renders go quiet after their first lines, as a
long frame does, so that only the lifeline can end them) and started again,
the database's folder made unwritable twice for 3 s, and the storage made
full twice for 4 s (a small tmpfs at the default storage folder, filled with
ballast; where mounting is not permitted that fault is left out with a
warning saying so). A worker that exits by itself is started again, as a
service manager would. As root, the farm's processes run without
CAP_DAC_OVERRIDE (``setpriv``), so that a folder's permissions bind them as
they bind a service user.

What must hold: no "database is locked" anywhere (command output, worker
logs, the database's error and event columns) and no traceback; every frame
of every finished task done exactly once (one ``done`` event, none for a
frame that is not done); every done frame's results in storage with the
hashes its record gives (nothing recorded that is not stored); every
submitted frame still there, done or queued or retryable (nothing lost); no
render process left once the workers have stopped, and none outliving a
SIGKILLed worker by more than 2 s.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
import pytest
from rfarm_testlib import FAKE_RENDER, TEST_USER, clean_env, maya_scene

pytestmark = pytest.mark.e2e

DURATION_S = 60
LEASE_S = 2
KILL_EVERY_S = 10
#: the lifeline's promise: a SIGKILLed worker's render is gone within this
RENDER_GONE_S = 2
LOCKED = "database is locked"
SCENE = maya_scene(4)
#: what a ``cancel`` or ``retry`` that lost a race with the task's end says (exit 2)
STATE_RACES = ("is already done", "has no failed or cancelled frames to retry", "is already cancelled",
               "is already failed")


# -- the farm's processes ------------------------------------------------------------------


def _unprivileged_prefix() -> list[str]:
    """As root: run a command without the capabilities that ignore file permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root, the load test needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE",
                    pytrace=False)
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


@dataclass
class Run:
    """One finished ``rfarm`` command."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float

    def describe(self) -> str:
        return (f"rfarm {' '.join(self.args)} -> exit {self.code} after {self.seconds:.1f} s\n"
                f"stdout: {self.out[-1500:]}\nstderr: {self.err[-1500:]}")


@dataclass
class Farm:
    """A farm under ``home``: its environment, its workers and every command run against it."""

    home: Path
    root: Path
    env: dict[str, str]
    prefix: list[str]
    runs: list[Run] = field(default_factory=list)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: each worker process's log, by its pid
    logs: dict[int, Path] = field(default_factory=dict)
    exits: list[tuple[str, int]] = field(default_factory=list)

    def cli(self, *args: str, timeout: float = 120) -> Run:
        """``rfarm ARGS`` as a real process; recorded."""
        started = time.monotonic()
        proc = subprocess.run(
            [*self.prefix, sys.executable, "-m", "rfarm", *args], env=self.env, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL, check=False,
        )
        run = Run(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
        self.runs.append(run)
        return run

    def start_worker(self, name: str, render_mode: str = "ok") -> subprocess.Popen[bytes]:
        """``rfarm worker --name NAME`` in a session of its own, its output in a log of its own."""
        log = self.root / f"worker-{name}-{len(self.logs)}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "rfarm", "worker", "--name", name],
                env={**self.env, "FAKE_RENDER_MODE": render_mode}, stdout=fh, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.workers[name] = proc
        self.logs[proc.pid] = log
        return proc

    def stop_workers(self) -> None:
        """SIGTERM every worker, as a service manager stops it; their exit codes go to ``exits``."""
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.workers.items():
            try:
                self.exits.append((name, proc.wait(60)))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                self.exits.append((name, -signal.SIGKILL))
        self.workers.clear()

    def worker_logs(self) -> dict[str, str]:
        return {log.name: log.read_text(errors="replace") for log in self.logs.values()}

    # -- what the farm recorded ------------------------------------------------------

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.home / "rfarm.db", timeout=60)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def render_processes(home: Path) -> list[psutil.Process]:
    """Live render processes (lifelines and fake renders) working under ``home``."""
    marker = str(home) + os.sep
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            cmdline = " ".join(proc.info["cmdline"] or ())
            if proc.info["status"] == psutil.STATUS_ZOMBIE or marker not in cmdline:
                continue
            if str(FAKE_RENDER) in cmdline or "rfarm.node.lifeline" in cmdline:
                found.append(proc)
    return found


def renders_of(worker: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The fake renders among the worker's descendants (not the lifelines that start them)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        return [p for p in psutil.Process(worker.pid).children(recursive=True)
                if str(FAKE_RENDER) in " ".join(_cmdline(p)) and "rfarm.node.lifeline" not in _cmdline(p)]
    return []


def quiet_renders(worker: subprocess.Popen[bytes], *, timeout_s: float) -> list[psutil.Process]:
    """The worker's renders once one of them has gone quiet (asleep, using no CPU for half a second);
    whatever renders it has after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    renders = renders_of(worker)
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.NoSuchProcess):
            before = [(r, r.cpu_times()) for r in renders]
            time.sleep(0.5)
            if any(r.status() == psutil.STATUS_SLEEPING and r.cpu_times() == t for r, t in before):
                return renders
        renders = renders_of(worker) or renders
        if not renders:
            time.sleep(0.05)
    return renders_of(worker)


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return []


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
    return out


# -- the load --------------------------------------------------------------------------------


class Loops:
    """The submitters, the cancel/retry loop and the readers, each a thread running commands until stopped."""

    def __init__(self, farm: Farm, scenes: list[Path], seed: int) -> None:
        self.farm = farm
        self.scenes = scenes
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        #: task id -> frames submitted
        self.submitted: dict[int, int] = {}
        #: (task id, the cancel's exit code, the retry's) of each cancel/retry round
        self.cancel_rounds: list[tuple[int, int, int | None]] = []
        self.threads = [
            *(threading.Thread(target=self._submitter, args=(s,), daemon=True) for s in scenes),
            threading.Thread(target=self._canceller, daemon=True),
            threading.Thread(target=self._reader, args=(("status", "--json"), ("stats",)), daemon=True),
            threading.Thread(target=self._reader, args=(("stats", "--json"), ("status",)), daemon=True),
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(180)

    def _submitter(self, scene: Path) -> None:
        rng = random.Random(self.rng.random())
        while not self.stop.is_set():
            frames, chunk = rng.randint(2, 8), rng.choice((1, 1, 2))
            run = self.farm.cli("submit", str(scene), "--frames", f"1-{frames}", "--chunk", str(chunk), "--json")
            if run.code == 0:
                self.submitted[int(json.loads(run.out)["task_id"])] = frames
            self.stop.wait(0.5)

    def _canceller(self) -> None:
        """Cancel a rendering task (else a queued one), then retry it: its frames render after all."""
        rng = random.Random(self.rng.random())
        while not self.stop.wait(1.0):
            listing = self.farm.cli("status", "--json")
            if listing.code != 0:
                continue
            by_state: dict[str, list[int]] = {}
            for task in json.loads(listing.out):
                by_state.setdefault(task["status"], []).append(int(task["task_id"]))
            candidates = by_state.get("rendering") or by_state.get("queued")
            if not candidates:
                continue
            tid = rng.choice(candidates)
            cancel = self.farm.cli("cancel", str(tid))
            retry = None
            if cancel.code == 0:
                self.stop.wait(0.5)
                retry = self.farm.cli("retry", str(tid)).code
            self.cancel_rounds.append((tid, cancel.code, retry))

    def _reader(self, *commands: tuple[str, ...]) -> None:
        while not self.stop.is_set():
            for command in commands:
                self.farm.cli(*command)
                if self.submitted:
                    self.farm.cli("status", str(max(self.submitted)), "--json")
            self.stop.wait(0.3)


# -- the faults -------------------------------------------------------------------------------


@dataclass
class Kill:
    """One SIGKILL of a rendering worker: its renders then, and those still alive after RENDER_GONE_S."""

    worker: str
    renders: list[str]
    survivors: list[str]


class Faults:
    """A worker SIGKILLed every 10 s and restarted; the database's folder unwritable; the storage full.

    The kills (with a service manager's restarts) and the file-system faults run in threads of their
    own, so that neither delays the other.
    """

    #: seconds into the load -> (what, for how many seconds); all over before the load ends
    FILE_FAULTS = ((5, "unwritable", 3), (20, "full", 4), (35, "unwritable", 3), (45, "full", 4))

    def __init__(self, farm: Farm, victim: str, render_mode: str, storage_mount: Path | None) -> None:
        self.farm = farm
        self.victim = victim
        self.render_mode = render_mode
        self.storage_mount = storage_mount
        self.stop = threading.Event()
        self.kills: list[Kill] = []
        #: (worker, exit code, its log) of each worker that exited by itself
        self.died: list[tuple[str, int, str]] = []
        self.done: list[str] = []
        self.threads = [threading.Thread(target=self._killer, daemon=True),
                        threading.Thread(target=self._file_faults, daemon=True)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(120)
        self._writable()

    def _killer(self) -> None:
        next_kill = time.monotonic() + KILL_EVERY_S
        while not self.stop.is_set():
            self._restart_the_dead()
            if time.monotonic() >= next_kill:
                self._kill()
                next_kill += KILL_EVERY_S
            else:
                self.stop.wait(0.2)

    def _file_faults(self) -> None:
        start = time.monotonic()
        for at, what, seconds in self.FILE_FAULTS:
            if what == "full" and self.storage_mount is None:
                continue
            if self.stop.wait(max(0.0, start + at - time.monotonic())):
                return
            if what == "unwritable":
                self._unwritable(seconds)
            else:
                self._full(seconds)
            self.done.append(what)

    def _restart_the_dead(self) -> None:
        """Start again a worker that exited by itself, as a service manager does; record how it ended."""
        for name, proc in list(self.farm.workers.items()):
            if proc.poll() is not None:
                self.died.append((name, proc.returncode, self.farm.logs[proc.pid].read_text(errors="replace")))
                self.farm.start_worker(name, self.render_mode if name == self.victim else "ok")

    def _kill(self) -> None:
        worker = self.farm.workers[self.victim]
        renders = quiet_renders(worker, timeout_s=8)
        tree = alive([*renders, *(p for r in renders for p in _parents_below(r, worker.pid))])
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        time.sleep(RENDER_GONE_S)
        survivors = alive(tree)
        self.kills.append(Kill(self.victim, [" ".join(_cmdline(p)) for p in renders],
                               [f"{p.pid}: {' '.join(_cmdline(p))}" for p in survivors]))
        for p in survivors:  # whatever outlived the worker must not render on into the next fault
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        self.farm.start_worker(self.victim, self.render_mode)

    def _unwritable(self, seconds: float) -> None:
        self.farm.home.chmod(0o555)
        try:
            self.stop.wait(seconds)
        finally:
            self._writable()

    def _writable(self) -> None:
        self.farm.home.chmod(0o755)

    def _full(self, seconds: float) -> None:
        assert self.storage_mount is not None
        ballast = self.storage_mount / "ballast"
        fill(ballast)
        try:
            self.stop.wait(seconds)
        finally:
            ballast.unlink()


def _parents_below(proc: psutil.Process, top: int) -> list[psutil.Process]:
    """``proc``'s ancestors up to (not including) the process ``top``: the lifeline."""
    out = []
    with contextlib.suppress(psutil.NoSuchProcess):
        for parent in proc.parents():
            if parent.pid == top:
                break
            out.append(parent)
    return out


def fill(path: Path) -> None:
    """Write ``path`` until its file system has no room left (ENOSPC)."""
    block = b"\0" * 4096
    with open(path, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(block * 64)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        with contextlib.suppress(OSError):
            while True:
                fh.write(block)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path | None]:
    """A tmpfs of ``size`` mounted at ``where``; None (and a warning) where mounting is not permitted."""
    where.mkdir(parents=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False) if shutil.which("mount") else None
    if proc is None or proc.returncode != 0:
        why = "no mount command" if proc is None else (proc.stderr.strip() or f"mount exited {proc.returncode}")
        warnings.warn(f"the storage-full fault is left out: cannot mount a small tmpfs ({why})", stacklevel=3)
        yield None
        return
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


# -- the checks -------------------------------------------------------------------------------


def utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(str(text))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def check_no_lock_errors(farm: Farm) -> None:
    """No "database is locked" (and no traceback) in any command's output, worker log or database column."""
    for run in farm.runs:
        assert LOCKED not in run.out + run.err, run.describe()
        assert "Traceback" not in run.out + run.err, run.describe()
    for name, text in farm.worker_logs().items():
        assert LOCKED not in text, f"{name}:\n{_around(text, LOCKED)}"
        assert "Traceback" not in text, f"{name}:\n{_around(text, 'Traceback')}"
    errors = farm.rows("SELECT id, error FROM frame WHERE error LIKE ?", f"%{LOCKED}%")
    assert not errors, errors[:5]
    messages = farm.rows("SELECT id, kind, message FROM event WHERE message LIKE ?", f"%{LOCKED}%")
    assert not messages, messages[:5]


def _around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 1500): at + 1500]


def check_commands(farm: Farm, *, faults: bool) -> None:
    """Every command succeeded (with ``--json``, printing one JSON document), or (a cancel or retry losing
    a race; a write refused under faults) said why in an ``Error:`` line and exited non-zero."""
    for run in farm.runs:
        if run.code == 0:
            if "--json" in run.args:
                json.loads(run.out)  # one JSON document, however busy the farm
            continue
        errors = [line for line in run.err.strip().splitlines() if line.startswith("Error: ")]
        assert errors, run.describe()
        race = run.args[0] in ("cancel", "retry") and run.code == 2 and any(r in errors[-1] for r in STATE_RACES)
        assert race or faults, run.describe()


def check_done_once(farm: Farm) -> int:
    """Every frame of every finished task done exactly once, and no frame done that is not done; the count."""
    done_events = dict(farm.rows("SELECT frame_id, COUNT(*) FROM event WHERE kind = 'done' AND frame_id IS NOT NULL "
                                 "GROUP BY frame_id"))
    twice = {f: n for f, n in done_events.items() if n > 1}
    assert not twice, f"frames done more than once (frame id: done events): {twice}"
    frames = farm.rows("SELECT f.id, f.task_id, f.number, f.status, t.status FROM frame f JOIN task t "
                       "ON f.task_id = t.id")
    finished = 0
    for frame_id, task_id, number, status, task_status in frames:
        if task_status == "done":
            assert status == "done", (task_id, number, status)
        expected = 1 if status == "done" else 0
        assert done_events.get(frame_id, 0) == expected, (
            f"task {task_id} frame {number} ({status}, task {task_status}) has "
            f"{done_events.get(frame_id, 0)} done events"
        )
        finished += task_status == "done"
    return finished


def check_stored(farm: Farm, storage: Path) -> int:
    """Every done frame's results in storage, each with the MD5 and size its record gives; the count."""
    done = farm.rows("SELECT task_id, number FROM frame WHERE status = 'done'")
    for task_id, number in done:
        record_path = storage / "tasks" / str(task_id) / "outputs" / f"frame-{number}.json"
        assert record_path.is_file(), f"task {task_id} frame {number} is done but its results record is not stored"
        record = json.loads(record_path.read_bytes())
        assert record["frame"] == number and record["files"], record
        for item in record["files"]:
            obj = storage / item["key"]
            assert obj.is_file(), f"task {task_id} frame {number}: {item['key']} is recorded but not stored"
            data = obj.read_bytes()
            assert (hashlib.md5(data).hexdigest(), len(data)) == (item["hash"], item["size"]), item
    return len(done)


def check_nothing_lost(farm: Farm, submitted: dict[int, int]) -> None:
    """Every submitted task with all its frames, each done, queued or retryable; no task nobody submitted."""
    tasks = dict(farm.rows("SELECT id, status FROM task"))
    assert set(tasks) == set(submitted), (
        f"tasks recorded but not reported submitted: {sorted(set(tasks) - set(submitted))}; "
        f"reported submitted but not recorded: {sorted(set(submitted) - set(tasks))}"
    )
    counts = dict(farm.rows("SELECT task_id, COUNT(*) FROM frame GROUP BY task_id"))
    for tid, n in submitted.items():
        assert counts.get(tid, 0) == n, f"task {tid} was submitted with {n} frames and has {counts.get(tid, 0)}"
    now = datetime.now(timezone.utc)
    for task_id, number, status, lease_until in farm.rows(
        "SELECT task_id, number, status, lease_until FROM frame WHERE status NOT IN ('done', 'queued', 'failed', "
        "'cancelled')"
    ):
        # a frame a killed worker held: running until its lease runs out, then queued by the next reap
        assert status == "running" and utc(lease_until) is not None and utc(lease_until) < now, (
            task_id, number, status, lease_until)


def check_no_renders_left(farm: Farm) -> None:
    """No render process under the farm's home, and no child of this test, once the workers stopped."""
    left = render_processes(farm.home)
    assert not left, [" ".join(_cmdline(p)) for p in left]
    children = alive(psutil.Process().children(recursive=True))
    assert not children, [" ".join(_cmdline(p)) for p in children]


# -- the tests --------------------------------------------------------------------------------


def make_farm(root: Path) -> Farm:
    home = root / "home"
    home.mkdir()
    env = clean_env({
        "RFARM_HOME": str(home), "RFARM_USER": TEST_USER, "RFARM_LEASE_SECONDS": str(LEASE_S),
        "RFARM_MAYA_EXECUTABLE": str(FAKE_RENDER), "HOME": str(root),
    })
    return Farm(home, root, env, _unprivileged_prefix())


def make_scenes(root: Path, n: int) -> list[Path]:
    scenes = []
    for i in range(n):
        scene = root / f"project-{i}" / "shot.ma"
        scene.parent.mkdir()
        scene.write_text(SCENE, encoding="utf-8")
        scenes.append(scene)
    return scenes


def run_load(farm: Farm, faults: Faults | None, *, fast_workers: list[str], seed: int) -> Loops:
    """Three workers, the loops and (optionally) the faults for DURATION_S; then everything stopped."""
    loops = Loops(farm, make_scenes(farm.root, 2), seed)
    try:
        for name in fast_workers:
            farm.start_worker(name)
        if faults is not None:
            farm.start_worker(faults.victim, faults.render_mode)
        loops.start()
        if faults is not None:
            faults.start()
        time.sleep(DURATION_S)
    finally:
        if faults is not None:
            faults.join()
        loops.join()
        farm.stop_workers()
    return loops


def test_steady_load_on_the_embedded_default(tmp_path: Path) -> None:
    farm = make_farm(tmp_path)
    loops = run_load(farm, None, fast_workers=["w0", "w1", "w2"], seed=1)
    assert loops.submitted, "no submit succeeded"
    check_no_lock_errors(farm)
    check_commands(farm, faults=False)
    assert all(retry == 0 for _, cancel, retry in loops.cancel_rounds if cancel == 0), loops.cancel_rounds
    assert all(code == 0 for _, code in farm.exits), farm.exits
    assert check_done_once(farm) > 0, "no task finished"
    assert check_stored(farm, farm.home / "storage") > 0
    check_nothing_lost(farm, loops.submitted)
    check_no_renders_left(farm)


def test_load_under_faults_loses_nothing(tmp_path: Path) -> None:
    farm = make_farm(tmp_path)
    storage = farm.home / "storage"
    with small_tmpfs(storage, "16m") as mount:
        # the victim's renders go quiet after their first lines (as a long frame does), so that it is killed
        # in the middle of one and nothing but the lifeline can end the render (a print into the dead
        # worker's pipe would)
        faults = Faults(farm, "w0", "stall", mount)
        loops = run_load(farm, faults, fast_workers=["w1", "w2"], seed=2)
        assert loops.submitted, "no submit succeeded"
        check_no_lock_errors(farm)
        check_commands(farm, faults=True)
        # the workers running at the end stop cleanly; one that gave up under a fault said why and exited non-zero
        assert all(code == 0 for _, code in farm.exits), farm.exits
        for name, code, log in faults.died:
            assert code > 0 and log.strip().splitlines()[-1].startswith("Error: "), (name, code, log[-3000:])
        assert check_done_once(farm) > 0, "no task finished"
        assert check_stored(farm, storage) > 0
        check_nothing_lost(farm, loops.submitted)
        check_no_renders_left(farm)
        assert faults.done == [w for _, w, _ in Faults.FILE_FAULTS if mount is not None or w != "full"]
        killed_rendering = [k for k in faults.kills if k.renders]
        assert killed_rendering, "the victim was never killed in the middle of a render"
        # A SIGKILLed worker's render is ended by its lifeline, which outlives the worker.
        survivors = [s for k in faults.kills for s in k.survivors]
        assert not survivors, f"renders outlived their SIGKILLed worker by {RENDER_GONE_S} s: {survivors}"
