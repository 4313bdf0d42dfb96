"""Webhooks: signed POSTs to a real receiver, retries, the delivery log, whose tasks fire whose hooks,
and a dead receiver that slows nothing down; the audit trail over HTTP."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence, Set
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rfarm_testlib import assert_one_error_line, cli_json, run_cli

from rfarm.api import LocalFarm
from rfarm.errors import NotAllowedError, NotFoundError, UsageError
from rfarm.service.webhooks import Deliverer
from rfarm.state import scheduler
from rfarm.state.models import WebhookAttempt, WebhookDelivery, utcnow
from rfarm.state.scheduler import Limits, SubmitRequest
from rfarm.state.users import Caller, Role

ALICE = Caller("alice")
BOB = Caller("bob")
BOSS = Caller("boss", Role.MANAGER)
ANY = Caller("")
NOW_DELAYS = (0, 0)


class Receiver:
    """A real HTTP server on a free port that records each POST and answers with the next scripted status."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.posts: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append({"headers": dict(self.headers), "body": body, "path": self.path})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(p["body"]) for p in self.posts]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def api(farm: Any, config: Any) -> LocalFarm:
    return LocalFarm(config)


def render(user: str, frames: list[int], *, tests: Sequence[int] = (), fail: Set[int] = frozenset()) -> int:
    """Submit a task and render every frame on node n1 (those in ``fail`` fail for good); its id."""
    tid = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=frames, test_frames=list(tests)),
                           user=user, limits=Limits(max_attempts=1))
    while (claim := scheduler.claim("n1", lease_s=60)) is not None:
        for frame in claim.frames:
            if frame.number in fail:
                scheduler.fail_frame(frame.id, claim.token, error="boom")
            else:
                scheduler.finish_frame(frame.id, claim.token, outputs=[])
    return tid


def test_a_delivery_is_signed_with_the_webhooks_secret(api: LocalFarm, config: Any, receiver: Any) -> None:
    r = receiver()
    hook = api.add_webhook(ALICE, r.url, ["task.done", "test_frame.done"])
    assert hook.secret and len(hook.secret) == 64
    tid = render("alice", [1, 2, 3], tests=[2])
    assert Deliverer(config, delays=NOW_DELAYS).run_once() == 2
    in_order = sorted(r.bodies(), key=lambda b: b["event_id"])  # sent side by side, so they may arrive in any order
    assert [(b["event"], b.get("frame")) for b in in_order] == [("test_frame.done", 2), ("task.done", None)]
    for post, body in zip(r.posts, r.bodies()):
        expected = "sha256=" + hmac.new(hook.secret.encode(), post["body"], hashlib.sha256).hexdigest()
        assert post["headers"]["X-Rfarm-Signature"] == expected
        assert post["headers"]["X-Rfarm-Event"] == body["event"]
        assert post["headers"]["X-Rfarm-Delivery"] == str(body["delivery"])
        assert post["headers"]["Content-Type"] == "application/json"
        assert body["task_id"] == tid and body["user"] == "alice" and body["status"] == "done"
        assert body["at"].endswith("+00:00")
    assert Deliverer(config, delays=NOW_DELAYS).run_once() == 0, "a delivered event is not sent again"
    assert len(r.posts) == 2


def test_a_failed_try_is_retried_and_every_try_is_logged(api: LocalFarm, config: Any, receiver: Any) -> None:
    r = receiver([500, 200])
    hook = api.add_webhook(ALICE, r.url, ["task.failed"])
    tid = render("alice", [1], fail={1})
    sender = Deliverer(config, delays=(1.5,))
    sender.run_once()
    [log] = api.deliveries(ALICE, hook.id)
    assert (log.attempts, log.status_code, log.error, log.delivered, log.done) == (1, 500, "HTTP 500", False, False)
    assert log.next_try_at is not None
    assert sender.run_once() == 0, "not due before its backoff has passed"
    time.sleep(1.6)
    assert sender.run_once() == 1
    [log] = api.deliveries(ALICE, hook.id)
    assert (log.attempts, log.status_code, log.error, log.delivered, log.done, log.task_id) == \
        (2, 200, None, True, True, tid)
    assert [(a.number, a.status_code) for a in WebhookAttempt.select().order_by(WebhookAttempt.number)] == \
        [(1, 500), (2, 200)]
    assert [p["headers"]["X-Rfarm-Delivery"] for p in r.posts] == [str(log.id)] * 2
    assert r.posts[0]["body"] == r.posts[1]["body"], "a retry sends the same signed body"


