"""Dedup upload, verified fetch and result download, on folder storage and the local OSS server."""
from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rfarm.state import scheduler
from rfarm.files import transfer
from rfarm.api import LocalFarm
from rfarm.config import load_config
from rfarm.files.download import DownloadSummary, download_results
from rfarm.errors import Cancelled, IntegrityError, NotFoundError
from rfarm.files.hashing import FileHash, HashCache, hash_file
from rfarm.files.progress import Progress
from rfarm.submit.request import SubmitRequest
from rfarm.storage import FolderStorage
from rfarm.storage.keys import object_key
from rfarm.storage.oss import OssStorage
from rfarm.files.upload import UploadSummary, upload_files
from rfarm.state.users import Caller, get_user
from tests.oss_server import OssServer

USER = "alice"


def write_tree(root: Path, count: int, *, size: int = 2048) -> list[Path]:
    paths = []
    for i in range(count):
        path = root / f"d{i % 3}" / f"f{i:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(i.to_bytes(4, "little") * (size // 4))
        paths.append(path)
    return paths


class CountingStorage(FolderStorage):
    """Folder storage that counts puts and gets, and can hand out a damaged copy."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts: list[str] = []
        self.gets: list[str] = []
        self.damage_next = 0

    def put_file(self, key: str, path: Path, *, md5: str | None = None) -> None:
        self.puts.append(key)
        super().put_file(key, path, md5=md5)

    def get_file(self, key: str, dest: Path) -> None:
        self.gets.append(key)
        super().get_file(key, dest)
        if self.damage_next:
            self.damage_next -= 1
            dest.write_bytes(b"bit rot" + dest.read_bytes()[7:])


@pytest.fixture
def store(farm: Any, tmp_path: Path) -> CountingStorage:
    return CountingStorage(tmp_path / "store")


@pytest.fixture
def oss(tmp_path: Path) -> Iterator[tuple[OssServer, OssStorage]]:
    with OssServer() as server:
        yield server, OssStorage(
            server.bucket, "farm", endpoint=server.endpoint, region=server.region,
            access_key_id=server.access_key_id, access_key_secret=server.access_key_secret,
            checkpoint_dir=tmp_path / "checkpoints", retries=0,
        )


def unionid() -> str:
    return str(get_user(USER).unionid)


def upload(paths: Any, storage: Any, *, user: str = USER, **kw: Any) -> UploadSummary:
    """The dedup upload of ``paths`` by ``user`` through the local seam, into ``storage``."""
    return upload_files(LocalFarm(load_config(), storage=storage), Caller(user), paths, **kw)


def download(task_id: int, storage: Any, dest: Path) -> DownloadSummary:
    return download_results(LocalFarm(load_config(), storage=storage), Caller(USER), task_id, dest)


def new_task(user: str = USER) -> int:
    """A recorded task of ``user``'s, for results to belong to."""
    return scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1, 2]), user=user)


def test_second_upload_sends_nothing(store: CountingStorage, tmp_path: Path, home: Path) -> None:
    write_tree(tmp_path / "proj", 30)
    (tmp_path / "proj" / "copy.bin").write_bytes((tmp_path / "proj" / "d0" / "f000.bin").read_bytes())
    with HashCache(home / "hash_cache.db") as cache:
        first = upload([tmp_path / "proj"], store, user=USER, cache=cache)
        assert (first.uploaded, first.skipped) == (30, 1)  # the copy shares its content with f000
        assert len(store.puts) == 30
        second = upload([tmp_path / "proj"], store, user=USER, cache=cache)
    assert (second.uploaded, second.bytes_uploaded, second.skipped) == (0, 0, 31)
    assert second.bytes_skipped == first.bytes_uploaded + first.bytes_skipped
    assert len(store.puts) == 30
    doc = json.loads(json.dumps(dataclasses.asdict(second)))
    assert set(doc) == {"uploaded", "skipped", "bytes_uploaded", "bytes_skipped", "files"}
    assert set(doc["files"][0]) == {"path", "hash", "xxhash", "size", "uploaded"}
    one = next(f for f in second.files if f.path.endswith("f001.bin"))
    assert FileHash(one.hash, one.xxhash, one.size) == hash_file(one.path)
    assert store.exists(object_key(unionid(), one.hash, one.xxhash))


class SeamCalls:
    """The local seam, recording the name of every call made through it (each call still runs)."""

    def __init__(self, farm: LocalFarm) -> None:
        self.farm, self.calls = farm, []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.farm, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return call


