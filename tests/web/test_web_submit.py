"""The submit page's server side: staged uploads are hashed here, and the form records a task with a manifest."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from webtools import csrf_of

from rfarm.state.models import Task

SCENE = b"not really a blend, but a stored file all the same" * 100


def stage(client: TestClient, data: bytes, md5: str | None = None) -> object:
    csrf = csrf_of(client.get("/submit").text)
    return client.post("/api/dashboard/upload", params={"md5": md5 or hashlib.md5(data).hexdigest(), "size": len(data)},
                       content=data, headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"})


def test_a_staged_upload_is_hashed_here_and_stored(browser: Callable[..., TestClient]) -> None:
    alice = browser("alice")
    answer = stage(alice, SCENE)
    assert answer.status_code == 200, answer.text
    assert answer.json()["md5"] == hashlib.md5(SCENE).hexdigest() and answer.json()["size"] == len(SCENE)
    csrf = csrf_of(alice.get("/submit").text)
    held = alice.post("/api/files/check_hashes", json={"hashes": [hashlib.md5(SCENE).hexdigest()]},
                      headers={"X-CSRF-Token": csrf})
    assert held.json()["exists"] == [hashlib.md5(SCENE).hexdigest()]


def test_a_staged_upload_that_is_not_the_hashed_file_is_refused(browser: Callable[..., TestClient]) -> None:
    alice = browser("alice")
    answer = stage(alice, SCENE, md5="0" * 32)
    assert answer.status_code == 422 and "not the one the page hashed" in answer.json()["detail"]
    assert alice.post("/api/dashboard/upload", params={"md5": "0" * 32, "size": 1}, content=b"x").status_code == 403


def test_a_viewer_cannot_stage_or_submit(service: object, browser: Callable[..., TestClient]) -> None:
    vic = browser("vic", "viewer")
    assert stage(vic, SCENE).status_code == 403
    assert 'href="/submit"' not in vic.get("/tasks").text
    answer = vic.post("/submit", data={"csrf": csrf_of(vic.get("/submit").text), "md5": "0" * 32, "name": "a.zip",
                                       "frames": "1"})
    assert answer.status_code == 403


def test_the_form_records_a_zip_project_with_its_manifest(browser: Callable[..., TestClient], farm: object,
                                                            tmp_path: Path) -> None:
    alice = browser("alice")
    assert stage(alice, SCENE).status_code == 200
    csrf = csrf_of(alice.get("/submit").text)
    form = {"csrf": csrf, "md5": hashlib.md5(SCENE).hexdigest(), "name": "C:\\proj\\shot.zip", "frames": "1-10x2",
            "test_frames": "5", "priority": "high", "after_test": "hold", "tags": "fx, gpu", "ram": "8"}
    missing = alice.post("/submit", data={**form, "scene_in_zip": ""})
    assert missing.status_code == 400 and "name the scene inside the .zip" in missing.text
    page = alice.post("/submit", data={**form, "scene_in_zip": "shots/a.blend"}, follow_redirects=False)
    assert page.status_code == 303, page.text
    task = Task.get_by_id(int(page.headers["location"].rsplit("/", 1)[1]))
    assert (task.name, task.renderer, task.frames_spec, task.user.name) == ("shot.zip", "blender", "1-10x2", "alice")
    assert alice.get(page.headers["location"]).text.count("data-frame=") == 5
    bad = alice.post("/submit", data={**form, "scene_in_zip": "a.blend", "test_frames": "4"})
    assert bad.status_code == 400 and "test frame 4 is not in the frame range" in bad.text


def test_a_scene_not_stored_or_of_another_kind_is_refused(browser: Callable[..., TestClient]) -> None:
    alice = browser("alice")
    csrf = csrf_of(alice.get("/submit").text)
    answer = alice.post("/submit", data={"csrf": csrf, "md5": "a" * 32, "name": "shot.blend", "frames": "1"})
    assert answer.status_code == 404 and "not in your store" in answer.text
    assert stage(alice, SCENE).status_code == 200
    answer = alice.post("/submit", data={"csrf": csrf, "md5": hashlib.md5(SCENE).hexdigest(), "name": "notes.txt",
                                         "frames": "1"})
    assert answer.status_code == 400 and "choose a scene" in answer.text
