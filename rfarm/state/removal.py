"""Taking a task's things away: its workspace (``rfarm cleanup``), or the whole task (``rfarm delete``).

Neither takes files from under a render: while a frame of the task runs, both
are refused, unless ``force``, which cancels the task first. Deleting removes
the task's files before its rows, so a delete that fails half-way (storage
unreachable) leaves a task that can be deleted again, and a task id SQLite
hands out again never finds a deleted task's results.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from rfarm.config import Config
from rfarm.errors import UsageError
from rfarm.state import scheduler
from rfarm.state.db import BATCH
from rfarm.state.models import (
    Asset,
    Event,
    Frame,
    NodeFailure,
    Task,
    TaskAsset,
    WebhookAttempt,
    WebhookDelivery,
    database,
)
from rfarm.state.states import TERMINAL, FrameState
from rfarm.storage.base import Storage


def stop_renders(task_id: int, *, actor: str, force: bool, doing: str) -> int:
    """Make sure no frame of the task renders before ``doing`` takes its files: refused while one
    does, unless ``force``, which cancels the task first. Returns the frames cancelled."""
    with database.atomic():
        running = Frame.select().where((Frame.task == task_id) & (Frame.status == FrameState.RUNNING)).count()
        if not running:
            return 0
        if not force:
            frames = "1 frame is" if running == 1 else f"{running} frames are"
            raise UsageError(f"task {task_id}: {frames} rendering; {doing} would take files from under the render "
                             f"(rfarm cancel {task_id} first, or add --force to cancel it and go on)")
        return scheduler.cancel_task(task_id, actor=actor)


@dataclass(frozen=True, slots=True)
class Deleted:
    """What :func:`delete_task` removed."""

    task_id: int
    frames: int
    frames_cancelled: int
    #: stored objects (uploaded files) no other task used, removed from storage
    objects_removed: int
    bytes_freed: int

    def to_dict(self) -> dict[str, object]:
        return {"task_id": self.task_id, "deleted": True, "frames": self.frames,
                "frames_cancelled": self.frames_cancelled, "objects_removed": self.objects_removed,
                "bytes_freed": self.bytes_freed}


def delete_task(config: Config, storage: Storage, task: Task, *, actor: str, force: bool = False) -> Deleted:
    """Remove the task: its files in storage (results, logs, thumbnails, manifest), the uploaded
    objects no other task uses, its logs, results and workspace on this machine, then its rows.

    Raises:
        UsageError: a frame is rendering and ``force`` is not given.
    """
    from rfarm.files.workspace import remove_workspace, results_dir
    from rfarm.storage.keys import analysis_key, task_prefix

    cancelled = stop_renders(task.id, actor=actor, force=force, doing="deleting it")
    if Task.get_by_id(task.id).status not in TERMINAL:  # no frame may be claimed while its files go
        cancelled += scheduler.cancel_task(task.id, actor=actor)
    frames = list(Frame.select(Frame.log_path, Frame.outputs).where(Frame.task == task.id))
    only_here = _used_by_no_other_task(task.id)

    for key in list(storage.list(task_prefix(task.id))):
        storage.delete(key)
    owner = task.user
    for asset in only_here:
        storage.delete(asset.key)
        storage.delete(analysis_key(owner.unionid, asset.hash, asset.xxhash))
    shutil.rmtree(config.logs_dir / str(task.id), ignore_errors=True)
    for frame in frames:
        for name in ([frame.log_path] if frame.log_path else []) + list(frame.outputs or []):
            Path(name).unlink(missing_ok=True)
    if not task.output_dir:  # the farm's own results folder; a folder the user named keeps all but the task's files
        shutil.rmtree(results_dir(config, owner.name, task.id), ignore_errors=True)
    remove_workspace(config, owner.name, task.id)

    with database.atomic():
        events = Event.select(Event.id).where(Event.task == task.id)
        deliveries = WebhookDelivery.select(WebhookDelivery.id).where(WebhookDelivery.event.in_(events))
        WebhookAttempt.delete().where(WebhookAttempt.delivery.in_(deliveries)).execute()
        WebhookDelivery.delete().where(WebhookDelivery.event.in_(events)).execute()
        Event.delete().where(Event.task == task.id).execute()
        NodeFailure.delete().where(NodeFailure.task == task.id).execute()
        TaskAsset.delete().where(TaskAsset.task == task.id).execute()
        Frame.delete().where(Frame.task == task.id).execute()
        Task.delete().where(Task.id == task.id).execute()
        unused = [a.id for a in only_here]
        for start in range(0, len(unused), BATCH):  # unless a task submitted meanwhile uses one
            batch = unused[start : start + BATCH]
            taken = {row[0] for row in TaskAsset.select(TaskAsset.asset).where(TaskAsset.asset.in_(batch)).tuples()}
            Asset.delete().where(Asset.id.in_([a for a in batch if a not in taken])).execute()
    return Deleted(task.id, len(frames), cancelled, len(only_here), sum(a.size for a in only_here))


def _used_by_no_other_task(task_id: int) -> list[Asset]:
    """The task's uploaded objects that no other task's manifest names."""
    mine = list(Asset.select(Asset.id, Asset.key, Asset.hash, Asset.xxhash, Asset.size)
                .join(TaskAsset, on=TaskAsset.asset == Asset.id).where(TaskAsset.task == task_id).distinct())
    ids = [a.id for a in mine]
    shared: set[int] = set()
    for start in range(0, len(ids), BATCH):
        shared.update(row[0] for row in TaskAsset.select(TaskAsset.asset).where(
            TaskAsset.asset.in_(ids[start : start + BATCH]) & (TaskAsset.task != task_id)).tuples())
    return [a for a in mine if a.id not in shared]