class StorageCalls(FolderStorage):
    """Folder storage that records every call made to it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        if name in ("exists", "exists_many", "list", "put_file", "get_file", "get_bytes", "size"):
            object.__getattribute__(self, "calls").append(name)
        return object.__getattribute__(self, name)


def sql_statements() -> Any:
    """A context recording the SQL statements peewee runs (its DEBUG log)."""
    import contextlib
    import logging

    @contextlib.contextmanager
    def recording() -> Iterator[list[str]]:
        seen: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: seen.append(str(record.msg))  # type: ignore[method-assign]
        logger = logging.getLogger("peewee")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            yield seen
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    return recording()


@pytest.mark.parametrize("count", [40, 400])
def test_a_reupload_is_one_batched_check_and_nothing_else(farm: Any, tmp_path: Path, home: Path, count: int) -> None:
    """The second upload of an unchanged tree: one seam call, a few statements whatever the
    file count, one listing of the store, nothing per file."""
    from rfarm.state.models import Asset, utcnow

    storage = StorageCalls(tmp_path / "store")
    write_tree(tmp_path / "proj", count, size=64)
    seam = SeamCalls(LocalFarm(load_config(), storage=storage))
    with HashCache(home / "hash_cache.db") as cache:
        upload_files(seam, Caller(USER), [tmp_path / "proj"], cache=cache)  # type: ignore[arg-type]
        seam.calls.clear()
        storage.calls.clear()
        before = utcnow()
        with sql_statements() as statements:
            again = upload_files(seam, Caller(USER), [tmp_path / "proj"], cache=cache)  # type: ignore[arg-type]
    assert (again.uploaded, again.skipped) == (0, count)
    assert seam.calls == ["check_hashes"]
    assert storage.calls == ["list"]
    ours = [s for s in statements if "hash_cache" not in s]  # the hash cache is a database of its own
    assert len(ours) <= 6, ours
    assert Asset.select().where(Asset.last_used < before).count() == 0, "every file found is marked used now"


def test_users_are_isolated(store: CountingStorage, tmp_path: Path) -> None:
    write_tree(tmp_path / "proj", 3)
    upload([tmp_path / "proj"], store, user=USER)
    other = upload([tmp_path / "proj"], store, user="bob")
    assert other.uploaded == 3
    assert {k.split("/")[1] for k in store.list("users/")} == {unionid(), _unionid("bob")}


def _unionid(name: str) -> str:
    from rfarm.state.scheduler import get_user

    return str(get_user(name).unionid)


def test_a_record_whose_object_is_gone_is_uploaded_again(store: CountingStorage, tmp_path: Path) -> None:
    from rfarm.state.models import Asset

    paths = write_tree(tmp_path / "proj", 4)
    upload(paths, store, user=USER)
    gone = hash_file(paths[2])
    key = object_key(unionid(), gone.md5, gone.xxh64)
    store.delete(key)
    Asset.update(key="stale").where(Asset.hash == gone.md5).execute()
    answer = transfer.check_hashes(USER, [hash_file(p) for p in paths], storage=store)
    assert answer["to_upload"] == [gone] and len(answer["exists"]) == 3
    again = upload(paths, store, user=USER)
    assert [f.uploaded for f in again.files] == [False, False, True, False]
    assert store.exists(key) and Asset.get(Asset.hash == gone.md5).key == key


def test_listing_replaces_existence_checks_for_many_files(tmp_path: Path, farm: Any, oss: tuple[OssServer, OssStorage]) -> None:
    server, storage = oss
    paths = write_tree(tmp_path / "proj", 40, size=256)
    upload(paths, storage, user=USER)
    server.log.clear()
    again = upload(paths, storage, user=USER)
    assert again.uploaded == 0
    assert [r.op for r in server.log] == ["ListObjects"]


def test_cancelling_an_upload_keeps_what_was_sent(store: CountingStorage, tmp_path: Path) -> None:
    write_tree(tmp_path / "proj", 10)
    calls = []

    def stop_after_three(progress: Progress) -> bool:
        calls.append(progress.stage)
        return progress.stage != "upload" or progress.done < 3

    with pytest.raises(Cancelled):
        upload([tmp_path / "proj"], store, user=USER, on_progress=stop_after_three, threads=1)
    from rfarm.state.models import Asset

    assert calls.count("hash") == 10
    stored = {key for key in store.list("") if key.startswith("users/")}
    recorded = {a.key for a in Asset.select()}
    # each file is recorded the moment it is stored (the put in flight at the cancel finishes first)
    assert recorded == stored and 3 <= len(recorded) < 10
    resumed = upload([tmp_path / "proj"], store, user=USER)
    assert resumed.uploaded == 10 - len(recorded)


def test_a_damaged_copy_is_fetched_again(store: CountingStorage, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "proj", 1)[0]
    expected = hash_file(src)
    store.put_file("obj", src)
    store.damage_next = 1
    assert transfer.fetch_verified(store, "obj", tmp_path / "out.bin", expected, label=str(src)) is True
    assert hash_file(tmp_path / "out.bin") == expected and len(store.gets) == 2


def test_a_corrupted_object_fails_with_a_clear_error(store: CountingStorage, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "proj", 1)[0]
    store.put_file("obj", src)
    (store.root / "obj").write_bytes(b"not the texture")
    with pytest.raises(IntegrityError, match=r"f000\.bin: the stored object obj does not match its recorded hash"):
        transfer.fetch_verified(store, "obj", tmp_path / "out.bin", hash_file(src), label=str(src))
    assert not (tmp_path / "out.bin").exists() and len(store.gets) == 2
    assert not list(tmp_path.glob(".out.bin*"))
    with pytest.raises(NotFoundError, match="missing from storage"):
        transfer.fetch_verified(store, "nothing", tmp_path / "out.bin", hash_file(src), label="x.png")


def _results(storage: Any, tmp_path: Path) -> tuple[list[Path], Path, int]:
    base = tmp_path / "results"
    files = write_tree(base, 3)
    tid = new_task()
    transfer.store_results(storage, tid, 1, files[:2], base=base)
    transfer.store_results(storage, tid, 2, files[2:], base=base)
    return files, base, tid


def test_download_verifies_results(store: CountingStorage, tmp_path: Path) -> None:
    files, base, tid = _results(store, tmp_path)
    summary = download(tid, store, tmp_path / "dl")
    assert (summary.files, summary.refetched) == (3, 0)
    for f in files:
        assert (tmp_path / "dl" / f.relative_to(base)).read_bytes() == f.read_bytes()
    store.damage_next = 1
    assert download(tid, store, tmp_path / "dl2").refetched == 1
    (store.root / "tasks" / str(tid) / "results" / "d1" / "f001.bin").write_bytes(b"changed")
    (store.root / "tasks" / str(tid) / "results" / "d0" / "f000.bin").unlink()
    summary = download(tid, store, tmp_path / "dl3")
    # the bad files are reported, each with the frame that rendered it; the good one is still fetched
    assert [(b.path, b.frame, b.problem) for b in summary.bad] == [("d0/f000.bin", 1, "missing"),
                                                                   ("d1/f001.bin", 1, "corrupt")]
    assert "result d1/f001.bin" in summary.bad[1].message and "upload" not in summary.bad[0].message
    assert (summary.files, summary.bad_frames) == (1, [1])
    assert (tmp_path / "dl3" / files[2].relative_to(base)).read_bytes() == files[2].read_bytes()
    assert not (tmp_path / "dl3" / "d1" / "f001.bin").exists()
    with pytest.raises(NotFoundError, match="no results"):
        download(new_task(), store, tmp_path / "dl4")
    with pytest.raises(NotFoundError, match="no task"):  # another user's results are not there for alice
        download(new_task("bob"), store, tmp_path / "dl5")


def test_oss_upload_and_download_catch_corruption(tmp_path: Path, farm: Any, oss: tuple[OssServer, OssStorage]) -> None:
    server, storage = oss
    paths = write_tree(tmp_path / "proj", 5)
    assert upload(paths, storage, user=USER).uploaded == 5
    assert upload(paths, storage, user=USER).bytes_uploaded == 0
    _, _, tid = _results(storage, tmp_path)
    server.add_fault("bad-crc", op="GetObject", skip=2)  # after the two frames' records
    assert download(tid, storage, tmp_path / "dl").refetched == 1
    server.corrupt(f"farm/tasks/{tid}/results/d0/f000.bin")
    (bad,) = download(tid, storage, tmp_path / "dl2").bad
    assert bad.problem == "corrupt" and bad.message.startswith("result d0/f000.bin: the stored object")


def test_a_result_record_cannot_write_outside_the_destination(store: CountingStorage, tmp_path: Path) -> None:
    from rfarm.errors import UsageError

    record = {"frame": 1, "files": [{"path": "../escape.png", "key": "k", "hash": "0" * 32, "xxhash": "0", "size": 1}]}
    tid = new_task()
    store.put_bytes(f"tasks/{tid}/outputs/frame-1.json", json.dumps(record).encode())
    with pytest.raises(UsageError, match="would land outside"):
        download(tid, store, tmp_path / "dl")
    assert not (tmp_path / "escape.png").exists() and not os.path.exists(tmp_path / "dl")
