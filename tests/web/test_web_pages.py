"""The dashboard's pages in this process: what each role sees and may do, frames, lists, nodes, logs."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webtools import csrf_of

from rfarm.state.models import Node, Task


def render_one(task_id: int) -> int:
    """Claim the task's next frame as node n1 and finish it; its number."""
    from rfarm.state import scheduler

    claim = scheduler.claim("n1", lease_s=60)
    assert claim is not None and claim.task_id == task_id
    frame = claim.frames[0]
    scheduler.finish_frame(frame.id, claim.token, outputs=[f"/out/{frame.number}.png"])
    return frame.number


def frames_of(page: str) -> dict[int, str]:
    return {int(n): s for n, s in re.findall(r'data-frame="(\d+)" data-status="(\w+)"', page)}


def controls_of(page: str) -> dict[str, bool]:
    """The task page's control forms: action → shown."""
    return {m.group(1): m.group(2) is None
            for m in re.finditer(r'<form method="post" action="/tasks/\d+/\w+" data-action="(\w+)"[^>]*?( hidden)?>', page)}


def test_the_task_page_shows_every_frame_with_its_state(browser: Callable[..., TestClient],
                                                        submit_task: Callable[..., int]) -> None:
    alice = browser("alice")
    task_id = submit_task("alice", range(1, 5), test_frames=(2,))
    assert render_one(task_id) == 2
    page = alice.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert frames_of(page.text) == {2: "done", 1: "queued", 3: "queued", 4: "queued"}
    done = re.search(r'<li class="frame s-done test" data-frame="2".*?</li>', page.text, re.S)
    assert done, "the done test frame is marked as a test frame"
    assert f'<img src="/api/tasks/{task_id}/frames/2/thumbnail"' in done.group(0)
    assert '<span class="tag">test</span>' in done.group(0) and "attempt 1" in done.group(0)
    assert '<span class="node">n1</span>' in done.group(0)
    assert page.text.count("<img ") == 1, "only a done frame has a thumbnail"
    assert f'href="/tasks/{task_id}/frames/2/log"' in done.group(0)
    assert controls_of(page.text) == {"cancel": True, "pause": True, "approve": False, "resume": False, "retry": False}
    assert 'data-confirm="Cancel task' in page.text
    assert '<progress max="4" value="1"' in page.text


def test_controls_post_to_the_seam_and_come_back(browser: Callable[..., TestClient],
                                                 submit_task: Callable[..., int]) -> None:
    alice = browser("alice")
    task_id = submit_task("alice")
    csrf = csrf_of(alice.get(f"/tasks/{task_id}").text)
    page = alice.post(f"/tasks/{task_id}/pause", data={"csrf": csrf})
    assert page.status_code == 200 and Task.get_by_id(task_id).status == "paused"
    assert controls_of(page.text) == {"cancel": True, "pause": False, "approve": False, "resume": True, "retry": False}
    answer = alice.post(f"/tasks/{task_id}/pause", data={"csrf": csrf})
    assert answer.status_code == 400 and "cannot be paused" in answer.text  # the seam's refusal, as an HTML page
    assert answer.headers["content-type"].startswith("text/html")
    assert alice.post(f"/tasks/{task_id}/cancel", data={"csrf": csrf}).status_code == 200
    assert Task.get_by_id(task_id).status == "cancelled"
    page = alice.get(f"/tasks/{task_id}").text
    assert controls_of(page)["retry"] is False and controls_of(page)["cancel"] is False
    assert alice.post(f"/tasks/{task_id}/explode", data={"csrf": csrf}).status_code == 422


def test_a_viewer_sees_no_controls_and_their_posts_are_refused(service: Any, browser: Callable[..., TestClient],
                                                                submit_task: Callable[..., int]) -> None:
    from rfarm.state.users import Caller, Role

    vic = browser("vic")  # an artist who submitted, then became a viewer
    task_id = submit_task("vic")
    service.state.farm.set_role(Caller("root", Role.ADMIN), "vic", "viewer")
    page = vic.get(f"/tasks/{task_id}").text
    assert frames_of(page) and controls_of(page) == {}
    assert 'action="/tasks/' not in page
    csrf = csrf_of(page)
    for action in ("cancel", "pause", "retry"):
        answer = vic.post(f"/tasks/{task_id}/{action}", data={"csrf": csrf})
        assert answer.status_code == 403 and "needs the artist role" in answer.text
        assert vic.post(f"/api/tasks/{task_id}/{action}", headers={"X-CSRF-Token": csrf}).status_code == 403
    assert Task.get_by_id(task_id).status == "queued"


