"""What a week on a real farm brings to the task commands: a blocklisted task retried, a download with bad
results, a huge task's status, ``status --watch`` and ``logs -f`` on a task that is still rendering."""
from __future__ import annotations

import io
import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import TEST_USER, assert_one_error_line, clean_env, run_cli, run_cli_process

from rfarm.node.hardware import Hardware
from rfarm.state import nodes, scheduler
from rfarm.state.allocation import BLOCKLIST_AFTER
from rfarm.state.models import NodeFailure
from rfarm.state.scheduler import SubmitRequest

pytestmark = pytest.mark.e2e  # the remote halves run a real server; watch and follow run real commands

SCENE = ('//Maya ASCII 2024 scene\nrequires maya "2024";\nplaybackOptions -min 1 -max 4;\n'
         'createNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n')


def ok(*args: str, env: dict[str, str]) -> Any:
    code, out, err = run_cli(*args, "--json", env=env)
    assert code == 0, f"rfarm {' '.join(args)} exited {code}: {err}"
    return json.loads(out)


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "shot.ma"
    path.parent.mkdir()
    path.write_text(SCENE, encoding="utf-8")
    return path


def farm_side() -> None:
    """Bind this process's models to the farm under RFARM_HOME (the test plays the nodes)."""
    from rfarm.config import load_config
    from rfarm.state.farm import open_farm

    open_farm(load_config())


def add_node(name: str) -> None:
    nodes.register_node(name, Hardware("host", "Linux", "6", 8, 32), tags=[], renderers={"maya": "2024"})


def render(node: str, *, fail: bool = False, outputs: tuple[str, ...] = ()) -> int:
    """One frame claimed by ``node`` and finished (or failed); its number."""
    claim = scheduler.claim(node, lease_s=60)
    assert claim is not None
    frame = claim.frames[0]
    if fail:
        scheduler.fail_frame(frame.id, claim.token, error="Error: camera 'shotCam' not found")
    else:
        scheduler.finish_frame(frame.id, claim.token, outputs=list(outputs))
    return frame.number


# -- a blocklisted task: why it waits, and a retry that clears it -------------------------------------


def test_status_says_why_no_node_takes_a_task_and_retry_clears_the_blocklist(both, scene: Path) -> None:  # type: ignore[no-untyped-def]
    alice = both.env_for("alice")
    tid = ok("submit", str(scene), "--frames", "1-3", env=alice)["task_id"]
    farm_side()
    add_node("n1")
    NodeFailure.insert(task=tid, node="n1", failures=BLOCKLIST_AFTER).execute()  # n1 failed it 3 times
    doc = ok("status", str(tid), env=alice)
    (reason,) = doc["waiting"]
    assert reason.startswith("blocklisted on every node that can render it (n1") and f"rfarm retry {tid}" in reason
    code, out, err = run_cli("status", str(tid), env=alice)
    assert code == 0 and "waiting: blocklisted on every node" in " ".join(out.split()), out + err

    # the frames fail on the farm's only node; the task fails; a retry clears the blocklist
    NodeFailure.delete().execute()
    for _ in range(BLOCKLIST_AFTER):
        render("n1", fail=True)
    assert ok("status", str(tid), env=alice)["status"] == "failed"
    assert ok("retry", str(tid), env=alice) == {"task_id": tid, "status": "queued", "frames_requeued": 3,
                                                "blocklist_cleared": 1}
    assert ok("status", str(tid), env=alice)["waiting"] == []
    render("n1")  # n1 takes the task's frames again
    for _ in range(BLOCKLIST_AFTER):
        render("n1", fail=True)
    code, out, err = run_cli("retry", str(tid), env=alice)
    assert code == 0 and "blocklist cleared on 1 node" in err, err


def test_status_names_the_missing_renderer_and_an_offline_farm(both, scene: Path) -> None:  # type: ignore[no-untyped-def]
    alice = both.env_for("alice")
    tid = ok("submit", str(scene), "--frames", "1-2", env=alice)["task_id"]
    assert ok("status", str(tid), env=alice)["waiting"][0].startswith("no node online")
    farm_side()
    nodes.register_node("b1", Hardware("host", "Linux", "6", 8, 32), tags=[], renderers={"blender": "5.0"})
    assert ok("status", str(tid), env=alice)["waiting"] == ["no node has the renderer maya 2024 (nodes offer: blender 5.0)"]
    ok("pause", str(tid), env=alice)
    assert ok("status", str(tid), env=alice)["waiting"] == [f"paused: rfarm resume {tid} lets nodes take its frames again"]


# -- download: every good file, each bad one reported ---------------------------------------------------