def test_a_delivery_gives_up_after_its_last_try(api: LocalFarm, config: Any, receiver: Any) -> None:
    r = receiver([503] * 10)
    hook = api.add_webhook(ALICE, r.url, ["task.done"])
    render("alice", [1])
    sender = Deliverer(config, delays=(0, 0))
    for _ in range(5):
        sender.run_once()
    [log] = api.deliveries(ALICE, hook.id)
    assert (log.attempts, log.delivered, log.done, log.status_code) == (3, False, True, 503)
    assert len(r.posts) == 3


def test_a_users_webhook_fires_only_for_their_own_tasks(api: LocalFarm, config: Any, receiver: Any) -> None:
    mine, everyone = receiver(), receiver()
    api.add_webhook(ALICE, mine.url, ["task.done", "task.cancelled"])
    api.add_webhook(BOSS, everyone.url, ["task.done", "task.failed"], farm_wide=True)
    bob_tid = render("bob", [1])
    alice_tid = render("alice", [1])
    failed = render("bob", [1], fail={1})
    Deliverer(config, delays=NOW_DELAYS).run_once()
    assert [(b["task_id"], b["event"]) for b in mine.bodies()] == [(alice_tid, "task.done")]
    assert sorted((b["task_id"], b["event"]) for b in everyone.bodies()) == \
        [(bob_tid, "task.done"), (alice_tid, "task.done"), (failed, "task.failed")]


def test_a_webhook_fires_only_for_what_happens_after_it_is_made(api: LocalFarm, config: Any, receiver: Any) -> None:
    r = receiver()
    render("alice", [1])
    api.add_webhook(ALICE, r.url, ["task.done"])
    assert Deliverer(config, delays=NOW_DELAYS).run_once() == 0
    tid = render("alice", [1])
    Deliverer(config, delays=NOW_DELAYS).run_once()
    assert [b["task_id"] for b in r.bodies()] == [tid]


