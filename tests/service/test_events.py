"""Live events: the events table as a resumable stream, filtered to what the caller may see."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from rfarm_testlib import clean_env, run_cli_process

from rfarm.api import LocalFarm
from rfarm.state.users import Caller, Role

SCENE = '//Maya ASCII 2024 scene\nrequires maya "2024";\ncreateNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n'


def submit_local(env: dict[str, str], scene: Path, user: str) -> int:
    code, out, err = run_cli_process("submit", str(scene), "--frames", "1-2", "--in-place", "--user", user, "--json",
                                     env=env)
    assert code == 0, err
    return int(json.loads(out)["task_id"])


def test_waiting_for_events_in_the_library(farm: Any, config: Any, tmp_path: Path) -> None:
    from rfarm.submit.submission import build_request, submit

    api = LocalFarm(config)
    alice, bob = Caller("alice"), Caller("bob")
    scene = tmp_path / "s.ma"
    scene.write_text(SCENE, encoding="utf-8")
    cursor, seen = api.wait_events(alice)
    assert seen == []
    mine = submit(api, alice, build_request(str(scene), frames="1-2"), files="in-place").task_id
    theirs = submit(api, bob, build_request(str(scene), frames="1"), files="in-place").task_id
    cursor, seen = api.wait_events(alice, after=cursor, timeout_s=1)
    assert [(e.task_id, e.kind) for e in seen] == [(mine, "submitted")], "bob's task is not alice's to see"
    start = time.monotonic()
    assert api.wait_events(alice, after=cursor, timeout_s=0.5) == (cursor, [])
    assert time.monotonic() - start >= 0.45
    api.cancel(bob, theirs)
    boss = Caller("boss", Role.MANAGER, all_users=True)
    _, everything = api.wait_events(boss, after=0)
    assert {e.task_id for e in everything} == {mine, theirs}
    with pytest.raises(Exception, match="no task"):
        api.wait_events(alice, task_id=theirs)


@pytest.mark.e2e
def test_a_watcher_sees_a_change_within_a_second_and_resumes(tmp_path: Path, start_server: Callable[..., Any]) -> None:
    from rfarm.client.http import HttpFarm

    farm_env = clean_env({"RFARM_HOME": str(tmp_path / "farm"), "RFARM_USER": "boss"})
    code, out, err = run_cli_process("users", "add", "boss", "--role", "admin", "--json", env=farm_env)
    assert code == 0, err
    tokens = {}
    for name in ("alice", "bob"):
        code, out, err = run_cli_process("users", "add", name, "--json", env=farm_env)
        tokens[name] = json.loads(out)["token"]
    scene = tmp_path / "s.ma"
    scene.write_text(SCENE, encoding="utf-8")
    mine = submit_local(farm_env, scene, "alice")
    server = start_server(farm_env)
    alice = HttpFarm(server.url, tokens["alice"])
    try:
        cursor, _ = alice.wait_events(Caller(""), task_id=mine)
        theirs = submit_local(farm_env, scene, "bob")
        code, _, err = run_cli_process("cancel", str(theirs), env={**farm_env, "RFARM_USER": "bob"})
        start = time.monotonic()
        code, _, err = run_cli_process("cancel", str(mine), env={**farm_env, "RFARM_USER": "alice"})
        changed_at = time.monotonic()
        assert code == 0, err
        cursor, seen = alice.wait_events(Caller(""), after=cursor, task_id=mine, timeout_s=5)
        assert time.monotonic() - changed_at < 1.0, "the change reached the watcher within a second"
        assert seen and {e.task_id for e in seen} == {mine} and "cancelled" in {e.kind for e in seen}
        assert start <= changed_at
    finally:
        alice.close()
    # resumable: a reader that says where it stopped gets what it missed, and only what it may see
    with httpx.stream("GET", server.url + "/api/events", headers={"Authorization": f"Bearer {tokens['alice']}",
                                                                  "Last-Event-ID": "0"}, timeout=5) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = []
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if events[-1]["kind"] == "cancelled":
                    break
    assert {e["task_id"] for e in events} == {mine}
    assert [e["kind"] for e in events][0] == "submitted"
    bob = httpx.get(server.url + f"/api/events?task={mine}", headers={"Authorization": f"Bearer {tokens['bob']}"})
    assert bob.status_code == 404
