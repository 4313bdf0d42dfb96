"""A farm of three worker processes, on PostgreSQL + Redis and on the SQLite default.

Frames spread over the nodes; a node killed with SIGKILL mid-frame has its
frame requeued and rendered elsewhere, every frame exactly once; a cancel
reaches the renders on every node. Renders are tests/fakes/fake_render.py
standing in for Maya's ``Render`` (``seconds=N`` frames), so the test
controls how long a frame takes.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest
from rfarm_testlib import TEST_USER, clean_env, run_cli

pytestmark = pytest.mark.e2e

FAKE = Path(__file__).resolve().parent / "fakes" / "fake_render.py"
SCENE = ('//Maya ASCII 2024 scene\nrequires maya "2024";\nselect -ne :defaultRenderGlobals;\n\tsetAttr ".ren" -type "string" "arnold";\n'
         'createNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n')
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T], timeout_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}", pytrace=False)
        time.sleep(0.2)
    return value


@pytest.fixture(params=["sqlite", pytest.param("postgresql+redis", marks=pytest.mark.services)])
def farm_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    env = clean_env({
        "RFARM_HOME": str(tmp_path / "home"), "RFARM_USER": TEST_USER, "RFARM_LEASE_SECONDS": "3",
        "RFARM_MAYA_EXECUTABLE": str(FAKE), "RFARM_QUEUE_SECRET": "farm-secret",
    })
    if request.param != "sqlite":
        env["RFARM_DATABASE_URL"] = request.getfixturevalue("pg_url")
        env["RFARM_QUEUE_URL"] = request.getfixturevalue("redis_url")
    return env


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    path = tmp_path / "shot.ma"
    path.write_text(SCENE, encoding="utf-8")
    return path


class Farm:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, **extra: str) -> None:
        with open(self.logs / f"{name}.log", "wb") as log:
            self.nodes[name] = subprocess.Popen(
                [sys.executable, "-m", "rfarm", "worker", "--name", name], env={**self.env, **extra},
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def status(self, task_id: int) -> dict[str, Any]:
        code, out, err = run_cli("status", str(task_id), "--json", env=self.env)
        assert code == 0, err
        return json.loads(out)

    def running(self, task_id: int) -> dict[str, int]:
        """node → frame it renders now."""
        return {f["worker"]: f["frame"] for f in self.status(task_id)["frames"] if f["status"] == "running"}

    def renders(self) -> list[psutil.Process]:
        home = self.env["RFARM_HOME"]
        found = []
        for proc in psutil.process_iter(["cmdline", "status"]):
            try:
                cmd = " ".join(proc.info["cmdline"] or ())
                if str(FAKE) in cmd and home in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except psutil.NoSuchProcess:
                pass
        return found

    def stop_all(self) -> None:
        for name, proc in self.nodes.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.nodes.items():
            try:
                code = proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                pytest.fail(f"worker {name} ignored SIGTERM:\n{(self.logs / f'{name}.log').read_text()[-2000:]}")
            assert code in (0, -signal.SIGKILL), (self.logs / f"{name}.log").read_text()[-2000:]


@pytest.fixture
def farm(farm_env: dict[str, str], tmp_path: Path) -> Iterator[Farm]:
    f = Farm(farm_env, tmp_path)
    yield f
    for proc in f.nodes.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def submit(farm: Farm, scene: Path, *args: str) -> int:
    code, out, err = run_cli("submit", str(scene), "--json", *args, env=farm.env)
    assert code == 0, err
    return int(json.loads(out)["task_id"])


def test_a_killed_node_loses_nothing_and_frames_spread(farm: Farm, scene: Path) -> None:
    tid = submit(farm, scene, "--frames", "1-6")
    for name in ("n0", "n1", "n2"):
        farm.start(name, FAKE_RENDER_MODE="seconds=3")
    running = wait_for("a frame on every node", lambda: (r := farm.running(tid)) and len(r) == 3 and r, 60)
    victim_frame = running["n0"]
    victim_renders = [p for p in farm.renders() if any(c.pid == farm.nodes["n0"].pid for c in p.parents())]
    assert victim_renders, "n0's render processes"
    farm.nodes["n0"].send_signal(signal.SIGKILL)
    farm.nodes["n0"].wait(10)
    gone, alive = psutil.wait_procs(victim_renders, timeout=5)
    assert not alive, f"renders outlived their SIGKILLed worker: {alive}"
    doc = wait_for("the task to finish", lambda: (d := farm.status(tid))["status"] in ("done", "failed") and d, 90)
    assert doc["status"] == "done", doc
    frames = {f["frame"]: f for f in doc["frames"]}
    assert all(f["status"] == "done" and f["outputs"] and Path(f["outputs"][0]).is_file() for f in frames.values())
    assert frames[victim_frame]["attempts"] == 2 and frames[victim_frame]["worker"] != "n0"
    assert all(f["attempts"] == 1 for n, f in frames.items() if n != victim_frame)
    assert len({f["worker"] for f in frames.values()}) >= 2, "frames spread over the nodes"
    events = events_of(farm.env, tid)
    assert Counter(n for kind, n in events if kind == "done") == Counter(range(1, 7)), "each frame done exactly once"
    assert [n for kind, n in events if kind == "lease_expired"] == [victim_frame]
    del farm.nodes["n0"]
    farm.stop_all()


def test_a_cancel_reaches_the_renders_on_every_node(farm: Farm, scene: Path) -> None:
    tid = submit(farm, scene, "--frames", "1-3")
    for name in ("n0", "n1", "n2"):
        farm.start(name, FAKE_RENDER_MODE="seconds=120")
    wait_for("a frame on every node", lambda: len(farm.running(tid)) == 3, 60)
    renders = wait_for("three renders", lambda: (r := farm.renders()) and len([p for p in r if "rfarm.node.lifeline" not in " ".join(p.cmdline())]) >= 3 and r, 30)
    code, _, err = run_cli("cancel", str(tid), env=farm.env)
    assert code == 0, err
    gone, alive = psutil.wait_procs(renders, timeout=10)
    assert not alive, f"renders still alive after cancel: {[p.cmdline() for p in alive]}"
    doc = farm.status(tid)
    assert doc["status"] == "cancelled" and {f["status"] for f in doc["frames"]} == {"cancelled"}
    assert all(proc.poll() is None for proc in farm.nodes.values()), "the workers keep running"
    farm.stop_all()


def events_of(env: dict[str, str], task_id: int) -> list[tuple[str, int]]:
    """(kind, frame number) of the task's frame events, from whichever database the farm uses."""
    code = (
        "import json, sys\n"
        "from rfarm.config import load_config\n"
        "from rfarm.state.farm import open_farm\n"
        "from rfarm.state.models import Event, Frame\n"
        "open_farm(load_config())\n"
        f"rows = Event.select(Event.kind, Frame.number).join(Frame).where(Event.task == {task_id}).order_by(Event.id).tuples()\n"
        "print(json.dumps([list(r) for r in rows]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    return [(kind, number) for kind, number in json.loads(out.stdout)]