def test_two_senders_never_send_one_delivery_twice(api: LocalFarm, config: Any, receiver: Any) -> None:
    r = receiver()
    api.add_webhook(ALICE, r.url, ["task.done"])
    tids = [render("alice", [1]) for _ in range(12)]
    senders = [Deliverer(config, delays=NOW_DELAYS) for _ in range(3)]
    threads = [threading.Thread(target=s.run_once) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in senders:  # whatever a round left (a sender finding the others' claims) goes now
        s.run_once()
    assert sorted(b["task_id"] for b in r.bodies()) == tids
    assert WebhookDelivery.select().where(WebhookDelivery.delivered_at.is_null(False)).count() == 12


def _silent_listener() -> tuple[socket.socket, str]:
    """A socket that takes connections and never answers: a hung receiver."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


def test_a_dead_receiver_slows_no_submit_and_no_render(api: LocalFarm, config: Any) -> None:
    sock, url = _silent_listener()
    hook = api.add_webhook(ALICE, url, ["task.done", "test_frame.done"])
    sender = Deliverer(config, delays=(), timeout_s=4, poll_s=0.2)
    stop = sender.start()
    try:
        render("alice", [1, 2], tests=[1])
        time.sleep(0.3)  # the sender is now waiting on the silent receiver
        start = time.perf_counter()
        tid = render("alice", list(range(1, 21)), tests=[5])
        # a wait for the receiver would cost its 4 s timeout at least
        assert time.perf_counter() - start < 2.5, "submitting and rendering never waits for a webhook"
        assert api.task(ALICE, tid).status == "done"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            logs = api.deliveries(ALICE, hook.id)
            if len(logs) == 4 and all(d.attempts for d in logs):
                break
            time.sleep(0.2)
        assert logs and all(d.attempts and not d.delivered and "Timeout" in (d.error or "") for d in logs)
    finally:
        stop()
        sock.close()


def test_rfarm_serve_runs_the_sender(service: Any, token_for: Any, receiver: Any, config: Any) -> None:
    r = receiver()
    token = token_for("alice", "artist")
    with TestClient(service, headers={"Authorization": f"Bearer {token}"}) as client:  # runs the lifespan
        made = client.post("/api/webhooks", json={"url": r.url, "events": ["task.done"]})
        assert made.status_code == 201, made.text
        tid = render("alice", [1])
        deadline = time.monotonic() + 10
        while not r.posts and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [b["task_id"] for b in r.bodies()] == [tid]


def test_webhooks_over_http(http_farm: Any, receiver: Any) -> None:
    r = receiver()
    alice, bob, boss = http_farm("alice"), http_farm("bob"), http_farm("boss", "manager")
    made = alice.add_webhook(ANY, r.url, ["task.done", "frame.failed"])
    assert made.secret and made.owner == "alice" and made.events == ["task.done", "frame.failed"]
    farm_wide = boss.add_webhook(ANY, r.url, ["task.failed"], farm_wide=True)
    assert farm_wide.owner is None and farm_wide.secret != made.secret
    listed = alice.webhooks(ANY)
    assert [(w.id, w.secret) for w in listed] == [(made.id, None)], "the secret is never listed"
    assert {w.id for w in boss.webhooks(ANY)} == {made.id, farm_wide.id}
    assert bob.webhooks(ANY) == []
    with pytest.raises(NotAllowedError, match="manager"):
        alice.add_webhook(ANY, r.url, ["task.done"], farm_wide=True)
    with pytest.raises(UsageError, match="task.done, task.failed, task.cancelled, test_frame.done, frame.failed"):
        alice.add_webhook(ANY, r.url, ["task.finished"])
    with pytest.raises(UsageError, match="http:// or https://"):
        alice.add_webhook(ANY, "file:///etc/passwd", ["task.done"])
    with pytest.raises(NotFoundError):
        bob.remove_webhook(ANY, made.id)
    with pytest.raises(NotFoundError):
        bob.deliveries(ANY, made.id)
    assert alice.deliveries(ANY, made.id) == []
    alice.remove_webhook(ANY, made.id)
    assert alice.webhooks(ANY) == []
    with pytest.raises(NotFoundError):
        alice.remove_webhook(ANY, made.id)


def test_rfarm_webhooks_commands(home_env: dict[str, str], farm: Any, receiver: Any) -> None:
    r = receiver()
    made = cli_json("webhooks", "add", r.url, "--events", "task.done,test_frame.done", env=home_env)
    assert set(made) == {"id", "url", "events", "owner", "farm_wide", "created_at", "secret"}
    assert made["events"] == ["task.done", "test_frame.done"] and made["owner"] == "alice" and not made["farm_wide"]
    listed = cli_json("webhooks", "list", env=home_env)
    assert [w["id"] for w in listed] == [made["id"]] and "secret" not in listed[0]
    code, out, err = run_cli("webhooks", "add", r.url, "--events", "task.done,nope", env=home_env)
    assert "test_frame.done" in assert_one_error_line(code, out, err, exit_code=2)
    code, out, err = run_cli("webhooks", "add", r.url, "--farm", env=home_env)
    assert_one_error_line(code, out, err, exit_code=4)
    assert cli_json("webhooks", "remove", str(made["id"]), env=home_env) == {"id": made["id"], "removed": True}
    code, out, err = run_cli("webhooks", "remove", str(made["id"]), "--json", env=home_env)
    assert_one_error_line(code, out, err, exit_code=2, json_doc=True)
    assert cli_json("webhooks", "list", env=home_env) == []


def test_rfarm_audit_over_http(http_farm: Any) -> None:
    boss, alice = http_farm("boss", "manager"), http_farm("alice")
    boss.add_hardware_config(ANY, "big", ram_gb=8)
    with pytest.raises(NotAllowedError):
        alice.audit(ANY)
    entries = boss.audit(ANY, since=utcnow() - timedelta(hours=1))
    assert [(e.actor, e.action, e.subject) for e in entries][0] == ("boss", "hwconfig_added", "hwconfig:big")
    assert ("root", "user_added", "user:alice") in [(e.actor, e.action, e.subject) for e in entries]
    assert boss.audit(ANY, since=utcnow() + timedelta(hours=1)) == []


def test_deliveries_on_either_database(any_farm: Any, receiver: Any) -> None:
    r = receiver([500])
    api = LocalFarm(any_farm.config)
    hook = api.add_webhook(ALICE, r.url, ["task.done", "frame.failed"])
    farm_wide = api.add_webhook(BOSS, r.url, ["task.failed"], farm_wide=True)
    done, failed = render("alice", [1]), render("bob", [1], fail={1})
    sender = Deliverer(any_farm.config, delays=(0,))
    assert sender.run_once() == 2
    assert sender.run_once() == 1, "the one answered with a 500 is tried again"
    assert sender.run_once() == 0
    mine, everyone = api.deliveries(ALICE, hook.id), api.deliveries(BOSS, farm_wide.id)
    assert [(d.task_id, d.event, d.delivered) for d in mine] == [(done, "task.done", True)]
    assert [(d.task_id, d.event, d.delivered) for d in everyone] == [(failed, "task.failed", True)]
    assert sorted(d.attempts for d in mine + everyone) == [1, 2]
