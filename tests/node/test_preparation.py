"""A node's side: project layout, the node cache, Maya path rewriting, safe unpacking, disk bounds."""
from __future__ import annotations

import logging
import os
import time
import zipfile
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from rfarm.files import transfer, workspace
from rfarm.errors import IntegrityError, UsageError
from rfarm.files.hashing import hash_file
from rfarm.files.manifest import SNAPSHOT, UPLOAD, Manifest, ManifestEntry, Reference
from rfarm.node.nodecache import NodeCache
from rfarm.node.preparation import (
    NodeFiles,
    prepare_task,
    project_layout,
    rewrite_maya_ascii,
    sweep_node,
)
from rfarm.storage import FolderStorage
from rfarm.storage.keys import manifest_key, object_key

USER = "alice"


class CountingStorage(FolderStorage):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gets: list[str] = []

    def get_file(self, key: str, dest: Path) -> None:
        self.gets.append(key)
        super().get_file(key, dest)


@pytest.fixture
def store(farm: Any, tmp_path: Path) -> CountingStorage:
    return CountingStorage(tmp_path / "store")


def submit_files(store: FolderStorage, task_id: int, files: dict[str, Path], *, scene: str, mode: str = UPLOAD,
                 references: tuple[Reference, ...] = (), scene_in_archive: str | None = None) -> Manifest:
    """Upload ``files`` (original path → local file) and store a manifest for ``task_id``."""
    from rfarm.api import LocalFarm
    from rfarm.config import load_config
    from rfarm.files.upload import upload_files
    from rfarm.state.users import Caller, get_user

    upload_files(LocalFarm(load_config(), storage=store), Caller(USER), list(files.values()))
    unionid = get_user(USER).unionid
    entries = []
    for original, local in files.items():
        h = hash_file(local)
        entries.append(ManifestEntry(original, object_key(unionid, h.md5, h.xxh64), h.md5, h.xxh64, h.size,
                                     is_scene=original == scene))
    manifest = Manifest(task_id, mode, scene, tuple(entries), references, scene_in_archive)
    store.put_bytes(manifest_key(task_id), manifest.encode())
    return manifest


def test_layout_keeps_relative_paths() -> None:
    layout = project_layout(["/home/a/proj/shot.blend", "/home/a/proj/tex/wood.png", "/home/a/lib/prop.blend"])
    assert layout == {
        "/home/a/proj/shot.blend": PurePosixPath("proj/shot.blend"),
        "/home/a/proj/tex/wood.png": PurePosixPath("proj/tex/wood.png"),
        "/home/a/lib/prop.blend": PurePosixPath("lib/prop.blend"),
    }
    windows = project_layout(["C:\\proj\\shot.ma", "C:/proj/sourceimages/a.png", "D:\\lib\\x.png", "\\\\nas\\share\\t.png"])
    assert windows == {
        "C:\\proj\\shot.ma": PurePosixPath("C/shot.ma"),
        "C:/proj/sourceimages/a.png": PurePosixPath("C/sourceimages/a.png"),
        "D:\\lib\\x.png": PurePosixPath("D/x.png"),
        "\\\\nas\\share\\t.png": PurePosixPath("nas_share/t.png"),
    }


@pytest.mark.parametrize("entry", ["../evil.txt", "a/../../evil.txt", "/etc/evil", "C:/evil.txt", "C:evil.txt",
                                   "\\\\server\\share\\evil.txt", "..\\evil.txt"])
def test_zip_slip_is_refused(tmp_path: Path, entry: str) -> None:
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("scene/shot.blend", b"blend")
        zf.writestr(entry, b"evil")
    with pytest.raises(UsageError) as caught:
        workspace.safe_unpack(archive, tmp_path / "out")
    message = str(caught.value)
    assert "\n" not in message and "would land outside" in message and "project.zip" in message
    assert not (tmp_path / "out").exists() and not list(tmp_path.rglob("evil*"))


def test_a_safe_zip_unpacks(tmp_path: Path) -> None:
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("scene/shot.blend", b"blend")
        zf.writestr("./tex/a.png", b"png")
    assert workspace.safe_unpack(archive, tmp_path / "out") == 2
    assert (tmp_path / "out" / "tex" / "a.png").read_bytes() == b"png"


def test_a_zip_project_with_a_bad_entry_fails_preparation(store: CountingStorage, config: Any, tmp_path: Path) -> None:
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("shot.blend", b"blend")
        zf.writestr("../../outside.txt", b"evil")
    submit_files(store, 5, {str(archive): archive}, scene=str(archive), scene_in_archive="shot.blend")
    cache = NodeCache(tmp_path / "cache", max_bytes=10**9)
    with pytest.raises(UsageError, match="outside its folder"):
        prepare_task(config, task_id=5, user=USER, storage=store, cache=cache)
    assert not list(config.workspace.rglob("outside.txt")) and not (tmp_path / "outside.txt").exists()