def test_download_fetches_every_good_result_and_names_the_frames_to_render_again(both, scene: Path,  # type: ignore[no-untyped-def]
                                                                                 tmp_path: Path) -> None:
    from rfarm.config import load_config
    from rfarm.files.transfer import store_results
    from rfarm.state.farm import open_farm

    alice = both.env_for("alice")
    tid = ok("submit", str(scene), "--frames", "1-3", env=alice)["task_id"]
    farm_side()
    add_node("n1")
    storage = open_farm(load_config()).storage
    base = tmp_path / "renders"
    base.mkdir()
    for _ in range(3):
        number = render("n1")
        image = base / f"shot_{number:04d}.exr"
        image.write_bytes(bytes([number]) * 5000)
        store_results(storage, tid, number, [image], base=base)
    home = Path(both.home) / "storage" / "tasks" / str(tid) / "results"
    (home / "shot_0001.exr").unlink()  # gone from storage
    (home / "shot_0002.exr").write_bytes(b"bit rot" * 100)  # damaged there

    code, out, err = run_cli("download", str(tid), "--dest", str(tmp_path / "dl"), env=alice)
    assert code == 1 and out == "", err
    assert (tmp_path / "dl" / "shot_0003.exr").read_bytes() == bytes([3]) * 5000, "the good file is fetched"
    assert not (tmp_path / "dl" / "shot_0001.exr").exists() and not (tmp_path / "dl" / "shot_0002.exr").exists()
    lines = [line for line in err.strip().splitlines() if not line.startswith(("WARNING:", "downloading"))]
    assert lines[0].startswith("missing: result shot_0001.exr is missing from storage") and "upload" not in err
    assert lines[1].startswith("corrupt: result shot_0002.exr")
    assert lines[-1].endswith(f"render them again with: rfarm retry {tid} --frames 1-2")
    assert "Traceback" not in err

    code, out, err = run_cli("download", str(tid), "--dest", str(tmp_path / "dl2"), "--json", env=alice)
    doc = json.loads(out)
    assert code == 1 and (doc["files"], [(b["path"], b["frame"], b["problem"]) for b in doc["bad"]]) == (
        1, [("shot_0001.exr", 1, "missing"), ("shot_0002.exr", 2, "corrupt")])

    # the two frames, done, are rendered again
    assert ok("retry", str(tid), "--frames", "1-2", env=alice)["frames_requeued"] == 2
    frames = {f["frame"]: f["status"] for f in ok("status", str(tid), env=alice)["frames"]}
    assert frames == {1: "queued", 2: "queued", 3: "done"}
    line = assert_one_error_line(*run_cli("retry", str(tid), "--frames", "7", env=alice))
    assert f"task {tid} has no frame 7" in line
    assert_one_error_line(*run_cli("retry", str(tid), "--frames", "1-2", env=alice))  # queued already


# -- huge tasks ------------------------------------------------------------------------------------------


def test_a_task_over_max_frames_per_task_is_refused(home_env: dict[str, str], scene: Path) -> None:
    line = assert_one_error_line(*run_cli("submit", str(scene), "--frames", "1-100001", env=home_env))
    assert "100,001 frames, more than max_frames_per_task (100,000)" in line
    env = {**home_env, "RFARM_MAX_FRAMES_PER_TASK": "10"}
    assert_one_error_line(*run_cli("submit", str(scene), "--frames", "1-11", env=env))
    assert run_cli("submit", str(scene), "--frames", "1-10", env=env)[0] == 0


def test_status_of_a_big_task_shows_a_summary_and_a_bounded_table(farm: Any, home_env: dict[str, str]) -> None:
    from rfarm.cli.task_view import TABLE_LIMIT
    from rfarm.state.taskinfo import find_task, task_info

    tid = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=range(1, 1001),
                                         test_frames=(500,)), user=TEST_USER)
    for name in ("n1", "n2"):
        nodes.register_node(name, Hardware("host", "Linux", "6", 8, 32), tags=[], renderers={"blender": "5.0"})
    render("n1", outputs=("/r/0500.png",))
    for _ in range(3):
        render("n1", fail=True)  # frame 1 fails three times (and n1 is blocklisted for the task)
    render("n2", outputs=("/r/0002.png",))
    code, out, err = run_cli("status", str(tid), env=home_env)
    assert code == 0, err
    assert "1,000 frames: 997 queued, 2 done, 1 failed" in out and "progress 0.3%" in out
    assert "failing: frame 1 (failed, attempt 3): Error: camera 'shotCam' not found" in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == TABLE_LIMIT and rows[0].startswith("│ 500 (test)")
    assert f"showing the first {TABLE_LIMIT} frames of 1,000: rfarm status {tid} --frames A-B" in out

    code, out, _ = run_cli("status", str(tid), "--frames", "1-3", "--state", "done", env=home_env)
    assert [r.split("│")[1].strip() for r in out.splitlines() if r.startswith("│")] == ["2"]
    assert_one_error_line(*run_cli("status", str(tid), "--state", "rendered", env=home_env))
    assert_one_error_line(*run_cli("status", "--frames", "1", env=home_env))

    doc = json.loads(run_cli("status", str(tid), "--json", env=home_env)[1])
    # every frame, as the library reads it (times and outputs included), after the task's old keys
    assert doc["frames"] == [f.to_dict() for f in task_info(find_task(tid)).frames]
    assert list(doc)[:11] == ["task_id", "status", "user", "name", "scene", "renderer", "priority", "frames_spec",
                              "created_at", "finished_at", "counts"]
    assert (doc["progress"], doc["waiting"]) == (0.3, [])
    picked = json.loads(run_cli("status", str(tid), "--json", "--state", "failed", env=home_env)[1])
    assert [f["frame"] for f in picked["frames"]] == [1]


