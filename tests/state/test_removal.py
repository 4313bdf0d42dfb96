"""Deleting a task on the farm's machine: every file of it goes, nothing else does."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rfarm.api import LocalFarm
from rfarm.errors import NotFoundError, UsageError
from rfarm.files.workspace import frame_log_path, results_dir, task_workspace
from rfarm.state import scheduler
from rfarm.state.models import Event, Frame, Task, WebhookDelivery
from rfarm.state.users import Caller, Role
from rfarm.state.webhooks import add_webhook, enqueue_new
from rfarm.storage import FolderStorage
from rfarm.submit.request import SubmitRequest

USER = "alice"


def finished_task(farm: Any, storage: FolderStorage, *, output_dir: Path | None = None) -> tuple[int, list[Path]]:
    """A task whose two frames rendered, with the files a real render leaves: images, logs, stored results."""
    request = SubmitRequest(scene="/s.blend", renderer="blender", frames=[1, 2],
                            output_dir=str(output_dir) if output_dir else None)
    tid = scheduler.submit(request, user=USER)
    out = output_dir or results_dir(farm.config, USER, tid)
    made = []
    for number in (1, 2):
        claim = scheduler.claim("node-1", lease_s=60)
        assert claim is not None
        image, log = out / f"frame_{number:04d}.png", frame_log_path(farm.config, tid, number, 1)
        for path in (image, log):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
        made += [image, log]
        frame_id = claim.frames[0].id
        scheduler.set_log_path(frame_id, claim.token, str(log))
        scheduler.finish_frame(frame_id, claim.token, outputs=[str(image)])
        storage.put_bytes(f"tasks/{tid}/results/frame_{number:04d}.png", b"x")
        storage.put_bytes(f"tasks/{tid}/outputs/frame-{number}.json", b"{}")
    (task_workspace(farm.config, USER, tid) / "source").mkdir(parents=True)
    return tid, made


def test_delete_removes_every_file_of_the_task_and_keeps_the_rest(farm: Any, tmp_path: Path) -> None:
    storage = FolderStorage(tmp_path / "store")
    api = LocalFarm(farm.config, storage=storage)
    add_webhook(USER, "https://hooks.example/rfarm", ["task.done"])
    own_folder = tmp_path / "renders" / "shot"
    own_folder.mkdir(parents=True)
    (own_folder / "notes.txt").write_text("the artist's own file")
    tid, made = finished_task(farm, storage, output_dir=own_folder)
    other, other_files = finished_task(farm, storage)
    enqueue_new()
    assert WebhookDelivery.select().count() == 2

    gone = api.delete(Caller(USER), tid)
    assert (gone.task_id, gone.frames, gone.frames_cancelled) == (tid, 2, 0)
    assert not any(path.exists() for path in made)
    assert (own_folder / "notes.txt").read_text() == "the artist's own file", "a folder the user named stays"
    assert not task_workspace(farm.config, USER, tid).exists()
    assert not list(storage.list(f"tasks/{tid}/"))
    assert Task.get_or_none(Task.id == tid) is None and not Frame.select().where(Frame.task == tid).exists()
    assert not Event.select().where(Event.task == tid).exists() and WebhookDelivery.select().count() == 1
    with pytest.raises(NotFoundError):
        api.task(Caller(USER), tid)

    assert all(path.exists() for path in other_files), "the other task keeps its files"
    assert len(list(storage.list(f"tasks/{other}/"))) == 4
    gone = api.delete(Caller(USER), other)
    assert not results_dir(farm.config, USER, other).exists()
    # SQLite may hand the last id out again: the new task finds no results of the deleted one
    again = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), user=USER)
    assert again in (tid, other) and api.results(Caller(USER), again) == []


def test_delete_and_cleanup_refuse_under_a_render_and_force_cancels_first(farm: Any, tmp_path: Path) -> None:
    api = LocalFarm(farm.config, storage=FolderStorage(tmp_path / "store"))
    tid = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1, 2]), user=USER)
    assert scheduler.claim("node-1", lease_s=60) is not None
    for call in (api.delete, api.cleanup):
        with pytest.raises(UsageError, match=rf"task {tid}: 1 frame is rendering.*--force"):
            call(Caller(USER), tid)
    assert Task.get_by_id(tid).status == "rendering"
    with pytest.raises(NotFoundError):  # another user's task is unknown to bob, whatever it is doing
        api.delete(Caller("bob"), tid, force=True)
    viewer = Caller(USER, Role.VIEWER)
    with pytest.raises(Exception, match="artist role"):
        api.delete(viewer, tid, force=True)
    gone = api.delete(Caller(USER), tid, force=True)
    assert gone.frames_cancelled == 2 and Task.get_or_none(Task.id == tid) is None
