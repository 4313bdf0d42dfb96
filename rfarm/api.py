"""The one seam every front end reaches the farm through.

:class:`FarmAPI` names the operations the CLI, the service, the dashboard,
the SDK and the add-ons use; each call carries its :class:`~rfarm.state.users.Caller`.
:class:`LocalFarm` runs them on this machine's library and takes every access
decision itself: an artist sees and changes only their own tasks and files
(another user's task is answered exactly as an unknown one), managers and
admins see and control every task, and only they change nodes and hardware
configs. Work that stays on the user's machine (analysing or hashing a local
file) does not go through here; :mod:`rfarm.submit.submission`, :mod:`rfarm.files.upload`
and :mod:`rfarm.files.download` are the client-side halves of the file flows.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rfarm.config import Config
from rfarm.errors import NotAllowedError, NotFoundError, UsageError
from rfarm.state.states import EventKind
from rfarm.state.users import Caller, Role

if TYPE_CHECKING:
    from rfarm.state.audit import AuditEntry
    from rfarm.state.farm import Farm
    from rfarm.files.hashing import FileHash
    from rfarm.state.eventlog import EventInfo
    from rfarm.state.hwconfigs import HardwareConfigInfo
    from rfarm.files.manifest import Manifest
    from rfarm.state.models import Task
    from rfarm.state.nodes import NodeInfo
    from rfarm.state.removal import Deleted
    from rfarm.submit.request import SubmitRequest
    from rfarm.state.stats import FarmStats, StatsSeries
    from rfarm.storage.base import Storage
    from rfarm.state.taskinfo import FrameInfo, FrameLog, TaskDetails, TaskInfo, TaskSummary
    from rfarm.files.transfer import AssetInfo, ResultFile
    from rfarm.state.tokens import IssuedToken, TokenInfo
    from rfarm.state.users import UserInfo
    from rfarm.state.webhooks import DeliveryInfo, WebhookInfo


#: how often a waiting reader looks for new events in the database (a watcher sees a change within it)
EVENT_POLL_S = 0.2
#: the longest window the farm's statistics look back over, in hours: ten years
MAX_STATS_HOURS = 10 * 366 * 24


@dataclass(frozen=True, slots=True)
class Submitted:
    """A recorded task and what the farm warned about when it recorded it."""

    task_id: int
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class TaskChange:
    """What a control call (cancel, pause, resume, retry, cleanup) did to a task.

    The counts a call does not make stay ``None`` and are left out of the document.
    """

    task_id: int
    status: str
    frames_cancelled: int | None = None
    frames_requeued: int | None = None
    removed: bool | None = None
    #: a retry: on how many nodes the task's blocklist was cleared
    blocklist_cleared: int | None = None

    def to_dict(self) -> dict[str, object]:
        doc: dict[str, object] = {"task_id": self.task_id, "status": self.status}
        for key in ("frames_cancelled", "frames_requeued", "removed", "blocklist_cleared"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        return doc


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Part of a frame's log from byte ``offset``; ``next_offset`` is where to read on from."""

    text: str
    offset: int
    next_offset: int


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user just added, with their first token (shown once)."""

    name: str
    role: str
    token: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role, "token": self.token}


class FarmAPI(Protocol):
    """The farm's operations as front ends use them."""

    def submit(self, caller: Caller, request: SubmitRequest, manifest: Manifest | None = None) -> Submitted:
        """Record a task (with the manifest of its uploaded files) and wake the nodes, atomically."""

    def task(self, caller: Caller, task_id: int | str, *, with_frames: bool = True) -> TaskInfo: ...

    def task_summary(self, caller: Caller, task_id: int | str) -> TaskSummary:
        """Counts, progress, ETA, failing frames and why no node takes it, without reading every frame."""

    def iter_frames(self, caller: Caller, task_id: int | str, *, frames: Sequence[int] | None = None,
                    states: Sequence[str] = (), limit: int | None = None) -> Iterator[FrameInfo]:
        """The task's frames (test frames first), read a page at a time; optionally only ``frames``,
        only those in ``states``, at most ``limit``."""

    def task_details(self, caller: Caller, task_id: int | str) -> TaskDetails:
        """The task's settings and manifest files, with what dedup saved (access as :meth:`task`)."""

    def tasks(
        self, caller: Caller, *, user: str | None = None, status: Sequence[str] = (), limit: int = 200,
        before: int | None = None,
    ) -> list[TaskInfo]:
        """The newest tasks the caller may see; ``before`` a task id pages on to older ones."""

    def cancel(self, caller: Caller, task_id: int | str) -> TaskChange:
        """Cancel the task (``frames_cancelled``: how many)."""

    def pause(self, caller: Caller, task_id: int | str) -> TaskChange: ...

    def resume(self, caller: Caller, task_id: int | str) -> TaskChange: ...

    def retry(self, caller: Caller, task_id: int | str, *, failed_only: bool = False,
              frames: Sequence[int] | None = None) -> TaskChange:
        """Queue failed (and cancelled) frames again, or exactly ``frames``, finished ones included
        (``frames_requeued``: how many); the task's blocklist is cleared (``blocklist_cleared``: on how many nodes)."""

    def cleanup(self, caller: Caller, task_id: int | str, *, force: bool = False) -> TaskChange:
        """Remove the task's workspace (``removed``: whether there was one); refused while a frame
        renders, unless ``force``, which cancels the task first (``frames_cancelled``)."""

    def delete(self, caller: Caller, task_id: int | str, *, force: bool = False) -> Deleted:
        """Remove the task: its records, logs, results and the stored files no other task uses
        (refused while a frame renders, unless ``force``, as :meth:`cleanup`)."""

    def frame_logs(self, caller: Caller, task_id: int | str, frame: int | None = None) -> list[FrameLog]: ...

    def wait_events(
        self, caller: Caller, *, after: int | None = None, task_id: int | str | None = None, timeout_s: float = 0,
    ) -> tuple[int, list[EventInfo]]:
        """Events the caller may see after event id ``after`` (None: from now), waiting up to
        ``timeout_s`` for the first; returns the id to pass as ``after`` next time, and the events."""

    def read_log(self, caller: Caller, task_id: int | str, frame: int, attempt: int, offset: int = 0) -> LogChunk | None:
        """The log of one attempt from ``offset``; None when there is none yet."""

    def results(self, caller: Caller, task_id: int | str) -> list[ResultFile]: ...

    def fetch_result(self, caller: Caller, task_id: int | str, result: ResultFile, dest: Path) -> bool:
        """Write one result to ``dest``, hash-verified; whether a second fetch was needed."""

    def thumbnail(self, caller: Caller, task_id: int | str, frame: int, *, attempt: int | None = None) -> tuple[bytes, str]:
        """A done frame's thumbnail (JPEG) and its MD5, made by ``attempt`` when given (what is made by one
        attempt never changes); NotFoundError with the reason for any other frame (a failed one: its error line)."""

    def check_hashes(self, caller: Caller, hashes: Sequence[FileHash]) -> dict[str, list[FileHash]]:
        """``{"to_upload": [...], "exists": [...]}`` for the caller's own store; what it holds is marked used now."""

    def held_md5s(self, caller: Caller, md5s: Sequence[str]) -> list[str]:
        """Which MD5 digests name a file the caller's store holds."""

    def upload_file(self, caller: Caller, path: Path, file_hash: FileHash) -> None:
        """Store one file in the caller's store and record it."""

    def stored_files(self, caller: Caller, md5s: Sequence[str]) -> list[FileHash]:
        """The full hashes of the caller's stored files whose MD5 is one of ``md5s``."""

    def assets(self, caller: Caller, *, limit: int = 500) -> list[AssetInfo]:
        """The caller's stored files, most recently used first, with the tasks that use each."""

    def nodes(self, caller: Caller) -> list[NodeInfo]: ...

    def set_node_enabled(self, caller: Caller, name: str, enabled: bool) -> None: ...

    def hardware_configs(self, caller: Caller) -> list[HardwareConfigInfo]: ...

    def add_hardware_config(
        self, caller: Caller, name: str, *, ram_gb: float = 0, gpus: int = 0, gpu_memory_gb: float = 0,
        tags: tuple[str, ...] = (),
    ) -> HardwareConfigInfo: ...

    def remove_hardware_config(self, caller: Caller, name: str) -> None: ...

    def stats(self, caller: Caller, *, window: timedelta = timedelta(hours=24)) -> FarmStats: ...

    def stats_series(self, caller: Caller, *, window: timedelta = timedelta(hours=24), buckets: int = 24) -> StatsSeries:
        """The farm over the last ``window`` in ``buckets`` equal steps (the stats page's charts)."""

    def users(self, caller: Caller) -> list[UserInfo]: ...

    def add_user(self, caller: Caller, name: str, role: Role | str, password: str | None = None) -> NewUser:
        """Add a user with their first token (admins; on the database's machine, anyone while it holds no admin)."""

    def set_role(self, caller: Caller, name: str, role: Role | str) -> UserInfo: ...

    def new_token(self, caller: Caller, name: str) -> IssuedToken:
        """A new token for ``name`` (admins, or the user themselves)."""

    def tokens(self, caller: Caller, name: str | None = None) -> list[TokenInfo]:
        """Kept tokens: every user's (admins, with ``name`` None) or one user's (admins, or the user themselves)."""

    def revoke_token(self, caller: Caller, token_id: str) -> None: ...

    def set_password(self, caller: Caller, name: str, password: str) -> None: ...

    def remove_user(self, caller: Caller, name: str) -> None: ...

    def add_webhook(self, caller: Caller, url: str, events: Sequence[str], *, farm_wide: bool = False) -> WebhookInfo:
        """A webhook for the caller's tasks (artists), or with ``farm_wide`` every task's (managers); its secret once."""

    def webhooks(self, caller: Caller) -> list[WebhookInfo]:
        """The caller's webhooks; every webhook for managers."""

    def remove_webhook(self, caller: Caller, webhook_id: int) -> None: ...

    def deliveries(self, caller: Caller, webhook_id: int, *, limit: int = 50) -> list[DeliveryInfo]:
        """A webhook's delivery log, newest first."""

    def audit(self, caller: Caller, *, since: datetime | None = None, limit: int = 200) -> list[AuditEntry]:
        """Who did what, newest first, from ``since`` (naive UTC) on (managers)."""


