"""Dashboard sessions in this process: login, the cookie, CSRF, logout, expiry, and the API under a session."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webtools import csrf_of, log_in

from rfarm.errors import NotAuthenticatedError
from rfarm.service.web import sessions
from rfarm.state.models import Task


def test_the_login_form_logs_in_with_a_session_cookie(service: Any, add_user: Callable[..., None]) -> None:
    add_user("alice")
    client = TestClient(service)
    assert client.get("/tasks", follow_redirects=False).headers["location"] == "/login?next=/tasks"
    form = client.get("/login").text
    assert 'name="username"' in form and 'name="password"' in form and 'type="password"' in form
    wrong = log_in(client, "alice", "not the password")
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    assert sessions.SESSION_COOKIE not in client.cookies
    unknown = log_in(client, "nobody")
    assert unknown.status_code == 401 and "Wrong name or password" in unknown.text

    answer = log_in(client, "alice")
    assert answer.status_code == 303 and answer.headers["location"] == "/tasks"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(sessions.SESSION_COOKIE + "="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "max-age", "path"} <= flags and "secure" not in flags
    assert "samesite=lax" in cookie.lower() and f"max-age={sessions.SESSION_HOURS * 3600}" in cookie.lower()
    page = client.get("/tasks")
    assert page.status_code == 200 and "alice" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/api/whoami").json() == {"user": "alice", "role": "artist"}


def test_over_https_the_cookie_is_secure(browser: Callable[..., TestClient]) -> None:
    client = browser("alice", base_url="https://farm.example")
    assert client.get("/api/whoami").status_code == 200
    client2 = TestClient(client.app, base_url="https://farm.example")
    answer = log_in(client2, "alice")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(sessions.SESSION_COOKIE + "="))
    assert "secure" in cookie.lower()


def test_a_login_post_without_the_forms_token_is_refused(service: Any, add_user: Callable[..., None]) -> None:
    add_user("alice")
    client = TestClient(service)
    client.get("/login")
    for csrf in ("", "forged"):
        answer = client.post("/login", data={"username": "alice", "password": "correct horse battery", "csrf": csrf},
                             follow_redirects=False)
        assert answer.status_code == 403, answer.text
        assert sessions.SESSION_COOKIE not in client.cookies
    fresh = TestClient(service)  # a page of another site posting straight to the form: no login cookie at all
    answer = fresh.post("/login", data={"username": "alice", "password": "correct horse battery", "csrf": "x"},
                        follow_redirects=False)
    assert answer.status_code == 403


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "tasks"])
def test_a_login_goes_on_only_to_this_servers_pages(service: Any, add_user: Callable[..., None], target: str) -> None:
    add_user("alice")
    client = TestClient(service)
    form = client.get("/login", params={"next": target}).text
    answer = client.post("/login", data={"username": "alice", "password": "correct horse battery",
                                         "csrf": csrf_of(form), "next": target}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/tasks"


def test_a_login_goes_back_to_the_page_asked_for(service: Any, add_user: Callable[..., None],
                                                 submit_task: Callable[..., int]) -> None:
    add_user("alice")
    task_id = submit_task("alice")
    client = TestClient(service)
    to_login = client.get(f"/tasks/{task_id}", follow_redirects=False).headers["location"]
    assert to_login == f"/login?next=/tasks/{task_id}"
    form = client.get(to_login).text
    answer = client.post("/login", data={"username": "alice", "password": "correct horse battery",
                                         "csrf": csrf_of(form), "next": f"/tasks/{task_id}"}, follow_redirects=False)
    assert answer.headers["location"] == f"/tasks/{task_id}"


def test_every_unsafe_request_of_a_session_needs_its_csrf_token(browser: Callable[..., TestClient],
                                                                submit_task: Callable[..., int]) -> None:
    alice = browser("alice")
    task_id = submit_task("alice")
    page = alice.get(f"/tasks/{task_id}").text
    csrf = csrf_of(page)
    for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
        assert alice.post(f"/tasks/{task_id}/cancel", data=data).status_code == 403
    assert alice.post(f"/api/tasks/{task_id}/cancel").status_code == 403
    assert alice.post(f"/api/tasks/{task_id}/cancel", headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert Task.get_by_id(task_id).status == "queued"
    # another session's token does not do either
    other = browser("alice2")
    other_csrf = csrf_of(other.get("/tasks").text)
    assert other_csrf != csrf
    assert alice.post(f"/api/tasks/{task_id}/pause", headers={"X-CSRF-Token": other_csrf}).status_code == 403
    assert Task.get_by_id(task_id).status == "queued"

    answer = alice.post(f"/api/tasks/{task_id}/pause", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200 and answer.json()["status"] == "paused"
    answer = alice.post(f"/tasks/{task_id}/resume", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/tasks/{task_id}"
    assert Task.get_by_id(task_id).status == "queued"


def test_a_bearer_token_call_needs_no_csrf_token(service: Any, browser: Callable[..., TestClient],
                                                 submit_task: Callable[..., int]) -> None:
    from rfarm.state.users import Caller, Role

    browser("alice")
    token = service.state.farm.new_token(Caller("alice", Role.ARTIST), "alice").token
    task_id = submit_task("alice")
    api = TestClient(service, headers={"Authorization": f"Bearer {token}"})
    assert api.post(f"/api/tasks/{task_id}/pause").json()["status"] == "paused"


def test_logging_out_revokes_the_sessions_token(browser: Callable[..., TestClient]) -> None:
    alice = browser("alice")
    kept = alice.cookies[sessions.SESSION_COOKIE]
    csrf = csrf_of(alice.get("/tasks").text)
    assert alice.post("/logout", data={}).status_code == 403  # logging out is a form like any other
    answer = alice.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert sessions.SESSION_COOKIE not in alice.cookies
    replay = TestClient(alice.app, cookies={sessions.SESSION_COOKIE: kept})
    assert replay.get("/tasks", follow_redirects=False).headers["location"].startswith("/login")
    answer = replay.get("/api/whoami")
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_removing_the_user_ends_their_session_at_once(service: Any, browser: Callable[..., TestClient]) -> None:
    from rfarm.state.users import Caller, Role

    alice = browser("alice")
    assert alice.get("/tasks").status_code == 200
    service.state.farm.remove_user(Caller("root", Role.ADMIN), "alice")
    assert alice.get("/tasks", follow_redirects=False).status_code == 303
    assert alice.get("/api/whoami").status_code == 401


def test_a_session_expires_after_its_hours(browser: Callable[..., TestClient], config: Any) -> None:
    alice = browser("alice")
    token = alice.cookies[sessions.SESSION_COOKIE]
    now = datetime.now(timezone.utc)
    assert sessions.check_session(config, token, now=now).user == "alice"
    later = now + timedelta(hours=sessions.SESSION_HOURS, minutes=1)
    with pytest.raises(NotAuthenticatedError, match="session has expired"):
        sessions.check_session(config, token, now=later)


def test_a_forged_session_cookie_is_sent_to_the_login_form(service: Any) -> None:
    client = TestClient(service, cookies={sessions.SESSION_COOKIE: "eyJhbGciOiJIUzI1NiJ9.e30.sig"})
    assert client.get("/tasks", follow_redirects=False).headers["location"] == "/login?next=/tasks"
    assert client.get("/api/tasks").status_code == 401
