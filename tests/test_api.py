"""The seam takes every access decision: who sees and changes which tasks, nodes and configs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rfarm.state import scheduler
from rfarm.api import LocalFarm
from rfarm.errors import NotAllowedError, NotFoundError, UsageError
from rfarm.state.models import Task
from rfarm.submit.request import SubmitRequest
from rfarm.state.users import Caller, Role

ALICE = Caller("alice")
BOB = Caller("bob")


def submit(user: str, frames: range = range(1, 3)) -> int:
    return scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=list(frames)), user=user)


@pytest.fixture
def api(any_farm: Any) -> LocalFarm:
    return LocalFarm(any_farm.config)


def test_an_artist_sees_and_changes_only_their_own_tasks(api: LocalFarm) -> None:
    tid = submit("alice")
    bob_tid = submit("bob", range(1, 2))
    for call in (api.task, api.cancel, api.pause, api.resume, api.retry, api.cleanup, api.frame_logs, api.results):
        with pytest.raises(NotFoundError, match=f"no task {tid} for user 'bob'"):
            call(BOB, tid)
    assert Task.get_by_id(tid).status == "queued"
    assert [t.task_id for t in api.tasks(BOB)] == [bob_tid]
    assert [t.task_id for t in api.tasks(ALICE)] == [tid]
    with pytest.raises(NotAllowedError, match="--all is for admins"):
        api.tasks(Caller("bob", all_users=True))
    with pytest.raises(NotAllowedError, match="only admins"):
        api.tasks(BOB, user="alice")
    for bad in ("9999", "abc", "1.5"):
        with pytest.raises(NotFoundError):
            api.task(ALICE, bad)


def test_an_admin_acting_for_all_sees_and_changes_every_task(api: LocalFarm) -> None:
    tid = submit("alice")
    bob_tid = submit("bob", range(1, 2))
    root = Caller("root", Role.ADMIN, all_users=True)
    assert {t.task_id for t in api.tasks(root)} == {tid, bob_tid}
    assert [t.task_id for t in api.tasks(root, user="bob")] == [bob_tid]
    assert api.task(root, tid).user == "alice"
    assert api.pause(root, tid).status == "paused"
    with pytest.raises(NotFoundError):  # without --all an admin works on their own tasks, as everyone does
        api.task(Caller("root", Role.ADMIN), tid)


def test_a_viewer_reads_but_changes_nothing(api: LocalFarm, tmp_path: Path) -> None:
    tid = submit("vic")
    viewer = Caller("vic", Role.VIEWER)
    assert api.task(viewer, tid).status == "queued"
    for call in (api.cancel, api.pause, api.retry, api.cleanup):
        with pytest.raises(NotAllowedError, match="needs the artist role"):
            call(viewer, tid)
    with pytest.raises(NotAllowedError, match="needs the artist role"):
        api.submit(viewer, SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]))
    assert Task.get_by_id(tid).status == "queued"


def test_nodes_and_hardware_configs_are_changed_by_managers_only(api: LocalFarm) -> None:
    from rfarm.node.hardware import detect_hardware
    from rfarm.state.nodes import register_node

    register_node("n1", detect_hardware(Path(".")), tags=[], renderers={"blender": "5.0"})
    for caller in (ALICE, Caller("vic", Role.VIEWER)):
        with pytest.raises(NotAllowedError, match="needs the manager role"):
            api.set_node_enabled(caller, "n1", False)
        with pytest.raises(NotAllowedError, match="needs the manager role"):
            api.add_hardware_config(caller, "big", ram_gb=64)
        with pytest.raises(NotAllowedError, match="needs the manager role"):
            api.remove_hardware_config(caller, "big")
        with pytest.raises(NotAllowedError, match="needs the admin role"):
            api.users(caller)
    manager = Caller("mia", Role.MANAGER)
    api.set_node_enabled(manager, "n1", False)
    assert [n.is_enabled for n in api.nodes(ALICE)] == [False]
    api.add_hardware_config(manager, "big", ram_gb=64)
    assert [c.name for c in api.hardware_configs(ALICE)] == ["big"]
    api.remove_hardware_config(manager, "big")
    assert api.hardware_configs(ALICE) == []


def test_a_manifest_naming_files_the_user_never_uploaded_is_refused(api: LocalFarm) -> None:
    from rfarm.files.manifest import Manifest, ManifestEntry

    doc = Manifest(0, "upload", "/s.blend", (ManifestEntry("/s.blend", "", "0" * 32, "1", 5, is_scene=True),))
    with pytest.raises(UsageError, match="was not uploaded"):
        api.submit(ALICE, SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), doc)
    assert Task.select().count() == 0


def test_a_task_is_recorded_with_its_manifest_or_not_at_all(any_farm: Any, tmp_path: Path) -> None:
    from rfarm.errors import StorageError
    from rfarm.storage import FolderStorage
    from rfarm.storage.keys import manifest_key
    from rfarm.submit.submission import submit as submit_scene
    from rfarm.files.upload import upload_files

    class ManifestWriteFails(FolderStorage):
        """Folder storage whose disk fills up exactly when a manifest is written."""

        def put_bytes(self, key: str, data: bytes) -> None:
            if key.endswith("manifest.json"):
                raise StorageError(f"cannot write {key}: No space left on device")
            super().put_bytes(key, data)

    scene = tmp_path / "shot.blend"
    scene.write_bytes(b"BLENDER-v500" + b"\0" * 64)
    store = ManifestWriteFails(tmp_path / "store")
    api = LocalFarm(any_farm.config, storage=store)
    request = SubmitRequest(scene=str(scene), renderer="blender", frames=[1, 2])
    with pytest.raises(StorageError, match="No space left"):
        submit_scene(api, ALICE, request, files="snapshot")
    assert Task.select().count() == 0  # no task without its manifest
    assert upload_files(api, ALICE, [scene]).skipped == 1  # the uploaded scene stays for the next try
    good = LocalFarm(any_farm.config, storage=FolderStorage(tmp_path / "store"))
    done = submit_scene(good, ALICE, request, files="snapshot")
    assert good.storage.exists(manifest_key(done.task_id)) and done.upload is not None and done.upload.skipped == 1
