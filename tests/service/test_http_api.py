"""The REST API in this process (FastAPI's test client): tokens, isolation, problems, uploads, pages, limits."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rfarm.errors import NotAllowedError, NotAuthenticatedError, NotFoundError
from rfarm.files.hashing import hash_file
from rfarm.files.upload import upload_files
from rfarm.state.users import Caller, Role
from rfarm.submit.scene import analyse_for_farm
from rfarm.submit.submission import build_request, submit

ANY = Caller("")  # through HTTP the token says who calls; this only carries --all
ALL = Caller("", all_users=True)
SCENE = ('//Maya ASCII 2024 scene\nrequires maya "2024";\nfile -rdi 1 -ns "p" -rfn "pRN" "tex/prop.ma";\n'
         'createNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n')


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tex").mkdir(parents=True)
    (root / "shot.ma").write_text(SCENE, encoding="utf-8")
    (root / "tex" / "prop.ma").write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\n', encoding="utf-8")
    return root


def submit_shot(api: Any, project: Path, frames: str = "1-4", test_frames: tuple[str, ...] = ("2",)) -> int:
    scene = str(project / "shot.ma")
    analysis = analyse_for_farm(scene)
    request = build_request(scene, frames=frames, test_frames=test_frames, analysis=analysis)
    return submit(api, ANY, request, files="upload", analysis=analysis).task_id


def client(service: Any, token: str | None = None) -> TestClient:
    return TestClient(service, headers={"Authorization": f"Bearer {token}"} if token else {})


def assert_problem(response: Any, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    doc = response.json()
    assert doc["status"] == status and doc["error"] == error, doc
    assert "\n" not in doc["detail"] and doc["detail"]
    return str(doc["detail"])


def test_health_needs_no_token_and_everything_else_does(service: Any) -> None:
    anonymous = client(service)
    assert anonymous.get("/api/health").json()["status"] == "ok"
    for method, path in (("GET", "/api/tasks"), ("GET", "/api/tasks/1/status"), ("POST", "/api/tasks/1/cancel"),
                         ("POST", "/api/files/check_hashes"), ("GET", "/api/nodes"), ("GET", "/api/whoami")):
        response = anonymous.request(method, path)
        assert "rfarm login" in assert_problem(response, 401, "NotAuthenticatedError")
        assert response.headers["www-authenticate"] == "Bearer"
    for header in ("Bearer not-a-token", "Basic YWxpY2U6eA==", "Bearer "):
        response = TestClient(service, headers={"Authorization": header}).get("/api/tasks")
        assert_problem(response, 401, "NotAuthenticatedError")


def test_the_token_decides_who_calls(service: Any, token_for: Callable[..., str]) -> None:
    token = token_for("alice", "artist")
    assert client(service, token).get("/api/whoami").json() == {"user": "alice", "role": "artist"}
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert_problem(client(service, tampered).get("/api/whoami"), 401, "NotAuthenticatedError")


def test_status_is_the_cli_document(service: Any, http_farm: Callable[..., Any], project: Path, farm: Any,
                                    config: Any) -> None:
    from rfarm.api import LocalFarm

    alice = http_farm("alice")
    task_id = submit_shot(alice, project)
    doc = alice.transport.request("GET", f"/api/tasks/{task_id}/status").json()
    local = LocalFarm(config).task(Caller("alice"), task_id).to_dict()
    assert doc == json.loads(json.dumps(local))
    assert sorted(f["frame"] for f in doc["frames"]) == [1, 2, 3, 4] and doc["status"] == "queued"
    assert [f["frame"] for f in doc["frames"] if f["is_test"]] == [2]


def test_another_users_task_is_unknown_and_their_hashes_unseen(http_farm: Callable[..., Any], project: Path) -> None:
    alice, bob = http_farm("alice"), http_farm("bob")
    task_id = submit_shot(alice, project)
    unknown = {}
    for name, call in (
        ("status", lambda api, t: api.task(ANY, t)), ("cancel", lambda api, t: api.cancel(ANY, t)),
        ("logs", lambda api, t: api.frame_logs(ANY, t)), ("results", lambda api, t: api.results(ANY, t)),
        ("cleanup", lambda api, t: api.cleanup(ANY, t)),
    ):
        with pytest.raises(NotFoundError) as theirs:
            call(bob, task_id)
        with pytest.raises(NotFoundError) as missing:
            call(bob, 999_999)
        unknown[name] = (str(theirs.value).replace(str(task_id), "N"), str(missing.value).replace("999999", "N"))
        assert unknown[name][0] == unknown[name][1], name
    assert bob.tasks(ANY) == [] and [t.task_id for t in alice.tasks(ANY)] == [task_id]
    with pytest.raises(NotAllowedError):
        bob.tasks(ALL)  # --all is for managers
    assert alice.task(ANY, task_id).status == "queued", "bob's attempts changed nothing"
    scene = hash_file(project / "shot.ma")
    assert bob.check_hashes(ANY, [scene]) == {"to_upload": [scene], "exists": []}
    assert bob.held_md5s(ANY, [scene.md5]) == []
    assert alice.held_md5s(ANY, [scene.md5]) == [scene.md5]


def test_roles(http_farm: Callable[..., Any], project: Path) -> None:
    alice, viewer, boss = http_farm("alice"), http_farm("vic", "viewer"), http_farm("boss", "manager")
    task_id = submit_shot(alice, project)
    with pytest.raises(NotAllowedError):
        submit_shot(viewer, project)
    with pytest.raises(NotAllowedError):
        alice.add_hardware_config(ANY, "big", ram_gb=64)
    assert boss.add_hardware_config(ANY, "big", ram_gb=64).ram_gb == 64
    assert [c.name for c in alice.hardware_configs(ANY)] == ["big"]
    assert [t.task_id for t in boss.tasks(ALL)] == [task_id]
    assert boss.cancel(ALL, task_id).frames_cancelled == 4
    assert alice.task(ANY, task_id).status == "cancelled"


def test_problems_for_bad_input_never_a_500(service: Any, token_for: Callable[..., str]) -> None:
    api = client(service, token_for("alice"))
    cases = [
        ("GET", "/api/tasks/99999999999999999999999/status", None, 404, "NotFoundError"),
        ("GET", "/api/tasks/abc/status", None, 404, "NotFoundError"),
        ("GET", "/api/tasks?limit=0", None, 422, "UsageError"),
        ("GET", "/api/stats?hours=nan", None, 422, "UsageError"),
        ("GET", "/api/stats?hours=1e300", None, 422, "UsageError"),
        ("GET", "/api/tasks/1/logs?frame=99999999999999999999", None, 422, "UsageError"),
        ("POST", "/api/tasks/", {"request": {"scene": "x"}}, 400, "UsageError"),
        ("POST", "/api/tasks/", {"request": {"scene": "x", "renderer": "maya", "frames": [1, 2**70]}}, 400, "UsageError"),
        ("POST", "/api/tasks/", {"request": {"scene": "x", "renderer": "maya", "frames": []}}, 400, "UsageError"),
        ("POST", "/api/tasks/", {"request": {"scene": "x", "renderer": "maya", "frames": [1], "ram_gb": "lots"}},
         400, "UsageError"),
        ("POST", "/api/tasks/", {"request": {"scene": "x", "renderer": "maya", "frames": [1]},
                                 "manifest": {"version": 99}}, 422, "IntegrityError"),
        ("POST", "/api/files/check_hashes", {"hashes": ["not-a-hash"]}, 422, "UsageError"),
        ("POST", "/api/files/check_hashes", {"hashes": "x"}, 422, "UsageError"),
        ("PUT", "/api/hwconfigs/big", {"ram_gb": -1}, 422, "UsageError"),
        ("GET", "/api/no/such/route", None, 404, "NotFoundError"),
    ]
    for method, path, body, status, error in cases:
        assert_problem(api.request(method, path, json=body), status, error)
    malformed = api.post("/api/tasks/", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(malformed, 422, "UsageError")


def test_uploads_are_checked_against_both_hashes(service: Any, http_farm: Callable[..., Any], tmp_path: Path,
                                                 token_for: Callable[..., str]) -> None:
    alice = http_farm("alice")
    data = tmp_path / "tex.png"
    data.write_bytes(b"\x89PNG" + bytes(range(256)) * 400)
    good = hash_file(data)
    api = client(service, token_for("carol"))
    wrong = api.post("/api/files/upload", params={"md5": good.md5, "xxh64": "12345", "size": good.size},
                     content=data.read_bytes())
    assert "nothing was stored" in assert_problem(wrong, 422, "IntegrityError")
    short = api.post("/api/files/upload", params={"md5": good.md5, "xxh64": good.xxh64, "size": good.size},
                     content=data.read_bytes()[:-10])
    assert_problem(short, 422, "IntegrityError")
    longer = api.post("/api/files/upload", params={"md5": good.md5, "xxh64": good.xxh64, "size": 10},
                      content=data.read_bytes())
    assert_problem(longer, 400, "UsageError")
    assert api.post("/api/files/check_hashes", json={"hashes": [good.md5]}).json()["to_upload"] == [good.md5]
    # the real client sends it once, then never again
    assert upload_files(alice, ANY, [data]).uploaded == 1
    assert upload_files(alice, ANY, [data]).uploaded == 0
    assert not any((service.state.farm.config.home_dir / "uploads").iterdir()), "no spooled body is left behind"


def test_check_hashes_takes_the_original_shape(service: Any, http_farm: Callable[..., Any], tmp_path: Path,
                                               token_for: Callable[..., str]) -> None:
    token = token_for("alice")
    alice = http_farm("alice", token=token)
    data = tmp_path / "a.bin"
    data.write_bytes(b"a" * 3000)
    upload_files(alice, ANY, [data])
    md5 = hash_file(data).md5
    other = "0" * 32
    answer = client(service, token).post("/api/files/check_hashes", json={"hashes": [other, md5.upper(), md5]})
    assert answer.json() == {"to_upload": [other], "exists": [md5]}


def test_task_lists_page_by_cursor(http_farm: Callable[..., Any], project: Path) -> None:
    alice = http_farm("alice")
    ids = [submit_shot(alice, project, frames="1", test_frames=()) for _ in range(5)]
    first = alice.transport.request("GET", "/api/tasks", params={"limit": 2}).json()
    assert [t["task_id"] for t in first["tasks"]] == ids[::-1][:2] and "frames" not in first["tasks"][0]
    second = alice.transport.request("GET", "/api/tasks", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [t["task_id"] for t in second["tasks"]] == ids[::-1][2:4]
    assert [t.task_id for t in alice.tasks(ANY, limit=4)] == ids[::-1][:4]  # the client follows the pages
    assert [t.task_id for t in alice.tasks(ANY)] == ids[::-1]


def test_the_rate_limit_answers_429_and_the_client_waits(farm: Any, config: Any, token_for: Callable[..., str]) -> None:
    from dataclasses import replace

    from rfarm.client.http import HttpFarm
    from rfarm.service.app import create_app

    import time

    from rfarm.service.auth import RateLimiter

    app = create_app(replace(config, api_rate_limit=60))  # one request a second, in bursts of 60
    frozen = [time.monotonic()]  # the bucket's clock stands still while the burst is counted, however slow the machine
    app.state.limiter = RateLimiter(60, clock=lambda: frozen[0] if frozen else time.monotonic())
    token = token_for("alice")
    raw = client(app, token)
    answers = [raw.get("/api/whoami").status_code for _ in range(61)]
    assert answers[:60] == [200] * 60 and answers[60] == 429
    limited = raw.get("/api/whoami")
    assert_problem(limited, 429, "RateLimited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    assert client(app, token_for("bob")).get("/api/whoami").status_code == 200, "the limit is per token"
    frozen.clear()  # time runs again: the client waits for Retry-After
    api = HttpFarm("http://testserver", token, http=TestClient(app))
    assert api.whoami()["user"] == "alice", "the client waited for Retry-After and asked again"


def test_a_removed_users_token_stops_at_once(service: Any, config: Any, token_for: Callable[..., str]) -> None:
    from rfarm.api import LocalFarm
    from rfarm.state.users import Role

    token = token_for("alice")
    assert client(service, token).get("/api/tasks").status_code == 200
    LocalFarm(config).remove_user(Caller("root", Role.ADMIN), "alice")
    assert_problem(client(service, token).get("/api/tasks"), 401, "NotAuthenticatedError")


def test_the_openapi_document_names_the_original_paths(service: Any) -> None:
    doc = client(service).get("/api/openapi.json").json()
    for path in ("/api/tasks/", "/api/tasks/{task_id}/status", "/api/tasks/{task_id}/cancel",
                 "/api/tasks/{task_id}/cleanup", "/api/files/check_hashes", "/api/files/upload"):
        assert path in doc["paths"], path
    assert client(service).get("/api/docs").status_code == 200


def test_client_errors_are_the_librarys(http_farm: Callable[..., Any]) -> None:
    from rfarm.client.http import HttpFarm
    from rfarm.errors import ServiceError

    with pytest.raises(NotAuthenticatedError):
        http_farm("x", token="nope").tasks(ANY)
    with pytest.raises(ServiceError, match="cannot reach the rfarm server"):
        HttpFarm("http://127.0.0.1:9", "t").tasks(ANY)


def test_users_and_tokens_through_the_server(service: Any, http_farm: Callable[..., Any]) -> None:
    admin, alice = http_farm("wrangler", "admin"), http_farm("alice")
    made = admin.add_user(ANY, "carol", "artist", "s3cret pass")
    assert (made.name, made.role) == ("carol", "artist") and made.token
    assert {u.name: u.role for u in admin.users(ANY)}["carol"] == "artist"
    with pytest.raises(NotAllowedError):
        alice.add_user(ANY, "mallory", "admin")
    with pytest.raises(NotAllowedError):
        alice.users(ANY)
    carol = http_farm("carol", token=made.token)
    assert carol.whoami() == {"user": "carol", "role": "artist"}
    assert admin.set_role(ANY, "carol", "manager").role == "manager"
    assert carol.whoami()["role"] == "manager", "a role change holds at once"
    # a password gives a token (the dashboard's login); a wrong one is a 401 like an unknown name
    issued = alice.login("carol", "s3cret pass")
    assert issued.user == "carol" and http_farm("carol", token=issued.token).whoami()["user"] == "carol"
    for name, password in (("carol", "wrong"), ("nobody", "s3cret pass")):
        with pytest.raises(NotAuthenticatedError, match="wrong name or password"):
            alice.login(name, password)
    # revoking through the API stops that token at once, and only that one
    kept = {t.id for t in carol.tokens(ANY, "carol")}
    assert len(kept) == 2
    carol.revoke_token(ANY, issued.token_id)
    with pytest.raises(NotAuthenticatedError):
        http_farm("carol", token=issued.token).whoami()
    assert carol.whoami()["user"] == "carol"
    admin.remove_user(ANY, "carol")
    with pytest.raises(NotAuthenticatedError):
        carol.whoami()


def test_the_first_admin_cannot_be_made_through_the_server(farm: Any, config: Any, service: Any,
                                                          http_farm: Callable[..., Any]) -> None:
    from rfarm.api import LocalFarm
    from rfarm.state.tokens import issue_token
    from rfarm.state.users import get_user

    LocalFarm(config)._open()
    get_user("olduser")  # an artist from before users had roles, with a token
    olduser = http_farm("olduser", token=issue_token(config, "olduser").token)
    with pytest.raises(NotAllowedError, match="admin"):
        olduser.add_user(ANY, "me-admin", "admin")


def test_scenes_are_analysed_by_hash_once_or_by_path(service: Any, token_for: Callable[..., str], project: Path,
                                                     http_farm: Callable[..., Any]) -> None:
    from rfarm.storage.keys import analysis_key

    token = token_for("alice")
    alice = http_farm("alice", token=token)
    scene = project / "shot.ma"
    upload_files(alice, ANY, [scene])
    md5 = hash_file(scene).md5
    api = client(service, token)
    by_hash = api.post("/api/scene/analyse", json={"hash": md5, "name": "shot.ma"})
    assert by_hash.status_code == 200, by_hash.text
    doc = by_hash.json()
    assert doc["scene_info"] and [d["path"] for d in doc["dependencies"]] == ["tex/prop.ma"]
    storage = service.state.farm.storage
    unionid = next(u.unionid for u in service.state.farm.users(Caller("root", Role.ADMIN)) if u.name == "alice")
    cached = analysis_key(unionid, md5, hash_file(scene).xxh64)
    assert storage.exists(cached)
    storage.put_bytes(cached, json.dumps({**doc, "marker": "from the cache"}).encode())
    assert api.post("/api/scene/analyse", json={"hash": md5, "name": "shot.ma"}).json()["marker"] == "from the cache"
    by_path = api.post("/api/scene/analyse", json={"path": str(scene)}).json()
    assert [d["exists"] for d in by_path["dependencies"]] == [True], "beside its files, the dependency is found"
    bob = client(service, token_for("bob"))
    assert_problem(bob.post("/api/scene/analyse", json={"hash": md5, "name": "shot.ma"}), 404, "NotFoundError")
    assert_problem(api.post("/api/scene/analyse", json={}), 400, "UsageError")
    assert_problem(api.post("/api/scene/analyse", json={"path": str(project / "nope.ma")}), 404, "NotFoundError")
    junk = project / "junk.ma"
    junk.write_bytes(b"\x00garbage")
    assert_problem(api.post("/api/scene/analyse", json={"path": str(junk)}), 422, "AnalysisError")