class LocalFarm:
    """:class:`FarmAPI` on this machine's database, queue and storage."""

    def __init__(self, config: Config, *, storage: Storage | None = None) -> None:
        """``storage`` replaces the one ``config`` names (tests count and damage its objects)."""
        self.config = config
        self._storage = storage

    @property
    def storage(self) -> Storage:
        return self._storage if self._storage is not None else self.farm.storage

    @property
    def farm(self) -> Farm:
        """The database (opened on first use), queue and storage."""
        from rfarm.state.farm import open_farm

        return open_farm(self.config)

    def _open(self) -> None:
        self.farm  # noqa: B018 - opening binds the models to this farm's database

    @staticmethod
    def _audit(caller: Caller, kind: EventKind, subject: str | None = None, *, task_id: int | None = None,
               message: str = "") -> None:
        """Record in the audit trail that the caller did ``kind`` to ``subject`` (or to a task)."""
        from rfarm.state.audit import record

        record(kind, actor=caller.user, subject=subject, task_id=task_id, message=message)

    # -- access ---------------------------------------------------------------

    @staticmethod
    def _require(caller: Caller, role: Role, what: str) -> None:
        if not caller.may(role):
            raise NotAllowedError(f"{what} needs the {role} role; {caller.user!r} is {caller.role.value}")

    @staticmethod
    def _check_scope(caller: Caller) -> None:
        if caller.all_users and not caller.may(Role.MANAGER):
            raise NotAllowedError(f"--all is for admins; {caller.user!r} is not in the config's admins")

    def _task(self, caller: Caller, task_id: int | str, *, change: bool = False) -> Task:
        """The task if the caller may see it (and, with ``change``, control it)."""
        from rfarm.state.taskinfo import find_task

        self._check_scope(caller)
        self._open()
        task = find_task(task_id, owner=None if caller.all_users else caller.user)
        if change:
            self._require(caller, Role.ARTIST, "changing a task")
        return task

    # -- tasks ----------------------------------------------------------------

    def submit(self, caller: Caller, request: SubmitRequest, manifest: Manifest | None = None) -> Submitted:
        from rfarm.submit.recording import record_task

        self._require(caller, Role.ARTIST, "submitting")
        task_id, warnings = record_task(self.farm, request, manifest, user=caller.user, storage=self.storage)
        return Submitted(task_id, warnings)

    def task(self, caller: Caller, task_id: int | str, *, with_frames: bool = True) -> TaskInfo:
        from rfarm.state.taskinfo import task_info

        return task_info(self._task(caller, task_id), with_frames=with_frames)

    def task_summary(self, caller: Caller, task_id: int | str) -> TaskSummary:
        from rfarm.state.db import db_now
        from rfarm.state.taskinfo import task_summary

        return task_summary(self._task(caller, task_id), db_now())

    def iter_frames(self, caller: Caller, task_id: int | str, *, frames: Sequence[int] | None = None,
                    states: Sequence[str] = (), limit: int | None = None) -> Iterator[FrameInfo]:
        from rfarm.state.taskinfo import iter_frames

        return iter_frames(self._task(caller, task_id), numbers=frames, states=states, limit=limit)

    def task_details(self, caller: Caller, task_id: int | str) -> TaskDetails:
        from rfarm.state.taskinfo import task_details

        return task_details(self._task(caller, task_id))

    def tasks(
        self, caller: Caller, *, user: str | None = None, status: Sequence[str] = (), limit: int = 200,
        before: int | None = None,
    ) -> list[TaskInfo]:
        from rfarm.state.taskinfo import list_tasks

        self._check_scope(caller)
        if user and user != caller.user and not caller.may(Role.MANAGER):
            raise NotAllowedError(f"only admins may list another user's tasks; you are {caller.user!r}")
        self._open()
        return list_tasks(user=user or (None if caller.all_users else caller.user), status=status, limit=limit,
                          before=before)

    def _changed(self, task_id: int, **counts: int | bool) -> TaskChange:
        from rfarm.state.models import Task

        return TaskChange(task_id, Task.get_by_id(task_id).status, **counts)

    def cancel(self, caller: Caller, task_id: int | str) -> TaskChange:
        from rfarm.state import scheduler

        task = self._task(caller, task_id, change=True)
        n = scheduler.cancel_task(task.id, actor=caller.user)
        return self._changed(task.id, frames_cancelled=n)

    def pause(self, caller: Caller, task_id: int | str) -> TaskChange:
        from rfarm.state import scheduler

        task = self._task(caller, task_id, change=True)
        scheduler.pause_task(task.id, actor=caller.user)
        return self._changed(task.id)

    def resume(self, caller: Caller, task_id: int | str) -> TaskChange:
        from rfarm.state import scheduler

        task = self._task(caller, task_id, change=True)
        scheduler.resume_task(task.id, actor=caller.user)
        self.farm.queue.notify(task.id, count=4)
        return self._changed(task.id)

    def retry(self, caller: Caller, task_id: int | str, *, failed_only: bool = False,
              frames: Sequence[int] | None = None) -> TaskChange:
        from rfarm.state import scheduler
        from rfarm.submit.recording import WAKE_LIMIT

        task = self._task(caller, task_id, change=True)
        if frames is not None and failed_only:
            raise UsageError("--frames names the frames to retry: it cannot be combined with --failed")
        done = scheduler.retry_task(task.id, actor=caller.user, failed_only=failed_only,
                                    frames=None if frames is None else list(frames))
        self.farm.queue.notify(task.id, count=min(done.frames, WAKE_LIMIT))
        return self._changed(task.id, frames_requeued=done.frames, blocklist_cleared=done.nodes_cleared)

    def cleanup(self, caller: Caller, task_id: int | str, *, force: bool = False) -> TaskChange:
        from rfarm.files.workspace import remove_workspace
        from rfarm.state.removal import stop_renders

        task = self._task(caller, task_id, change=True)
        cancelled = stop_renders(task.id, actor=caller.user, force=force, doing="cleaning up its workspace")
        removed = remove_workspace(self.config, task.user.name, task.id)
        self._audit(caller, EventKind.CLEANED_UP, task_id=task.id, message="workspace removed" if removed else "no workspace")
        return self._changed(task.id, removed=removed, **({"frames_cancelled": cancelled} if cancelled else {}))

    def delete(self, caller: Caller, task_id: int | str, *, force: bool = False) -> Deleted:
        from rfarm.state.removal import delete_task

        task = self._task(caller, task_id, change=True)
        deleted = delete_task(self.config, self.storage, task, actor=caller.user, force=force)
        self._audit(caller, EventKind.TASK_DELETED, f"task:{task.id}",
                    message=f"{deleted.frames} frames, {deleted.objects_removed} stored files removed")
        return deleted

    def wait_events(
        self, caller: Caller, *, after: int | None = None, task_id: int | str | None = None, timeout_s: float = 0,
    ) -> tuple[int, list[EventInfo]]:
        import time

        from rfarm.state.eventlog import events_after, last_event_id

        self._check_scope(caller)
        tid = self._task(caller, task_id).id if task_id is not None else None
        self._open()
        if after is None:
            return last_event_id(), []
        owner = None if caller.all_users else caller.user
        deadline = time.monotonic() + max(0.0, min(timeout_s, 60.0))
        while True:
            found = events_after(after, owner=owner, task_id=tid)
            if found or time.monotonic() >= deadline:
                return (found[-1].id if found else after), found
            time.sleep(EVENT_POLL_S)

    def frame_logs(self, caller: Caller, task_id: int | str, frame: int | None = None) -> list[FrameLog]:
        from rfarm.state.taskinfo import frame_logs

        return frame_logs(self._task(caller, task_id), frame)

    def read_log(self, caller: Caller, task_id: int | str, frame: int, attempt: int, offset: int = 0) -> LogChunk | None:
        from rfarm.errors import StorageError
        from rfarm.storage.keys import log_key
        from rfarm.state.taskinfo import frame_logs

        task = self._task(caller, task_id)
        entry = next((e for e in frame_logs(task, frame) if e.attempt == attempt), None)
        if entry is not None and entry.path and Path(entry.path).is_file():
            with open(entry.path, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
        elif attempt:
            try:
                data = self.storage.get_bytes(log_key(task.id, frame, attempt))[offset:]
            except (NotFoundError, StorageError):
                return None
        else:
            return None
        return LogChunk(data.decode("utf-8", "replace"), offset, offset + len(data))

    # -- files ----------------------------------------------------------------

    def results(self, caller: Caller, task_id: int | str) -> list[ResultFile]:
        from rfarm.files.transfer import stored_results

        task = self._task(caller, task_id)
        return stored_results(self.storage, task.id)

    def fetch_result(self, caller: Caller, task_id: int | str, result: ResultFile, dest: Path) -> bool:
        from rfarm.storage.keys import results_prefix
        from rfarm.files.transfer import fetch_verified

        task = self._task(caller, task_id)
        if not result.key.startswith(results_prefix(task.id)):
            raise NotFoundError(f"task {task.id} has no result {result.path}")
        return fetch_verified(self.storage, result.key, dest, result.file_hash, label=f"result {result.path}",
                              remedy="render its frame again")

    def thumbnail(self, caller: Caller, task_id: int | str, frame: int, *, attempt: int | None = None) -> tuple[bytes, str]:
        from rfarm.files.thumbnails import load_thumbnail
        from rfarm.state.models import Frame
        from rfarm.state.states import FrameState

        task = self._task(caller, task_id)
        row = (Frame.select(Frame.status, Frame.error, Frame.attempts)
               .where((Frame.task == task.id) & (Frame.number == frame)).first())
        where = f"frame {frame} of task {task.id}"
        if row is None:
            raise NotFoundError(f"task {task.id} has no frame {frame}")
        if row.status == FrameState.FAILED:
            lines = (row.error or "").strip().splitlines()
            raise NotFoundError(f"{where} failed: {lines[0] if lines else 'no error was recorded'}")
        if row.status != FrameState.DONE:
            raise NotFoundError(f"{where} is {row.status}: it has no thumbnail until it is done")
        data, record = load_thumbnail(self.storage, task.id, frame)
        if data is None or record is None or record.md5 is None:
            why = record.error if record is not None and record.error else "none was made"
            raise NotFoundError(f"{where} has no thumbnail: {why}")
        if record.attempt != row.attempts:
            raise NotFoundError(f"{where} has no thumbnail of its last render (attempt {row.attempts})")
        if attempt is not None and attempt != record.attempt:
            raise NotFoundError(f"{where} has no thumbnail of attempt {attempt}; its thumbnail is attempt {record.attempt}'s")
        return data, record.md5

    def check_hashes(self, caller: Caller, hashes: Sequence[FileHash]) -> dict[str, list[FileHash]]:
        from rfarm.files.transfer import check_hashes

        self._require(caller, Role.ARTIST, "uploading")
        return check_hashes(caller.user, hashes, storage=self.storage)

    def analyse_stored(self, caller: Caller, *, md5: str | None = None, path: str | None = None,
                       name: str | None = None) -> dict[str, object]:
        """The analysis document of a scene in the caller's store (by MD5, cached by its content; ``name``
        gives its kind when no task has named it yet) or at a path this machine reads."""
        import json
        import tempfile

        from rfarm.analysis import analyze_scene
        from rfarm.files.transfer import recorded_hashes, scene_name
        from rfarm.state.users import get_user
        from rfarm.storage.keys import analysis_key, object_key

        self._require(caller, Role.ARTIST, "analysing a scene")
        self._open()
        if (md5 is None) == (path is None):
            raise UsageError("give the scene's MD5 or its path, not both")
        owner = get_user(caller.user)
        with tempfile.TemporaryDirectory(prefix="rfarm-analyse-") as tmp:
            if md5 is not None:
                found = recorded_hashes(caller.user, [md5.lower()])
                if not found:
                    raise NotFoundError(f"no scene with MD5 {md5} in your store: upload it first")
                file_hash = found[0]
                local = Path(tmp, Path(name or scene_name(owner.id, file_hash) or "scene").name)
                cache = analysis_key(owner.unionid, file_hash.md5, file_hash.xxh64)
                if self.storage.exists(cache):
                    return json.loads(self.storage.get_bytes(cache))
                self.storage.get_file(object_key(owner.unionid, file_hash.md5, file_hash.xxh64), local)
                doc = analyze_scene(local).to_dict()
                self.storage.put_bytes(cache, json.dumps(doc).encode())
                return doc
        # a path: its dependencies are looked up where it lies, and may have changed since: never cached
        return analyze_scene(Path(path)).to_dict()  # type: ignore[arg-type]

    def held_md5s(self, caller: Caller, md5s: Sequence[str]) -> list[str]:
        """Which of these MD5 digests name a file the caller's store holds (the original design's
        ``check_hashes``, which knows no other hash)."""
        self._require(caller, Role.ARTIST, "uploading")
        held = self.check_hashes(caller, self.stored_files(caller, md5s))["exists"]
        return list(dict.fromkeys(h.md5 for h in held))

    def upload_file(self, caller: Caller, path: Path, file_hash: FileHash) -> None:
        from rfarm.files.transfer import store_object

        self._require(caller, Role.ARTIST, "uploading")
        store_object(self.storage, caller.user, path, file_hash)

    def stored_files(self, caller: Caller, md5s: Sequence[str]) -> list[FileHash]:
        from rfarm.files.transfer import recorded_hashes

        self._require(caller, Role.ARTIST, "reading the file store")
        self._open()
        return recorded_hashes(caller.user, [m.lower() for m in md5s])

    def assets(self, caller: Caller, *, limit: int = 500) -> list[AssetInfo]:
        from rfarm.files.transfer import list_assets

        self._open()
        return list_assets(caller.user, limit=max(1, min(limit, 10_000)))

    # -- the farm -------------------------------------------------------------

    def nodes(self, caller: Caller) -> list[NodeInfo]:
        from rfarm.state.nodes import list_nodes

        self._open()
        return list_nodes()

    def set_node_enabled(self, caller: Caller, name: str, enabled: bool) -> None:
        from rfarm.state.nodes import set_enabled

        self._require(caller, Role.MANAGER, f"{'enabling' if enabled else 'disabling'} a node")
        self._open()
        set_enabled(name, enabled)
        self._audit(caller, EventKind.NODE_ENABLED if enabled else EventKind.NODE_DISABLED, f"node:{name}")

    def hardware_configs(self, caller: Caller) -> list[HardwareConfigInfo]:
        from rfarm.state.hwconfigs import list_hardware_configs

        self._open()
        return list_hardware_configs()

    def add_hardware_config(
        self, caller: Caller, name: str, *, ram_gb: float = 0, gpus: int = 0, gpu_memory_gb: float = 0,
        tags: tuple[str, ...] = (),
    ) -> HardwareConfigInfo:
        from rfarm.state.hwconfigs import add_hardware_config

        self._require(caller, Role.MANAGER, "changing hardware configs")
        self._open()
        made = add_hardware_config(name, ram_gb=ram_gb, gpus=gpus, gpu_memory_gb=gpu_memory_gb, tags=tags)
        self._audit(caller, EventKind.HWCONFIG_ADDED, f"hwconfig:{made.name}",
                    message=f"ram {ram_gb:g} GB, {gpus} GPUs, GPU memory {gpu_memory_gb:g} GB, tags {','.join(tags)}")
        return made

    def remove_hardware_config(self, caller: Caller, name: str) -> None:
        from rfarm.state.hwconfigs import remove_hardware_config

        self._require(caller, Role.MANAGER, "changing hardware configs")
        self._open()
        remove_hardware_config(name)
        self._audit(caller, EventKind.HWCONFIG_REMOVED, f"hwconfig:{name}")

    def stats(self, caller: Caller, *, window: timedelta = timedelta(hours=24)) -> FarmStats:
        from rfarm.state.stats import farm_stats

        self._open()
        return farm_stats(window=window)

    def stats_series(self, caller: Caller, *, window: timedelta = timedelta(hours=24), buckets: int = 24) -> StatsSeries:
        from rfarm.state.stats import farm_series

        if not timedelta(minutes=1) <= window <= timedelta(hours=MAX_STATS_HOURS) or not 1 <= buckets <= 500:
            raise UsageError(f"the window is 1 minute to {MAX_STATS_HOURS} hours, in 1 to 500 steps")
        self._open()
        return farm_series(window=window, buckets=buckets)

    def users(self, caller: Caller) -> list[UserInfo]:
        from rfarm.state.users import list_users

        self._require(caller, Role.ADMIN, "listing users")
        self._open()
        return list_users()

    def _require_self_or_admin(self, caller: Caller, name: str, what: str) -> None:
        if name != caller.user:
            self._require(caller, Role.ADMIN, f"{what} of another user")

    def add_user(self, caller: Caller, name: str, role: Role | str, password: str | None = None) -> NewUser:
        from rfarm.state.tokens import issue_token
        from rfarm.state.users import add_user, has_admin

        self._open()
        if has_admin() or caller.remote or self.config.admins:  # the first admin: on the database's machine only
            self._require(caller, Role.ADMIN, "adding users")
        added = add_user(name, role, password)
        issued = issue_token(self.config, added.name)
        self._audit(caller, EventKind.USER_ADDED, f"user:{added.name}", message=f"role {added.role}")
        self._audit(caller, EventKind.TOKEN_ISSUED, f"token:{issued.token_id}", message=f"for {added.name}")
        return NewUser(added.name, added.role, issued.token)

    def login(self, name: str, password: str) -> IssuedToken:
        """A new token for the user whose name and password these are (the dashboard's login)."""
        from rfarm.errors import NotAuthenticatedError
        from rfarm.state.tokens import issue_token
        from rfarm.state.users import check_password

        self._open()
        try:
            caller = check_password(name, password)
        except NotAllowedError as exc:
            raise NotAuthenticatedError(str(exc)) from None
        return issue_token(self.config, caller.user)

    def set_role(self, caller: Caller, name: str, role: Role | str) -> UserInfo:
        from rfarm.state.users import set_role

        self._require(caller, Role.ADMIN, "changing a user's role")
        self._open()
        changed = set_role(name, role)
        self._audit(caller, EventKind.ROLE_SET, f"user:{name}", message=f"role {changed.role}")
        return changed

    def new_token(self, caller: Caller, name: str) -> IssuedToken:
        from rfarm.state.tokens import issue_token
        from rfarm.state.users import get_user

        self._require_self_or_admin(caller, name, "making a token")
        self._open()
        if name == caller.user:
            get_user(name)  # a local user's row is made on first use, as a submit would make it
        issued = issue_token(self.config, name)
        self._audit(caller, EventKind.TOKEN_ISSUED, f"token:{issued.token_id}", message=f"for {name}")
        return issued

    def tokens(self, caller: Caller, name: str | None = None) -> list[TokenInfo]:
        from rfarm.state.tokens import list_tokens

        if name is None and not caller.may(Role.ADMIN):
            name = caller.user
        self._require_self_or_admin(caller, name or caller.user, "listing the tokens")
        self._open()
        return list_tokens(name)

    def revoke_token(self, caller: Caller, token_id: str) -> None:
        from rfarm.state.tokens import revoke_token, token_owner

        self._open()
        if token_owner(token_id) != caller.user and not caller.may(Role.ADMIN):
            raise NotFoundError(f"no token {token_id!r} of {caller.user!r}; rfarm users tokens lists yours")
        revoke_token(token_id)
        self._audit(caller, EventKind.TOKEN_REVOKED, f"token:{token_id}")

    def set_password(self, caller: Caller, name: str, password: str) -> None:
        from rfarm.state.users import set_password

        self._require_self_or_admin(caller, name, "setting the password")
        self._open()
        set_password(name, password)
        self._audit(caller, EventKind.PASSWORD_SET, f"user:{name}")

    def remove_user(self, caller: Caller, name: str) -> None:
        from rfarm.state.users import remove_user

        self._require(caller, Role.ADMIN, "removing users")
        self._open()
        remove_user(name)
        self._audit(caller, EventKind.USER_REMOVED, f"user:{name}")

    # -- notifications and the audit trail --------------------------------------

    def add_webhook(self, caller: Caller, url: str, events: Sequence[str], *, farm_wide: bool = False) -> WebhookInfo:
        from rfarm.state.webhooks import add_webhook

        if farm_wide:
            self._require(caller, Role.MANAGER, "a farm-wide webhook")
        else:
            self._require(caller, Role.ARTIST, "a webhook")
        self._open()
        made = add_webhook(None if farm_wide else caller.user, url, events)
        self._audit(caller, EventKind.WEBHOOK_ADDED, f"webhook:{made.id}",
                    message=f"{'farm-wide ' if farm_wide else ''}{url} {','.join(made.events)}")
        return made

    def webhooks(self, caller: Caller) -> list[WebhookInfo]:
        from rfarm.state.webhooks import list_webhooks

        self._open()
        return list_webhooks(None if caller.may(Role.MANAGER) else caller.user)

    def _webhook(self, caller: Caller, webhook_id: int) -> int:
        """The webhook's id if the caller may see it: their own, or any for managers (else unknown)."""
        from rfarm.state.webhooks import webhook_owner

        self._open()
        if webhook_owner(webhook_id) != caller.user and not caller.may(Role.MANAGER):
            raise NotFoundError(f"no webhook {webhook_id} of {caller.user!r}; rfarm webhooks list shows yours")
        return webhook_id

    def remove_webhook(self, caller: Caller, webhook_id: int) -> None:
        from rfarm.state.webhooks import remove_webhook

        self._require(caller, Role.ARTIST, "removing a webhook")
        remove_webhook(self._webhook(caller, webhook_id))
        self._audit(caller, EventKind.WEBHOOK_REMOVED, f"webhook:{webhook_id}")

    def deliveries(self, caller: Caller, webhook_id: int, *, limit: int = 50) -> list[DeliveryInfo]:
        from rfarm.state.webhooks import list_deliveries

        return list_deliveries(self._webhook(caller, webhook_id), limit=limit)

    def audit(self, caller: Caller, *, since: datetime | None = None, limit: int = 200) -> list[AuditEntry]:
        from rfarm.state.audit import audit_entries

        self._require(caller, Role.MANAGER, "the audit trail")
        self._open()
        return audit_entries(since=since, limit=limit)


def local_caller(config: Config, *, all_users: bool = False) -> Caller:
    """Who a command on this machine acts as: ``user`` with the role the farm's database keeps.

    A SQLite file not made yet holds no roles, so it is left unmade (a command
    refused for bad input writes nothing) and the configuration decides.
    """
    from rfarm.state.db import may_exist
    from rfarm.state import users

    if not may_exist(config.database):
        return users.caller_for(config, all_users=all_users)
    LocalFarm(config)._open()
    return users.local_caller(config, all_users=all_users)


@dataclass(frozen=True, slots=True)
class FarmMade:
    """What ``rfarm init`` made of the farm's database (``created``: in words; empty when all was there)."""

    database: str
    created: list[str]

    def to_dict(self) -> dict[str, object]:
        return {"database": self.database, "created": self.created}


def init_farm(config: Config) -> FarmMade:
    """Make the farm's database where ``config`` names it, if it is not there yet (``rfarm init``).
    Only the default database under RFARM_HOME is made on first use; any other is made here.

    Raises:
        UsageError: ``server_url`` is set (that farm is the server's, made on its machine).
    """
    from rfarm.state.db import redact
    from rfarm.state.farm import init_farm as make

    if config.server_url:
        raise UsageError(f"rfarm init makes a farm on this machine; this one uses the server {config.server_url}, "
                         "whose farm is made on its own machine")
    return FarmMade(redact(config.database), make(config))


def open_api(config: Config) -> FarmAPI:
    """The farm ``config`` names, as the seam front ends use: its server when ``server_url``
    is set (the token says who calls), else this machine's database, queue and storage."""
    if config.server_url:
        from rfarm.client.http import HttpFarm
        from rfarm.errors import NotAuthenticatedError

        if not config.token:
            raise NotAuthenticatedError(
                f"no token for {config.server_url}: run rfarm login {config.server_url} "
                "(or set RFARM_TOKEN) with a token from `rfarm users token NAME`"
            )
        return HttpFarm(config.server_url, config.token, ca=config.server_ca)
    return LocalFarm(config)


__all__ = ["FarmAPI", "FarmMade", "LocalFarm", "LogChunk", "NewUser", "Submitted", "TaskChange", "init_farm", "local_caller",
           "open_api"]