def test_the_status_document_is_written_as_its_frames_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from rfarm.cli.output import print_json_stream

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    written_before_last: list[int] = []

    def frames():  # type: ignore[no-untyped-def]
        for i in range(5000):
            if i == 4999:
                written_before_last.append(len(out.getvalue()))
            yield {"frame": i}

    print_json_stream({"task_id": 1}, "frames", frames())
    assert json.loads(out.getvalue()) == {"task_id": 1, "frames": [{"frame": i} for i in range(5000)]}
    assert written_before_last[0] > 0.75 * len(out.getvalue()), "most of the document was out before the last frame"


def test_status_watch_ends_with_the_task(farm: Any, home_env: dict[str, str]) -> None:
    done = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), user=TEST_USER)
    scheduler.cancel_task(done, actor=TEST_USER)
    code, out, err = run_cli_process("status", str(done), "--watch", env=home_env, timeout=60)
    assert code == 0 and "cancelled" in out, err
    tid = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1, 2]), user=TEST_USER)
    watcher = subprocess.Popen([sys.executable, "-m", "rfarm", "status", str(tid), "--watch", "--json"],
                               env=home_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    try:
        assert watcher.stdout is not None
        first = json.loads(watcher.stdout.readline())
        assert first["status"] == "queued" and len(first["frames"]) == 2
        scheduler.cancel_task(tid, actor=TEST_USER)
        rest, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(10)
    assert watcher.returncode == 0, err
    assert json.loads(rest.strip().splitlines()[-1])["status"] == "cancelled"


# -- logs -f --------------------------------------------------------------------------------------------


def test_logs_follow_waits_for_frames_not_started_until_the_task_ends(farm: Any, home_env: dict[str, str],
                                                                     tmp_path: Path) -> None:
    tid = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1, 2]), user=TEST_USER)
    nodes.register_node("n1", Hardware("host", "Linux", "6", 8, 32), tags=[], renderers={"blender": "5.0"})
    follower = subprocess.Popen([sys.executable, "-m", "rfarm", "logs", str(tid), "-f"], env=clean_env(home_env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    lines: queue.Queue[str] = queue.Queue()
    assert follower.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True).start()  # type: ignore[union-attr]

    def wait_for(text: str) -> None:
        seen = []
        while True:
            try:
                seen.append(lines.get(timeout=60))
            except queue.Empty:
                pytest.fail(f"logs -f never printed {text!r}; it printed {seen!r}, stderr: "
                            f"{follower.stderr.read() if follower.poll() is not None else ''}")  # type: ignore[union-attr]
            if text in seen[-1]:
                return

    def start(number: int) -> tuple[Any, Path]:
        claim = scheduler.claim("n1", lease_s=60)
        assert claim is not None and claim.frames[0].number == number
        log = tmp_path / f"frame-{number}.log"
        log.write_text(f"frame {number} starts\n")
        scheduler.set_log_path(claim.frames[0].id, claim.token, str(log))
        return claim, log

    try:
        claim, log = start(1)
        wait_for("frame 1 starts")
        with open(log, "a") as fh:
            fh.write("frame 1 halfway\n")
        wait_for("frame 1 halfway")
        scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=[], log_path=str(log))
        # frame 2 has not started and the task still renders: the follower must wait for it
        claim, log = start(2)
        wait_for("frame 2 starts")
        with open(log, "a") as fh:
            fh.write("frame 2 done\n")
        scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=[], log_path=str(log))
        wait_for("frame 2 done")
        assert follower.wait(timeout=60) == 0, "logs -f ends with the task"
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(10)