def test_another_artists_task_is_not_found(browser: Callable[..., TestClient], submit_task: Callable[..., int]) -> None:
    browser("alice")
    task_id = submit_task("alice")
    bob = browser("bob")
    page = bob.get(f"/tasks/{task_id}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "data-frame" not in page.text
    csrf = csrf_of(bob.get("/tasks").text)
    assert bob.post(f"/tasks/{task_id}/cancel", data={"csrf": csrf}).status_code == 404
    assert bob.get(f"/api/tasks/{task_id}/status").status_code == 404
    assert bob.get(f"/tasks/{task_id}/frames/1/log").status_code == 404
    assert f"/tasks/{task_id}" not in bob.get("/tasks").text
    assert bob.get("/tasks", params={"all": "true"}).text.count("data-task=") == 0, "all is for managers"
    assert Task.get_by_id(task_id).status == "queued"


def test_a_manager_sees_and_controls_every_users_tasks(browser: Callable[..., TestClient],
                                                        submit_task: Callable[..., int]) -> None:
    browser("alice")
    task_id = submit_task("alice")
    mia = browser("mia", "manager")
    assert f'data-task="{task_id}"' not in mia.get("/tasks").text
    listing = mia.get("/tasks", params={"all": "true"}).text
    assert f'data-task="{task_id}"' in listing and "<td>alice</td>" in listing
    page = mia.get(f"/tasks/{task_id}").text
    assert 'data-scope="?all=1"' in page and controls_of(page)["cancel"] is True
    assert mia.post(f"/tasks/{task_id}/cancel", data={"csrf": csrf_of(page)}).status_code == 200
    assert Task.get_by_id(task_id).status == "cancelled"


def test_the_tasks_page_filters_by_status_and_pages_on(browser: Callable[..., TestClient],
                                                       submit_task: Callable[..., int],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from rfarm.service.web import pages

    alice = browser("alice")
    ids = [submit_task("alice", range(1, 3)) for _ in range(5)]
    render_one(ids[0])
    Task.update(status="paused").where(Task.id == ids[1]).execute()
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    seen: list[int] = []
    url = "/tasks"
    while url:
        page = alice.get(url).text
        seen += [int(n) for n in re.findall(r'<tr data-task="(\d+)"', page)]
        older = re.search(r'rel="next" href="([^"]+)"', page)
        url = older.group(1).replace("&amp;", "&") if older else ""
    assert seen == sorted(ids, reverse=True)
    paused = alice.get("/tasks", params={"status": "paused"}).text
    assert re.findall(r'<tr data-task="(\d+)"', paused) == [str(ids[1])]
    first = alice.get("/tasks", params={"status": "rendering"}).text
    row = re.search(rf'<tr data-task="{ids[0]}".*?</tr>', first, re.S)
    assert row and '<progress max="2" value="1"' in row.group(0)
    assert '<li class="s-done">1 done</li>' in row.group(0) and '<li class="s-queued">1 queued</li>' in row.group(0)
    assert alice.get("/tasks", params={"status": "nonsense"}).status_code == 400


def test_nodes_are_switched_by_managers_only(browser: Callable[..., TestClient]) -> None:
    from rfarm.node.hardware import Hardware
    from rfarm.state.nodes import register_node

    register_node("n1", Hardware("host1", "Linux", "6", 8, 32), tags=["fx"], renderers={"blender": "5.0"})
    alice = browser("alice")
    page = alice.get("/nodes").text
    assert 'data-node="n1"' in page and "blender 5.0" in page and "fx" in page
    assert 'action="/nodes/' not in page
    assert alice.post("/nodes/n1/disable", data={"csrf": csrf_of(page)}).status_code == 403
    mia = browser("mia", "manager")
    page = mia.get("/nodes").text
    assert 'action="/nodes/n1/disable"' in page
    page = mia.post("/nodes/n1/disable", data={"csrf": csrf_of(page)}).text
    assert Node.get(Node.name == "n1").is_enabled is False
    assert 'action="/nodes/n1/enable"' in page and 'data-enabled="false"' in page


def test_the_log_page_shows_a_frames_latest_log(browser: Callable[..., TestClient], submit_task: Callable[..., int],
                                                tmp_path: Any) -> None:
    from rfarm.state import scheduler

    alice = browser("alice")
    task_id = submit_task("alice", range(1, 2))
    assert "has not started" in alice.get(f"/tasks/{task_id}/frames/1/log").text
    assert alice.get(f"/tasks/{task_id}/frames/7/log").status_code == 404
    claim = scheduler.claim("n1", lease_s=60)
    assert claim is not None
    log = tmp_path / "frame1.log"
    log.write_text("Fra:1 Sample 1/1 <b>bold</b>\n", encoding="utf-8")
    scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=[], log_path=str(log))
    page = alice.get(f"/tasks/{task_id}/frames/1/log").text
    assert "Fra:1 Sample 1/1 &lt;b&gt;bold&lt;/b&gt;" in page, "the log is shown as text, escaped"


def test_a_thousand_frames_render_on_one_page(browser: Callable[..., TestClient], submit_task: Callable[..., int]) -> None:
    alice = browser("alice")
    task_id = submit_task("alice", range(1, 1001))
    page = alice.get(f"/tasks/{task_id}").text
    assert len(frames_of(page)) == 1000


def test_the_static_files_come_from_the_package(service: Any) -> None:
    client = TestClient(service)
    for name, kind in (("dashboard.css", "text/css"), ("task.js", "javascript"), ("dashboard.js", "javascript")):
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200 and kind in answer.headers["content-type"]
    assert "EventSource" in client.get("/static/task.js").text


def held_task(user: str) -> int:
    """A task of ``user`` held after its test frame 1, which node n1 rendered."""
    from rfarm.state import scheduler
    from rfarm.submit.request import SubmitRequest

    request = SubmitRequest(scene="/proj/shot.blend", renderer="blender", frames=[1, 2, 3], test_frames=[1],
                            hold_after_test=True)
    task_id = scheduler.submit(request, user=user)
    assert render_one(task_id) == 1
    assert Task.get_by_id(task_id).status == "held"
    return task_id


def test_a_held_task_is_approved_from_its_page(browser: Callable[..., TestClient]) -> None:
    alice = browser("alice")
    task_id = held_task("alice")
    page = alice.get(f"/tasks/{task_id}").text
    assert controls_of(page) == {"cancel": True, "pause": True, "approve": True, "resume": False, "retry": False}
    assert f'data-confirm="Approve the test frames of task {task_id}' in page
    page = alice.post(f"/tasks/{task_id}/approve", data={"csrf": csrf_of(page)})
    assert page.status_code == 200 and Task.get_by_id(task_id).status == "rendering"  # its test frame is done
    assert controls_of(page.text)["approve"] is False
    answer = alice.post(f"/tasks/{task_id}/approve", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 400 and "not held after its test frames" in answer.text
    assert alice.post(f"/tasks/{task_id}/pause", data={"csrf": csrf_of(page.text)}).status_code == 200
    answer = alice.post(f"/tasks/{task_id}/approve", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 400 and Task.get_by_id(task_id).status == "paused", "approving is not resuming"


def test_approving_needs_the_artist_role_and_the_task(service: Any, browser: Callable[..., TestClient]) -> None:
    from rfarm.state.users import Caller, Role

    vic = browser("vic")
    task_id = held_task("vic")
    service.state.farm.set_role(Caller("root", Role.ADMIN), "vic", "viewer")
    page = vic.get(f"/tasks/{task_id}").text
    assert 'data-status="held"' in page and controls_of(page) == {}
    answer = vic.post(f"/tasks/{task_id}/approve", data={"csrf": csrf_of(page)})
    assert answer.status_code == 403 and "needs the artist role" in answer.text
    bob = browser("bob")
    csrf = csrf_of(bob.get("/tasks").text)
    assert bob.post(f"/tasks/{task_id}/approve", data={"csrf": csrf}).status_code == 404
    assert vic.post(f"/tasks/{task_id}/approve", data={}).status_code == 403, "no CSRF token, no action"
    assert Task.get_by_id(task_id).status == "held"


def test_the_task_page_shows_its_settings_and_files_with_what_dedup_saved(
        browser: Callable[..., TestClient], submit_task: Callable[..., int]) -> None:
    from rfarm.state.models import Asset, TaskAsset, User

    alice = browser("alice")
    first, task_id = submit_task("alice"), submit_task("alice")
    Task.update(chunk_size=2, ram_gb=16, camera="CamA", layers=["fg", "bg"], output_dir="/renders/shot",
                options={"files": "upload"}).where(Task.id == task_id).execute()
    owner = User.get(User.name == "alice")
    scene, tex, old = (Asset.create(user=owner, hash=c * 32, xxhash=c * 16, size=n, key=f"k{c}")
                       for c, n in (("a", 2_000_000), ("b", 3000), ("c", 500)))
    TaskAsset.create(task=first, asset=old, path="tex/old.png")
    TaskAsset.create(task=task_id, asset=scene, path="shot.blend", is_scene=True)
    TaskAsset.create(task=task_id, asset=tex, path="tex/wood.png")
    TaskAsset.create(task=task_id, asset=old, path="tex/old.png")
    page = alice.get(f"/tasks/{task_id}").text
    details = re.search(r'<details id="task-details".*?</details>', page, re.S)
    assert details, "the page has a settings and files section"
    settings = dict(re.findall(r"<dt>(\w+)</dt><dd>([^<]*)</dd>", details.group(0)))
    assert settings == {"Renderer": "blender", "Priority": "default", "Frames": "", "Chunk": "2 frames",
                        "Needs": "16 GB RAM", "Camera": "CamA", "Layers": "fg, bg", "Output": "/renders/shot",
                        "Files": "upload"}
    rows = re.findall(r'<tr data-path="([^"]+)" data-reused="(\w+)">', details.group(0))
    assert rows == [("shot.blend", "false"), ("tex/old.png", "true"), ("tex/wood.png", "false")]
    assert f'<code title="MD5 {"a" * 32}, XXH64 {"a" * 16}">aaaaaaaa</code>' in details.group(0)
    assert "2.0 MB" in details.group(0) and "3 files, 2.0 MB" in details.group(0)
    assert "Dedup: 1 of 3 files (500 B) were already stored" in details.group(0)
    assert "No files were uploaded" in alice.get(f"/tasks/{submit_task('alice')}").text


def test_another_users_task_details_are_not_found(service: Any, browser: Callable[..., TestClient],
                                                  submit_task: Callable[..., int]) -> None:
    from rfarm.errors import NotFoundError
    from rfarm.state.users import Caller, Role

    browser("alice")
    task_id = submit_task("alice")
    with pytest.raises(NotFoundError):
        service.state.farm.task_details(Caller("bob", Role.ARTIST), task_id)
    assert service.state.farm.task_details(Caller("mia", Role.MANAGER, all_users=True), task_id).files == []
    bob = browser("bob")
    assert bob.get(f"/tasks/{task_id}/sheet").status_code == 404


def test_the_contact_sheet_shows_done_thumbnails_and_failed_errors(
        service: Any, browser: Callable[..., TestClient], submit_task: Callable[..., int], tmp_path: Any) -> None:
    from rfarm.files.transfer import store_results
    from rfarm.state.models import Frame

    alice = browser("alice")
    task_id = submit_task("alice", range(1, 5))
    assert render_one(task_id) == 1 and render_one(task_id) == 2
    (tmp_path / "1.png").write_bytes(b"\x89PNG frame one")
    store_results(service.state.farm.storage, task_id, 1, [tmp_path / "1.png"], base=tmp_path)
    Frame.update(status="failed", error="Blender quit\nTraceback: ...").where(
        (Frame.task == task_id) & (Frame.number == 3)).execute()
    page = alice.get(f"/tasks/{task_id}").text
    assert f'href="/tasks/{task_id}/sheet"' in page
    sheet = alice.get(f"/tasks/{task_id}/sheet")
    assert sheet.status_code == 200
    assert frames_of(sheet.text) == {1: "done", 2: "done", 3: "failed"}, "only done and failed frames are on the sheet"
    assert sheet.text.count("<img ") == 2
    one = re.search(r'data-frame="1".*?</li>', sheet.text, re.S)
    assert one and f'<img src="/api/tasks/{task_id}/frames/1/thumbnail"' in one.group(0)
    link = re.search(r'<a href="([^"]+)" title="1.png"><img', one.group(0))
    assert link, "a done frame with a stored result links to it"
    answer = alice.get(link.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200 and answer.content == b"\x89PNG frame one"
    two = re.search(r'data-frame="2".*?</li>', sheet.text, re.S)
    assert two and "<img " in two.group(0) and "<a " not in two.group(0), "no stored result, no link"
    failed = re.search(r'data-frame="3".*?</li>', sheet.text, re.S)
    assert failed and '<span class="err">Blender quit</span>' in failed.group(0) and "Traceback" not in failed.group(0)