def test_prepare_lays_out_the_project_and_the_cache_avoids_a_second_download(
    store: CountingStorage, config: Any, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    for name, data in {"proj/shot.ma": b'setAttr ".ftn" -type "string" "/art/proj/tex/wood.png";\n',
                       "proj/tex/wood.png": b"wood"}.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    files = {"/art/proj/shot.ma": src / "proj/shot.ma", "/art/proj/tex/wood.png": src / "proj/tex/wood.png"}
    refs = (Reference("/art/proj/tex/wood.png", "/art/proj/shot.ma", ("/art/proj/tex/wood.png",)),)
    for task_id in (1, 2):
        submit_files(store, task_id, files, scene="/art/proj/shot.ma", references=refs)
    cache = NodeCache(workspace.cache_dir(config), max_bytes=10**9)
    first = prepare_task(config, task_id=1, user=USER, storage=store, cache=cache)
    project = workspace.task_workspace(config, USER, 1) / "project"
    assert (first.scene, first.files, first.downloaded) == (project / "shot.ma", 2, 2)
    assert (project / "tex" / "wood.png").read_bytes() == b"wood"
    assert (project / "shot.ma").read_text() == f'setAttr ".ftn" -type "string" "{project.as_posix()}/tex/wood.png";\n'
    assert len(list((workspace.task_workspace(config, USER, 1) / "source").iterdir())) == 2
    gets = len(store.gets)
    second = prepare_task(config, task_id=2, user=USER, storage=store, cache=cache)
    assert (second.downloaded, len(store.gets)) == (0, gets)  # the other task's files came from the cache
    assert prepare_task(config, task_id=1, user=USER, storage=store, cache=cache).files == 0  # already there


def test_a_damaged_cache_copy_is_fetched_again_and_a_bad_object_fails(
    store: CountingStorage, config: Any, tmp_path: Path
) -> None:
    scene = tmp_path / "shot.blend"
    scene.write_bytes(b"blend data")
    manifest = submit_files(store, 1, {"/art/shot.blend": scene}, scene="/art/shot.blend", mode=SNAPSHOT)
    cache = NodeCache(tmp_path / "cache", max_bytes=10**9)
    entry = manifest.files[0]
    cache.link(store, entry, tmp_path / "a")
    cached = cache.path_of(entry.file_hash)
    os.unlink(tmp_path / "a")
    cached.write_bytes(b"blend dat4")  # same size, new mtime: hashed again, found bad
    assert cache.link(store, entry, tmp_path / "b") == (True, False)
    assert (tmp_path / "b").read_bytes() == b"blend data"
    (store.root / entry.key).write_bytes(b"corrupted!")
    cached.unlink()
    with pytest.raises(IntegrityError, match=r"/art/shot\.blend: the stored object .* even fetched twice"):
        prepare_task(config, task_id=1, user=USER, storage=store, cache=cache)


def test_snapshot_keeps_dependencies_where_they_are(store: CountingStorage, config: Any, tmp_path: Path) -> None:
    scene = tmp_path / "shot.blend"
    scene.write_bytes(b"blend")
    submit_files(store, 3, {"/art/proj/shot.blend": scene}, scene="/art/proj/shot.blend", mode=SNAPSHOT)
    prepared = prepare_task(config, task_id=3, user=USER, storage=store,
                            cache=NodeCache(tmp_path / "cache", max_bytes=10**9), map_path=lambda p: "/mnt" + p)
    assert prepared.relative_base == "/mnt/art/proj" and prepared.remap_file is None
    assert prepared.scene.read_bytes() == b"blend"


def test_maya_rewrite_escapes_and_counts(tmp_path: Path) -> None:
    src = tmp_path / "in.ma"
    src.write_bytes(b'file -r -ns "x" "C:\\\\proj\\\\ref.ma";\nsetAttr ".ftn" -type "string" "sourceimages/a.png";\n')
    count = rewrite_maya_ascii(src, tmp_path / "out.ma", {"C:\\proj\\ref.ma": "/w/p/ref.ma",
                                                           "sourceimages/a.png": "/w/p/sourceimages/a.png"})
    assert count == 2
    assert (tmp_path / "out.ma").read_bytes() == (
        b'file -r -ns "x" "/w/p/ref.ma";\nsetAttr ".ftn" -type "string" "/w/p/sourceimages/a.png";\n'
    )


def test_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = NodeCache(tmp_path / "cache", max_bytes=250)
    paths = []
    for i in range(4):
        path = tmp_path / "cache" / "objects" / "ab" / f"obj{i}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
        now = time.time_ns()
        os.utime(path, ns=(now - (10 - i) * 10**9, now))
        paths.append(path)
    os.utime(paths[0], ns=(time.time_ns(), paths[0].stat().st_mtime_ns))  # used just now
    assert cache.evict() == (2, 200)
    assert [p.exists() for p in paths] == [True, False, False, True]


def test_sweep_removes_old_finished_workspaces(farm: Any, config: Any, tmp_path: Path) -> None:
    from rfarm.state import scheduler
    from rfarm.state.models import Task, utcnow

    ids = [scheduler.submit(scheduler.SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), user=USER)
           for _ in range(3)]
    now = utcnow()
    Task.update(status="done", finished_at=now - timedelta(hours=30)).where(Task.id == ids[0]).execute()
    Task.update(status="failed", finished_at=now - timedelta(hours=1)).where(Task.id == ids[1]).execute()
    for task_id in [*ids, 999]:
        (workspace.task_workspace(config, USER, task_id) / "project").mkdir(parents=True)
    swept = sweep_node(config, NodeCache(workspace.cache_dir(config), max_bytes=10**9), now=now)
    assert sorted(Path(p).name for p in swept.workspaces) == [str(ids[0]), "999"]
    assert [workspace.task_workspace(config, USER, t).exists() for t in ids] == [False, True, True]


def test_low_disk_claims_nothing_and_says_so_once(config: Any, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from rfarm.config import load_config

    monkeypatch.setenv("RFARM_MIN_FREE_GB", "1e12")
    files = NodeFiles(load_config())
    with caplog.at_level(logging.WARNING, logger="rfarm.node.preparation"):
        assert [files.can_claim("n1") for _ in range(3)] == [False, False, False]
        monkeypatch.setenv("RFARM_MIN_FREE_GB", "0")
        files.config = load_config()
        assert files.can_claim("n1") and files.can_claim("n1")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "below min_free_gb" in lines[0] and "again" in lines[1]
