"""A node's render makes each frame's thumbnail; the API serves it, cached by its hash, to its owner only."""
from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from rfarm.errors import NotFoundError
from rfarm.files import thumbnails
from rfarm.node.worker import Worker
from rfarm.state import scheduler
from rfarm.state.models import Frame
from rfarm.submit.request import SubmitRequest


def url(task_id: int, frame: int) -> str:
    return f"/api/tasks/{task_id}/frames/{frame}/thumbnail"


def render(config: Any, scene: Path, user: str, frames: list[int]) -> int:
    task_id = scheduler.submit(SubmitRequest(scene=str(scene), renderer="blender", frames=frames), user=user)
    Worker(config, name="node1", burst=True).run()
    return task_id


def test_a_rendered_frame_has_a_thumbnail_served_with_its_hash(
    tmp_path: Path, make_blend: Callable[..., Path], config: Any, service: Any, token_for: Callable[..., str],
    http_farm: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob = token_for("alice"), token_for("bob")
    scene = make_blend(tmp_path / "shot.blend", samples=1, frames=3, size=48)
    real = thumbnails.make_thumbnail
    seen: list[Path] = []

    def breaks_on_frame_3(path: Path, **kwargs: Any) -> bytes:
        seen.append(path)
        if len(seen) == 3:
            raise RuntimeError("a bug in the thumbnail code")
        return real(path, **kwargs)

    monkeypatch.setattr(thumbnails, "make_thumbnail", breaks_on_frame_3)
    task_id = render(config, scene, "alice", [1, 2, 3])

    statuses = {f.number: f.status for f in Frame.select().where(Frame.task == task_id)}
    assert statuses == {1: "done", 2: "done", 3: "done"}, "a thumbnail that fails never fails its frame"
    client = TestClient(service)
    as_alice = {"Authorization": f"Bearer {alice}"}

    answer = client.get(url(task_id, 1), headers=as_alice)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(answer.content))
    assert image.format == "JPEG" and image.size == (48, 48)
    pixels = np.asarray(image).astype(float)
    assert 5 < pixels.mean() < 250 and pixels.std() > 3, "a picture of the scene, not a blank"
    etag = answer.headers["etag"]
    assert etag.startswith('"') and len(etag) == 34
    assert "no-cache" in answer.headers["cache-control"] and "private" in answer.headers["cache-control"]

    again = client.get(url(task_id, 1), headers={**as_alice, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(url(task_id, 1), headers={**as_alice, "If-None-Match": '"0123"'}).status_code == 200
    other = client.get(url(task_id, 2), headers={**as_alice, "If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag

    pinned = client.get(url(task_id, 1), params={"attempt": 1}, headers=as_alice)
    assert pinned.status_code == 200 and "immutable" in pinned.headers["cache-control"]
    assert pinned.headers["etag"] == etag
    stale = client.get(url(task_id, 1), params={"attempt": 2}, headers=as_alice)
    assert stale.status_code == 404 and "attempt 2" in stale.json()["detail"]

    broken = client.get(url(task_id, 3), headers=as_alice)
    assert broken.status_code == 404 and broken.headers["content-type"] == "application/problem+json"
    assert broken.json()["detail"] == f"frame 3 of task {task_id} has no thumbnail: none was made"

    # another user's task answers exactly as an unknown one
    as_bob = {"Authorization": f"Bearer {bob}"}
    theirs = client.get(url(task_id, 1), headers=as_bob)
    unknown = client.get(url(task_id + 100, 1), headers=as_bob)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"] == unknown.json()["error"] == "NotFoundError"
    assert theirs.json()["detail"] == unknown.json()["detail"].replace(str(task_id + 100), str(task_id))
    assert client.get(url(task_id, 1)).status_code == 401

    # the SDK gets the same bytes and hash
    data, md5 = http_farm("alice", token=alice).thumbnail(None, task_id, 1)  # type: ignore[arg-type]
    assert data == answer.content and f'"{md5}"' == etag
    with pytest.raises(NotFoundError):
        http_farm("bob", token=bob).thumbnail(None, task_id, 1)  # type: ignore[arg-type]


def test_a_failed_frame_answers_its_error_line(
    tmp_path: Path, config: Any, service: Any, token_for: Callable[..., str],
) -> None:
    token = token_for("alice")
    scene = tmp_path / "broken.blend"
    scene.write_bytes(b"this is not a blend file")
    task_id = render(config, scene, "alice", [1])
    row = Frame.get((Frame.task == task_id) & (Frame.number == 1))
    assert row.status == "failed" and row.error
    error = row.error

    answer = TestClient(service).get(url(task_id, 1), headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 404
    assert answer.json()["detail"] == f"frame 1 of task {task_id} failed: {error.strip().splitlines()[0]}"


def test_only_a_done_frame_s_thumbnail_of_its_last_render_is_served(tmp_path: Path, farm: Any, config: Any) -> None:
    from rfarm.api import LocalFarm
    from rfarm.state.users import Caller, Role

    api = LocalFarm(config)
    alice = Caller("alice", Role.ARTIST)
    task_id = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1, 2]), user="alice")
    picture = tmp_path / "f.png"
    Image.new("RGB", (40, 20), (90, 160, 30)).save(picture)
    first = thumbnails.store_thumbnail(api.storage, task_id, 1, 1, [picture])

    with pytest.raises(NotFoundError, match=rf"^frame 1 of task {task_id} is queued: it has no thumbnail until it is done$"):
        api.thumbnail(alice, task_id, 1)
    with pytest.raises(NotFoundError, match=rf"^task {task_id} has no frame 9$"):
        api.thumbnail(alice, task_id, 9)

    Frame.update(status="done", attempts=2).where(Frame.task == task_id).execute()
    with pytest.raises(NotFoundError, match=r"has no thumbnail of its last render \(attempt 2\)"):
        api.thumbnail(alice, task_id, 1)
    with pytest.raises(NotFoundError, match=rf"^frame 2 of task {task_id} has no thumbnail: none was made$"):
        api.thumbnail(alice, task_id, 2)

    Image.new("RGB", (40, 20), (200, 20, 20)).save(picture)
    second = thumbnails.store_thumbnail(api.storage, task_id, 1, 2, [picture])
    data, md5 = api.thumbnail(alice, task_id, 1, attempt=2)
    assert md5 == second.md5 != first.md5 and Image.open(io.BytesIO(data)).size == (40, 20)
    with pytest.raises(NotFoundError, match=rf"^no task {task_id} for user 'bob'$"):
        api.thumbnail(Caller("bob", Role.ARTIST), task_id, 1)
