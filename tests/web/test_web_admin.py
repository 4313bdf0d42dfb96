"""The stats, files, users and audit pages: what each role sees, drawn from the seam."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from webtools import csrf_of


def test_the_stats_page_draws_its_charts_on_the_server(browser: Callable[..., TestClient],
                                                       submit_task: Callable[..., int]) -> None:
    from rfarm.state import scheduler

    vic = browser("vic", "viewer")
    task_id = submit_task("vic", range(1, 5))
    claim = scheduler.claim("n1", lease_s=60)
    assert claim is not None and claim.task_id == task_id
    scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=["/out/1.png"])
    page = vic.get("/stats")
    assert page.status_code == 200
    assert 'data-queued="default">3<' in page.text and 'data-stat="done">1<' in page.text
    assert page.text.count('<svg viewBox=') >= 5 and "<script" not in page.text.split("<main")[1]
    queued = re.search(r'<polyline points="([^"]+)"[^>]*data-series="default"', page.text)
    assert queued, "a line of the default priority's queue"
    assert page.text.count("<figure") == 5 and 'data-bar="n1"' in page.text  # n1's mean frame time
    assert vic.get("/stats", params={"window": "1y"}).status_code == 422


def test_the_files_page_shows_the_users_stored_files_and_what_dedup_saved(
    service: Any, browser: Callable[..., TestClient], tmp_path: Any,
) -> None:
    from rfarm.files.hashing import hash_file
    from rfarm.state.users import Caller, Role

    alice = browser("alice")
    bob = browser("bob")
    scene = tmp_path / "shot.blend"
    scene.write_bytes(b"x" * 5000)
    farm = service.state.farm
    farm.upload_file(Caller("alice", Role.ARTIST), scene, hash_file(scene))
    page = alice.get("/files").text
    assert re.search(r'<tr data-md5="[0-9a-f]{32}" data-uses="0">', page)
    assert '<dd id="stored">5.0 KB</dd>' in page and 'data-bytes="0"' in page
    assert "data-md5=" not in bob.get("/files").text, "each user sees their own store"


def test_users_and_tokens_are_for_admins_and_a_user_sees_their_own_tokens(
    browser: Callable[..., TestClient],
) -> None:
    root = browser("root", "admin")
    alice = browser("alice")
    page = root.get("/users").text
    assert 'data-user="alice"' in page and 'id="add-user"' in page
    made = root.post("/users", data={"csrf": csrf_of(page), "name": "carol", "role": "viewer"})
    assert made.status_code == 200 and 'id="new-token"' in made.text and 'data-user="carol" data-role="viewer"' in made.text
    own = alice.get("/users").text
    assert "data-user=" not in own and 'id="add-user"' not in own and own.count("data-token=") == 2  # her first token and this session's
    csrf = csrf_of(own)
    assert alice.post("/users", data={"csrf": csrf, "name": "mallory", "role": "admin"}).status_code == 403
    assert alice.post("/users/root/role", data={"csrf": csrf, "role": "viewer"}).status_code == 403
    carols = re.search(r'data-token="([^"]+)" data-revoked="false">\s*<td><code>[^<]+</code></td><td>carol<', made.text)
    assert carols
    assert alice.post(f"/tokens/{carols.group(1)}/revoke", data={"csrf": csrf}).status_code == 404
    assert root.post(f"/tokens/{carols.group(1)}/revoke", data={"csrf": csrf_of(page)}).status_code == 200
    assert f'data-token="{carols.group(1)}" data-revoked="true"' in root.get("/users").text


def test_the_audit_trail_is_for_managers(browser: Callable[..., TestClient], submit_task: Callable[..., int]) -> None:
    alice = browser("alice")
    task_id = submit_task("alice")
    alice.post(f"/tasks/{task_id}/cancel", data={"csrf": csrf_of(alice.get("/tasks").text)})
    assert alice.get("/audit").status_code == 403
    assert 'href="/audit"' not in alice.get("/tasks").text
    mia = browser("mia", "manager")
    page = mia.get("/audit").text
    assert re.search(r'<tr data-action="cancelled" data-actor="alice">', page), page
    assert f'href="/tasks/{task_id}"' in page
