"""The audit trail: every change records who made it; only managers read it."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from rfarm_testlib import assert_one_error_line, cli_json, run_cli

from rfarm.api import LocalFarm
from rfarm.cli.webhooks_cmd import parse_since
from rfarm.errors import NotAllowedError, UsageError
from rfarm.state import scheduler
from rfarm.state.models import Event, Node, utcnow
from rfarm.state.scheduler import SubmitRequest
from rfarm.state.users import Caller, Role

ROOT = Caller("root", Role.ADMIN)
BOSS = Caller("boss", Role.MANAGER)
ALICE = Caller("alice")


@pytest.fixture
def api(any_farm: Any) -> LocalFarm:
    return LocalFarm(any_farm.config)


def trail(api: LocalFarm) -> list[tuple[str, str, str]]:
    """(actor, action, subject), oldest first."""
    return [(e.actor, e.action, e.subject) for e in reversed(api.audit(BOSS))]


def test_every_kind_of_change_records_its_actor(api: LocalFarm) -> None:
    made = api.add_user(ROOT, "carol", "artist")
    token = api.new_token(ALICE, "alice")
    api.set_role(ROOT, "carol", "manager")
    api.set_password(ROOT, "carol", "secret words")
    api.revoke_token(ROOT, token.token_id)
    tid = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1, 2]), user="alice")
    api.pause(ALICE, tid)
    api.resume(ALICE, tid)
    api.cancel(Caller("boss", Role.MANAGER, all_users=True), tid)
    api.retry(ALICE, tid)
    api.cleanup(ALICE, tid)
    Node.create(name="n1")
    api.set_node_enabled(BOSS, "n1", False)
    api.set_node_enabled(BOSS, "n1", True)
    api.add_hardware_config(BOSS, "big", ram_gb=64, gpus=2)
    api.remove_hardware_config(BOSS, "big")
    hook = api.add_webhook(ALICE, "https://hooks.example/rfarm", ["task.done"])
    api.remove_webhook(BOSS, hook.id)
    api.remove_user(ROOT, "carol")
    entries = trail(api)
    carol_token = next(s for a, k, s in entries if k == "token_issued" and a == "root")
    assert entries == [
        ("root", "user_added", "user:carol"),
        ("root", "token_issued", carol_token),
        ("alice", "token_issued", f"token:{token.token_id}"),
        ("root", "role_set", "user:carol"),
        ("root", "password_set", "user:carol"),
        ("root", "token_revoked", f"token:{token.token_id}"),
        ("alice", "submitted", f"task:{tid}"),
        ("alice", "paused", f"task:{tid}"),
        ("alice", "resumed", f"task:{tid}"),
        ("boss", "cancelled", f"task:{tid}"),
        ("alice", "retried", f"task:{tid}"),
        ("alice", "cleaned_up", f"task:{tid}"),
        ("boss", "node_disabled", "node:n1"),
        ("boss", "node_enabled", "node:n1"),
        ("boss", "hwconfig_added", "hwconfig:big"),
        ("boss", "hwconfig_removed", "hwconfig:big"),
        ("alice", "webhook_added", f"webhook:{hook.id}"),
        ("boss", "webhook_removed", f"webhook:{hook.id}"),
        ("root", "user_removed", "user:carol"),
    ]
    assert made.token not in json.dumps([e.to_dict() for e in api.audit(BOSS)]), "no token's text in the trail"
    # a node's own doing (a claim, a frame done) carries no actor and is not in the trail
    assert Event.select().where(Event.actor.is_null()).count() == 0
    claim = scheduler.claim("n1", lease_s=60)
    assert claim is not None
    scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=[])
    assert len(trail(api)) == len(entries)
    assert Event.select().where(Event.actor.is_null() & (Event.task == tid)).count() >= 2


def test_a_refused_change_records_nothing(api: LocalFarm) -> None:
    with pytest.raises(NotAllowedError):
        api.add_hardware_config(ALICE, "big", ram_gb=64)
    with pytest.raises(UsageError):
        api.set_node_enabled(BOSS, "no-such-node", False)
    assert api.audit(BOSS) == []


def test_only_managers_read_the_trail(api: LocalFarm) -> None:
    scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), user="alice")
    for who in (ALICE, Caller("vic", Role.VIEWER)):
        with pytest.raises(NotAllowedError, match="the audit trail needs the manager role"):
            api.audit(who)
    assert [e.action for e in api.audit(BOSS)] == ["submitted"]
    assert [e.action for e in api.audit(ROOT)] == ["submitted"]


def test_since_and_limit(api: LocalFarm) -> None:
    old = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), user="alice",
                           now=utcnow() - timedelta(days=3))
    new = [scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), user="alice")
           for _ in range(3)]
    assert [e.task_id for e in api.audit(BOSS)] == [*reversed(new), old]
    assert [e.task_id for e in api.audit(BOSS, since=utcnow() - timedelta(days=1))] == list(reversed(new))
    assert [e.task_id for e in api.audit(BOSS, limit=2)] == list(reversed(new))[:2]


def test_since_accepts_dates_times_and_spans() -> None:
    now = datetime(2026, 12, 10, 12, 0)
    assert parse_since("24h", now=now) == datetime(2026, 12, 9, 12, 0)
    assert parse_since("7d", now=now) == datetime(2026, 12, 3, 12, 0)
    assert parse_since("30m", now=now) == datetime(2026, 12, 10, 11, 30)
    assert parse_since("2026-12-01", now=now) == datetime(2026, 12, 1)
    assert parse_since("2026-12-01T09:30+02:00", now=now) == datetime(2026, 12, 1, 7, 30)
    for bad in ("yesterday", "24", "-1h", ""):
        with pytest.raises(UsageError, match="--since"):
            parse_since(bad, now=now)


def test_rfarm_audit_json(home_env: dict[str, str], farm: Any) -> None:
    code, out, err = run_cli("audit", "--json", env=home_env)
    assert_one_error_line(code, out, err, exit_code=4, json_doc=True)
    env = {**home_env, "RFARM_ADMINS": "alice"}
    cli_json("hwconfig", "add", "big", "--ram", "64", env=env)
    doc = cli_json("audit", "--since", "1h", env=env)
    assert isinstance(doc, list) and len(doc) == 1
    assert set(doc[0]) == {"id", "at", "actor", "action", "subject", "task_id", "message"}
    assert (doc[0]["actor"], doc[0]["action"], doc[0]["subject"], doc[0]["task_id"]) == \
        ("alice", "hwconfig_added", "hwconfig:big", None)
    assert doc[0]["at"].endswith("+00:00")
    assert cli_json("audit", "--since", "2999-01-01", env=env) == []
    code, out, err = run_cli("audit", "--since", "soon", env=env)
    assert_one_error_line(code, out, err, exit_code=2)

